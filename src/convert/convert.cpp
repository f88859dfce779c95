#include "convert/convert.h"

#include <cstdlib>
#include <cstring>
#include <functional>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "convert/hf_config.h"
#include "convert/safetensors.h"
#include "format/gguf.h"
#include "format/quantize.h"
#include "model/weights.h"
#include "util/error.h"
#include "util/json_file.h"
#include "util/progress.h"

namespace wgllm {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The checkpoint name of each GGUF tensor role (transformers' module names). Gemma-2's extra
// norms move post_attention_layernorm from the FFN input to the attention output.
std::string hf_tensor_name(TensorRole role, int layer, const ArchInfo& arch) {
  using T = TensorRole;
  const char* n = nullptr;
  switch (role) {
    case T::TokenEmbd: return "model.embed_tokens.weight";
    case T::OutputNorm: return "model.norm.weight";
    case T::Output: return "lm_head.weight";
    case T::AttnNorm: n = "input_layernorm.weight"; break;
    case T::AttnQ: n = "self_attn.q_proj.weight"; break;
    case T::AttnK: n = "self_attn.k_proj.weight"; break;
    case T::AttnV: n = "self_attn.v_proj.weight"; break;
    case T::AttnQkv: n = "self_attn.qkv_proj.weight"; break;
    case T::AttnQBias: n = "self_attn.q_proj.bias"; break;
    case T::AttnKBias: n = "self_attn.k_proj.bias"; break;
    case T::AttnVBias: n = "self_attn.v_proj.bias"; break;
    case T::AttnQNorm: n = "self_attn.q_norm.weight"; break;
    case T::AttnKNorm: n = "self_attn.k_norm.weight"; break;
    case T::AttnOut: n = "self_attn.o_proj.weight"; break;
    case T::AttnPostNorm: n = "post_attention_layernorm.weight"; break;
    case T::FfnNorm: n = arch.post_norms ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight"; break;
    case T::FfnGate: n = "mlp.gate_proj.weight"; break;
    case T::FfnUp: n = arch.fused_gate_up ? "mlp.gate_up_proj.weight" : "mlp.up_proj.weight"; break;
    case T::FfnDown: n = "mlp.down_proj.weight"; break;
    case T::FfnPostNorm: n = "post_feedforward_layernorm.weight"; break;
    default: return "";
  }
  return cat("model.layers.", layer, ".", n);
}

bool is_dim_norm(TensorRole r) {
  using T = TensorRole;
  return r == T::OutputNorm || r == T::AttnNorm || r == T::FfnNorm || r == T::AttnPostNorm || r == T::FfnPostNorm;
}

// Checkpoint tensors no GGUF file carries.
bool ignored_tensor(const std::string& name) {
  return name.size() >= 19 && name.compare(name.size() - 19, 19, "rotary_emb.inv_freq") == 0;
}

enum class Transform { None, PermuteHeads, PlusOne };

struct Planned {
  std::string name;             // GGUF name
  std::vector<int64_t> shape;   // GGUF ne order
  const SafeTensor* src = nullptr;  // null: `values` holds the data (RoPE tables)
  std::vector<float> values;
  Transform transform = Transform::None;
  int perm_heads = 0;           // PermuteHeads: heads in this tensor
};

FileType output_file_type(const ConvertOptions& o) {
  if (!o.quant.empty()) {
    const auto ft = file_type_from_name(o.quant);
    if (!ft) fail("convert: unknown --quant '", o.quant, "' (one of: ", file_type_names(), ")");
    return *ft;
  }
  if (o.outtype == "f32" || o.outtype == "F32") return FileType::F32;
  if (o.outtype == "f16" || o.outtype == "F16") return FileType::F16;
  if (o.outtype == "bf16" || o.outtype == "BF16") return FileType::BF16;
  fail("convert: unknown --outtype '", o.outtype, "' (f32, f16 or bf16)");
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<Planned> plan_tensors(const HfModel& m, const Checkpoint& ck, std::set<std::string>& used) {
  const ModelConfig& c = m.config;
  const ArchInfo& arch = *c.arch;
  std::vector<Planned> plan;
  auto add = [&](TensorRole role, int layer) {
    const std::string hf = hf_tensor_name(role, layer, arch);
    const SafeTensor* t = ck.find(hf);
    if (!t)
      fail(ck.files().size() == 1 ? ck.files()[0] : fs::path(ck.files()[0]).parent_path().string(),
           ": missing tensor ", hf, " (", m.family->hf_name, " needs it for ", tensor_name(role, layer), ")");
    used.insert(hf);
    const std::vector<int64_t> want = expected_shape(c, role);  // GGUF order: reversed PyTorch order
    const std::vector<int64_t> want_pt(want.rbegin(), want.rend());
    if (t->shape != want_pt)
      fail(t->file, ": tensor ", hf, " has shape ", shape_string(t->shape), ", but ", m.config_path, " implies ",
           shape_string(want_pt));
    Planned p{tensor_name(role, layer), want, t, {}, Transform::None, 0};
    if (m.permute_qk && (role == TensorRole::AttnQ || role == TensorRole::AttnK)) {
      p.transform = Transform::PermuteHeads;
      p.perm_heads = role == TensorRole::AttnQ ? c.n_heads : c.n_kv_heads;
    }
    if (m.family->norm_plus_one && is_dim_norm(role)) p.transform = Transform::PlusOne;
    plan.push_back(std::move(p));
  };
  auto table = [&](TensorRole role, const std::vector<float>& v) {
    plan.push_back({tensor_name(role), {int64_t(v.size())}, nullptr, v, Transform::None, 0});
  };
  if (m.permute_qk && c.rope_dims != c.head_dim)
    fail(m.config_path, ": partial rotary embeddings are not supported for ", m.family->hf_name);

  add(TensorRole::TokenEmbd, -1);
  if (!m.rope_freqs.empty()) table(TensorRole::RopeFreqs, m.rope_freqs);
  if (!m.rope_long.empty()) {
    table(TensorRole::RopeFactorsLong, m.rope_long);
    table(TensorRole::RopeFactorsShort, m.rope_short);
  }
  for (int l = 0; l < c.n_layers; l++)
    for (TensorRole role : layer_roles(arch)) add(role, l);
  add(TensorRole::OutputNorm, -1);
  if (!c.tied_output) add(TensorRole::Output, -1);
  else if (ck.find("lm_head.weight")) used.insert("lm_head.weight");  // a stored copy of the tied embeddings

  for (const auto& [name, t] : ck.tensors())
    if (!used.count(name) && !ignored_tensor(name))
      fail(t.file, ": tensor ", name, " is not used by the ", m.family->hf_name, " converter (", m.config_path,
           " describes a model without it)");
  return plan;
}

// Writes one planned tensor as `type` into dst.
void fill_tensor(const Planned& p, TensorType type, uint8_t* dst, int threads,
                 const std::function<void(int64_t rows_done)>& rows_done) {
  const int64_t cols = p.shape[0], rows = p.shape.size() > 1 ? p.shape[1] : 1;
  const size_t rb = row_bytes(type, cols);
  if (!p.src || p.transform == Transform::PlusOne) {  // small 1-D tensors: through f32
    std::vector<float> v = p.values;
    if (p.src) {
      v.resize(size_t(cols * rows));
      dequantize_row(p.src->type, p.src->data, v.data(), cols * rows);
      for (float& x : v) x += 1.f;
    }
    for (int64_t r = 0; r < rows; r++) quantize_row(type, v.data() + r * cols, dst + r * rb, cols);
    if (rows_done) rows_done(rows);
    return;
  }
  convert_rows(p.src->type, p.src->data, type, dst, cols, rows, threads, rows_done);
  if (p.transform == Transform::PermuteHeads) {  // whole rows move: exact for every type
    const std::vector<int64_t> perm = rope_pair_permutation(p.perm_heads, int(rows / p.perm_heads));
    std::vector<uint8_t> copy(dst, dst + rb * size_t(rows));
    for (int64_t r = 0; r < rows; r++) std::memcpy(dst + r * rb, copy.data() + perm[r] * rb, rb);
  }
}

}  // namespace

std::vector<int64_t> rope_pair_permutation(int n_heads, int head_dim) {
  std::vector<int64_t> perm(size_t(n_heads) * head_dim);
  const int half = head_dim / 2;
  for (int h = 0; h < n_heads; h++)
    for (int i = 0; i < half; i++)
      for (int j = 0; j < 2; j++) perm[size_t(h) * head_dim + 2 * i + j] = int64_t(h) * head_dim + j * half + i;
  return perm;
}

TokenizerData read_hf_tokenizer(const std::string& dir, const HfModel& m, std::vector<std::string>* warnings) {
  const fs::path d(dir);
  const std::string tok_json = (d / "tokenizer.json").string(), tok_model = (d / "tokenizer.model").string();
  const std::string config = fs::exists(d / "tokenizer_config.json") ? (d / "tokenizer_config.json").string() : "";
  TokenizerData t;
  if (fs::exists(tok_json)) {
    t = tokenizer_data_from_hf_json(tok_json, config);
  } else if (fs::exists(tok_model)) {
    t = tokenizer_data_from_spm_model(tok_model, warnings);
    if (!config.empty()) {
      // added_tokens_decoder {"id": {"content", "special"}}: tokens added on top of the model.
      const json c = read_json_file(config);
      if (c.contains("added_tokens_decoder") && c["added_tokens_decoder"].is_object()) {
        for (const auto& [key, tok] : c["added_tokens_decoder"].items()) {
          const int64_t id = std::atoll(key.c_str());
          if (!tok.is_object() || !tok.contains("content") || id < 0 || id > (int64_t(1) << 24))
            fail(config, ": added_tokens_decoder entry ", key, " is invalid");
          if (id >= t.n_vocab()) pad_vocabulary(t, int32_t(id + 1), config);
          t.tokens[id] = tok["content"].get<std::string>();
          t.types[id] = tok.value("special", false) ? TokenType::Control : TokenType::UserDefined;
        }
      }
      apply_tokenizer_config(t, config);
    }
  } else {
    fail(dir, ": no tokenizer.json or tokenizer.model");
  }
  if (t.chat_template.empty() && fs::exists(d / "chat_template.jinja"))
    t.chat_template = read_text((d / "chat_template.jinja").string());
  auto fill = [&](int32_t& id, int from_config) {
    if (id < 0 && from_config >= 0 && from_config < t.n_vocab()) id = from_config;
  };
  fill(t.bos_id, m.bos_id);
  fill(t.eos_id, m.eos_id);
  fill(t.pad_id, m.pad_id);
  pad_vocabulary(t, m.config.vocab_size, cat(dir, " (vocab_size ", m.config.vocab_size, " in ", m.config_path, ")"));
  return t;
}

ConvertResult convert_hf_to_gguf(const std::string& dir, const std::string& out_path, const ConvertOptions& o) {
  const FileType ft = output_file_type(o);
  const HfModel m = read_hf_config(dir);
  const ModelConfig& c = m.config;
  ConvertResult r;
  r.hf_arch = m.family->hf_name;
  r.gguf_arch = c.arch->gguf_name;
  r.file_type = ft;
  r.warnings = m.warnings;
  const TokenizerData tok = read_hf_tokenizer(dir, m, &r.warnings);
  r.n_vocab = tok.n_vocab();
  const Checkpoint ck = Checkpoint::open_folder(dir);
  std::set<std::string> used;
  const auto plan = std::make_shared<std::vector<Planned>>(plan_tensors(m, ck, used));

  GgufWriter w;
  write_model_metadata(w, m);
  w.set_u32("general.file_type", gguf_file_type_id(ft));
  w.set_u32("general.quantization_version", 2);
  write_tokenizer_metadata(w, tok);

  uint64_t total_src = 0;
  for (const Planned& p : *plan) total_src += p.src ? p.src->size : 0;
  auto bar = std::make_shared<std::unique_ptr<ProgressBar>>();
  if (o.progress) *bar = std::make_unique<ProgressBar>(cat("convert ", r.gguf_arch, " ", file_type_name(ft)), total_src, "B");
  auto done_before = std::make_shared<uint64_t>(0);
  for (size_t i = 0; i < plan->size(); i++) {
    const Planned& p = (*plan)[i];
    const TensorType type = choose_tensor_type(ft, p.name, c.n_layers, p.shape, !c.tied_output);
    r.tensors_per_type[type]++;
    if (p.src) r.n_params += uint64_t(p.src->n_elements());
    w.add_tensor(p.name, type, p.shape, [plan, i, type, threads = o.threads, bar, done_before](uint8_t* dst) {
      const Planned& t = (*plan)[i];
      const uint64_t bytes = t.src ? t.src->size : 0;
      const int64_t rows = t.shape.size() > 1 ? t.shape[1] : 1;
      fill_tensor(t, type, dst, threads, [&](int64_t rows_done) {
        if (*bar) (*bar)->update(*done_before + bytes * uint64_t(rows_done) / uint64_t(rows));
      });
      *done_before += bytes;
    });
  }
  r.n_tensors = w.tensor_count();
  w.write(out_path);
  if (*bar) (*bar)->finish();
  r.out_bytes = fs::file_size(out_path);
  return r;
}

}  // namespace wgllm
