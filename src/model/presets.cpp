// Preset table and the synthetic model writer.
#include "model/presets.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include "format/gguf.h"
#include "format/quant_mix.h"
#include "model/arch.h"
#include "tokenizer/tokenizer_data.h"
#include "util/error.h"
#include "util/progress.h"
#include "util/rng.h"

namespace wgllm {

const std::vector<ModelSpec>& model_presets() {
  static const std::vector<ModelSpec> presets = [] {
    std::vector<ModelSpec> p;
    auto add = [&](ModelSpec s) { p.push_back(std::move(s)); return &p.back(); };
    ModelSpec* s;
    // Full-size shapes (from each model's config.json as converted by llama.cpp).
    s = add({"llama3-8b", "llama", "Meta-Llama-3-8B-Instruct", 32, 4096, 32, 8, 128, 14336, 128256, 8192, 1e-5f, 500000.f});
    s = add({"llama3.2-1b", "llama", "Llama-3.2-1B-Instruct", 16, 2048, 32, 8, 64, 8192, 128256, 131072, 1e-5f, 500000.f, true});
    s->llama3_factor = 32, s->llama3_low_freq = 1, s->llama3_high_freq = 4, s->llama3_orig_context = 8192;
    s = add({"mistral-7b", "llama", "Mistral-7B-Instruct-v0.2", 32, 4096, 32, 8, 128, 14336, 32000, 32768, 1e-5f, 1000000.f});
    s = add({"phi3-mini", "phi3", "Phi-3-mini-4k-instruct", 32, 3072, 32, 32, 96, 8192, 32064, 4096, 1e-5f, 10000.f});
    s = add({"gemma-2b", "gemma", "gemma-2b-it", 18, 2048, 8, 1, 256, 16384, 256000, 8192, 1e-6f, 10000.f, true});
    s = add({"gemma2-2b", "gemma2", "gemma-2-2b-it", 26, 2304, 8, 4, 256, 9216, 256000, 8192, 1e-6f, 10000.f, true});
    s->sliding_window = 4096, s->attn_softcap = 50, s->final_softcap = 30;
    s = add({"qwen2.5-0.5b", "qwen2", "Qwen2.5-0.5B-Instruct", 24, 896, 14, 2, 64, 4864, 151936, 32768, 1e-6f, 1000000.f, true});
    s = add({"qwen2.5-7b", "qwen2", "Qwen2.5-7B-Instruct", 28, 3584, 28, 4, 128, 18944, 152064, 32768, 1e-6f, 1000000.f});
    // Tiny test models: the real structure of each family (GQA, biases, norms, softcaps,
    // windows, rope scaling) at a few MB. Dims are multiples of 256 so every quant type applies.
    s = add({"tiny-llama", "llama", "Llama-3.2 structure, tiny", 4, 256, 8, 2, 32, 768, 512, 2048, 1e-5f, 500000.f, true});
    s->llama3_factor = 8, s->llama3_low_freq = 1, s->llama3_high_freq = 4, s->llama3_orig_context = 256;
    s = add({"tiny-mistral", "llama", "Mistral structure, tiny", 4, 256, 4, 1, 64, 768, 1000, 2048, 1e-5f, 1000000.f});
    s = add({"tiny-qwen2", "qwen2", "Qwen2.5 structure, tiny", 3, 256, 8, 2, 32, 512, 600, 2048, 1e-6f, 1000000.f, true});
    s = add({"tiny-qwen3", "qwen3", "Qwen3 structure, tiny", 3, 256, 4, 2, 64, 768, 700, 2048, 1e-6f, 1000000.f, true});
    s = add({"tiny-phi3", "phi3", "Phi-3-128k structure (LongRoPE), tiny", 3, 256, 8, 8, 32, 512, 520, 4096, 1e-5f, 10000.f});
    s->long_rope_orig_context = 512;
    s = add({"tiny-gemma", "gemma", "Gemma structure, tiny", 3, 256, 4, 1, 64, 1024, 800, 2048, 1e-6f, 10000.f, true});
    s = add({"tiny-gemma2", "gemma2", "Gemma-2 structure, tiny", 4, 256, 4, 2, 64, 768, 900, 2048, 1e-6f, 10000.f, true});
    s->sliding_window = 6, s->attn_softcap = 50, s->final_softcap = 30;
    return p;
  }();
  return presets;
}

std::string preset_list() {
  std::string out;
  for (const ModelSpec& s : model_presets()) out += (out.empty() ? "" : ", ") + s.preset;
  return out;
}

const ModelSpec& find_preset(const std::string& name) {
  for (const ModelSpec& s : model_presets())
    if (s.preset == name) return s;
  fail("unknown preset '", name, "' (presets: ", preset_list(), ")");
}

std::vector<float> llama3_rope_factors(int rope_dims, float theta, float factor, float low_freq_factor,
                                       float high_freq_factor, int orig_context) {
  const double low_wavelen = orig_context / low_freq_factor;
  const double high_wavelen = orig_context / high_freq_factor;
  std::vector<float> divisors(rope_dims / 2);
  for (int i = 0; i < rope_dims / 2; i++) {
    const double freq = 1.0 / std::pow(double(theta), 2.0 * i / rope_dims);
    const double wavelen = 2 * M_PI / freq;
    if (wavelen < high_wavelen) {
      divisors[i] = 1.f;  // high frequencies: unchanged
    } else if (wavelen > low_wavelen) {
      divisors[i] = factor;  // low frequencies: slowed down by the full factor
    } else {  // in between: interpolate smoothly
      const double smooth = (orig_context / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
      divisors[i] = float(1.0 / ((1 - smooth) / factor + smooth));
    }
  }
  return divisors;
}

namespace {

// A normal-ish variate from one 64-bit draw: the sum of four 16-bit uniforms (Irwin-Hall),
// centred and scaled to unit variance. 5x cheaper than Box-Muller, which matters for 8B weights.
float fast_normal(Rng& rng) {
  const uint64_t r = rng.next_u64();
  const float sum = float(r & 0xFFFF) + float((r >> 16) & 0xFFFF) + float((r >> 32) & 0xFFFF) + float(r >> 48);
  return (sum * (1.f / 65536.f) - 2.f) * 1.7320508f;
}

// How a tensor's values are drawn.
struct Fill {
  enum Kind { Normal, NearOne, Fixed } kind;
  float scale = 0;            // Normal: standard deviation; NearOne: relative spread
  std::vector<float> values;  // Fixed: the exact values (rope factors)
  float center = 1;           // NearOne: values are center * (1 +- scale)
};


struct PlannedTensor {
  std::string name;
  std::vector<int64_t> shape;  // ne order
  Fill fill;
};

std::vector<PlannedTensor> plan_tensors(const ModelSpec& s) {
  const ArchInfo* arch = find_arch(s.arch);
  if (!arch) fail("preset ", s.preset, ": unknown architecture ", s.arch);
  const int64_t d = s.dim, q = int64_t(s.n_heads) * s.head_dim, kv = int64_t(s.n_kv_heads) * s.head_dim, f = s.ffn_dim;
  auto matrix = [](int64_t fan_in) { return Fill{Fill::Normal, 1.f / std::sqrt(float(fan_in)), {}}; };
  const Fill norm{Fill::NearOne, 0.1f, {}};
  const Fill bias{Fill::Normal, 0.1f, {}};
  Fill embedding{Fill::Normal, 2.f / std::sqrt(float(d)), {}};
  Fill output_norm = norm;
  if (arch->embed_scale_sqrt_dim) {
    // Gemma multiplies embeddings by sqrt(dim). Random embeddings that large would dominate the
    // residual stream, and a tied output would then just repeat the input token. Keep the
    // scaled embedding at the size other families have and restore the logit spread with the
    // final norm (real Gemma checkpoints also have large final-norm weights).
    embedding.scale = 2.f / float(d);
    output_norm.center = std::sqrt(float(d));
  }

  std::vector<PlannedTensor> t;
  t.push_back({tensor_name(TensorRole::TokenEmbd), {d, s.vocab}, embedding});
  if (s.llama3_factor > 0)
    t.push_back({tensor_name(TensorRole::RopeFreqs), {s.head_dim / 2},
                 {Fill::Fixed, 0, llama3_rope_factors(s.head_dim, s.rope_theta, s.llama3_factor, s.llama3_low_freq,
                                                      s.llama3_high_freq, s.llama3_orig_context)}});
  if (s.long_rope_orig_context > 0) {
    // LongRoPE factors rise from ~1 (fast frequencies) to the context ratio (slow ones).
    const float ratio = float(s.context_length) / s.long_rope_orig_context;
    std::vector<float> lng(s.head_dim / 2), sht(s.head_dim / 2);
    for (int i = 0; i < s.head_dim / 2; i++) {
      const float x = float(i) / float(s.head_dim / 2 - 1);
      lng[i] = 1.f + (ratio - 1.f) * x * x;
      sht[i] = 1.f + 0.05f * x;
    }
    t.push_back({tensor_name(TensorRole::RopeFactorsLong), {s.head_dim / 2}, {Fill::Fixed, 0, lng}});
    t.push_back({tensor_name(TensorRole::RopeFactorsShort), {s.head_dim / 2}, {Fill::Fixed, 0, sht}});
  }
  for (int l = 0; l < s.n_layers; l++) {
    for (TensorRole role : layer_roles(*arch)) {
      using T = TensorRole;
      std::vector<int64_t> shape;
      Fill fill = norm;
      switch (role) {
        case T::AttnQ: shape = {d, q}, fill = matrix(d); break;
        case T::AttnK: case T::AttnV: shape = {d, kv}, fill = matrix(d); break;
        case T::AttnQkv: shape = {d, q + 2 * kv}, fill = matrix(d); break;
        case T::AttnQBias: shape = {q}, fill = bias; break;
        case T::AttnKBias: case T::AttnVBias: shape = {kv}, fill = bias; break;
        case T::AttnQNorm: case T::AttnKNorm: shape = {s.head_dim}; break;
        case T::AttnOut: shape = {q, d}, fill = matrix(q); break;
        case T::FfnGate: shape = {d, f}, fill = matrix(d); break;
        case T::FfnUp: shape = {d, arch->fused_gate_up ? 2 * f : f}, fill = matrix(d); break;
        case T::FfnDown: shape = {f, d}, fill = matrix(f); break;
        default: shape = {d}; break;  // the dim-wide norms
      }
      t.push_back({tensor_name(role, l), shape, fill});
    }
  }
  t.push_back({tensor_name(TensorRole::OutputNorm), {d}, output_norm});
  if (!s.tied_output) t.push_back({tensor_name(TensorRole::Output), {d, s.vocab}, matrix(d)});
  return t;
}

// Per-row seeds make the bytes independent of how rows are split between threads.
uint64_t row_seed(uint64_t seed, size_t tensor_index, int64_t row) {
  Rng mix(seed ^ (uint64_t(tensor_index) << 40) ^ uint64_t(row));
  return mix.next_u64();
}

void fill_tensor(const PlannedTensor& t, TensorType type, uint64_t seed, size_t index, uint8_t* dst,
                 ProgressBar* bar) {
  const int64_t cols = t.shape[0];
  int64_t rows = 1;
  for (size_t i = 1; i < t.shape.size(); i++) rows *= t.shape[i];
  const size_t rb = row_bytes(type, cols);
  auto work = [&](int64_t begin, int64_t end) {
    std::vector<float> row(cols);
    for (int64_t r = begin; r < end; r++) {
      Rng rng(row_seed(seed, index, r));
      for (int64_t c = 0; c < cols; c++) {
        switch (t.fill.kind) {
          case Fill::Normal: row[c] = fast_normal(rng) * t.fill.scale; break;
          case Fill::NearOne: row[c] = t.fill.center * (1.f + t.fill.scale * (2.f * float(rng.uniform()) - 1.f)); break;
          case Fill::Fixed: row[c] = t.fill.values[r * cols + c]; break;
        }
      }
      quantize_row(type, row.data(), dst + r * rb, cols);
    }
  };
  const int64_t elements = rows * cols;
  const int n_threads = elements < (1 << 18) ? 1 : int(std::clamp(std::thread::hardware_concurrency(), 1u, 64u));
  std::vector<std::thread> threads;
  const int64_t chunk = (rows + n_threads - 1) / n_threads;
  for (int i = 0; i < n_threads; i++) {
    const int64_t b = i * chunk, e = std::min(rows, b + chunk);
    if (b < e) threads.emplace_back(work, b, e);
  }
  for (auto& th : threads) th.join();
  if (bar) bar->advance(uint64_t(elements));
}

// Pads a real tokenizer's vocabulary with unused tokens up to the embedding rows, as the real
// checkpoints do (Qwen2.5: 151665 tokens in 151936 rows).
TokenizerData tokenizer_for(const ModelSpec& s, const std::string& tokenizer_json) {
  if (tokenizer_json.empty()) return byte_level_tokenizer(s.vocab);
  TokenizerData tok = tokenizer_data_from_hf_json(tokenizer_json);
  pad_vocabulary(tok, s.vocab, cat(tokenizer_json, " with preset ", s.preset));
  return tok;
}

}  // namespace

uint64_t parameter_count(const ModelSpec& spec) {
  uint64_t total = 0;
  for (const PlannedTensor& t : plan_tensors(spec)) {
    if (t.fill.kind == Fill::Fixed) continue;
    uint64_t n = 1;
    for (int64_t x : t.shape) n *= uint64_t(x);
    total += n;
  }
  return total;
}

void write_synthetic_model(const ModelSpec& s, const MakeModelOptions& o, const std::string& path) {
  const FileType ft = find_file_type(o.quant);
  GgufWriter w;
  const std::string a = s.arch;
  w.set_string("general.architecture", a);
  w.set_string("general.name", cat("synthetic ", s.preset, " (", s.description, ")"));
  w.set_u32("general.file_type", gguf_file_type_id(ft));
  w.set_u32("general.quantization_version", 2);
  w.set_string("wgllm.synthetic.preset", s.preset);
  w.set_u64("wgllm.synthetic.seed", o.seed);
  w.set_u32(a + ".context_length", s.context_length);
  w.set_u32(a + ".embedding_length", s.dim);
  w.set_u32(a + ".block_count", s.n_layers);
  w.set_u32(a + ".feed_forward_length", s.ffn_dim);
  w.set_u32(a + ".attention.head_count", s.n_heads);
  w.set_u32(a + ".attention.head_count_kv", s.n_kv_heads);
  w.set_u32(a + ".attention.key_length", s.head_dim);
  w.set_u32(a + ".attention.value_length", s.head_dim);
  w.set_f32(a + ".attention.layer_norm_rms_epsilon", s.norm_eps);
  w.set_f32(a + ".rope.freq_base", s.rope_theta);
  w.set_u32(a + ".rope.dimension_count", s.head_dim);
  w.set_u32(a + ".vocab_size", s.vocab);
  if (s.sliding_window > 0) w.set_u32(a + ".attention.sliding_window", s.sliding_window);
  if (s.attn_softcap > 0) w.set_f32(a + ".attn_logit_softcapping", s.attn_softcap);
  if (s.final_softcap > 0) w.set_f32(a + ".final_logit_softcapping", s.final_softcap);
  if (s.long_rope_orig_context > 0) {
    const float scale = float(s.context_length) / s.long_rope_orig_context;
    w.set_f32(a + ".rope.scaling.attn_factor", std::sqrt(1.f + std::log(scale) / std::log(float(s.long_rope_orig_context))));
    w.set_u32(a + ".rope.scaling.original_context_length", s.long_rope_orig_context);
  }
  write_tokenizer_metadata(w, tokenizer_for(s, o.tokenizer_json));

  // Tensors are generated when the writer streams them out, one at a time, rows in parallel.
  auto planned = std::make_shared<std::vector<PlannedTensor>>(plan_tensors(s));
  uint64_t total = 0;
  for (const PlannedTensor& t : *planned) {
    int64_t n = 1;
    for (int64_t x : t.shape) n *= x;
    total += uint64_t(n);
  }
  std::unique_ptr<ProgressBar> bar;
  if (o.progress) bar = std::make_unique<ProgressBar>(cat("make-model ", s.preset, " ", o.quant), total, "weights");
  for (size_t i = 0; i < planned->size(); i++) {
    const PlannedTensor& t = (*planned)[i];
    const TensorType type = choose_tensor_type(ft, t.name, s.n_layers, t.shape, !s.tied_output);
    w.add_tensor(t.name, type, t.shape, [planned, i, type, seed = o.seed, b = bar.get()](uint8_t* dst) {
      fill_tensor((*planned)[i], type, seed, i, dst, b);
    });
  }
  w.write(path);
  if (bar) bar->finish();
}

std::string ensure_preset_model(const std::string& preset, const std::string& quant, const std::string& cache_dir) {
  const ModelSpec& spec = find_preset(preset);
  std::string dir = cache_dir;
  if (dir.empty()) {
    if (const char* env = std::getenv("WGLLM_CACHE"); env && *env) {
      dir = env;
    } else {
      const char* home = std::getenv("HOME");
      if (!home || !*home) fail("cannot find a model cache folder: set WGLLM_CACHE or HOME");
      dir = std::string(home) + "/.cache/wgllm/models";
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail("cannot create the model cache folder ", dir, ": ", ec.message());
  const std::string path = dir + "/" + preset + "-" + quant + ".gguf";
  if (std::filesystem::exists(path)) {
    try {
      GgufFile::open(path);  // a valid header: reuse it
      return path;
    } catch (const Error&) {
      // a damaged cache entry: regenerate below
    }
  }
  MakeModelOptions o;
  o.quant = quant;
  write_synthetic_model(spec, o, path);
  return path;
}

}  // namespace wgllm
