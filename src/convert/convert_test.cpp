// wgllm convert on folders written here: real tokenizers give the reference ids after
// conversion, every family loads in the engine with the values of its checkpoint, the Llama q/k
// permutation gives HF's attention scores, and bad folders fail with exact messages.
#include "convert/convert.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "convert/hf_config.h"
#include "convert/test_hf_folder.h"
#include "format/gguf.h"
#include "model/presets.h"
#include "model/weights.h"
#include "reference/forward.h"
#include "reference/ops.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace wgllm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::TinyModel;

std::string temp_dir(const std::string& name) {
  const std::string d = (fs::temp_directory_path() / ("wgllm_convert_" + name + "_" + std::to_string(::getpid()))).string();
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

ConvertOptions quiet(const std::string& outtype = "f32", const std::string& quant = "") {
  ConvertOptions o;
  o.outtype = outtype;
  o.quant = quant;
  o.progress = false;
  return o;
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A small SentencePiece-style tokenizer.json: specials, 256 byte-fallback pieces, ▁ and a-z, and
// three merges (▁t, he, ▁the): 289 tokens.
void write_small_tokenizer(const std::string& dir) {
  json vocab = json::object();
  int id = 0;
  for (const char* s : {"<unk>", "<s>", "</s>"}) vocab[s] = id++;
  for (int b = 0; b < 256; b++) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    vocab[buf] = id++;
  }
  vocab["\xE2\x96\x81"] = id++;
  for (char ch = 'a'; ch <= 'z'; ch++) vocab[std::string(1, ch)] = id++;
  for (const char* s : {"\xE2\x96\x81t", "he", "\xE2\x96\x81the"}) vocab[s] = id++;
  json tok = {
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"\xE2\x96\x81 t", "h e", "\xE2\x96\x81t he"}},
                 {"byte_fallback", true}, {"unk_token", "<unk>"}}},
      {"added_tokens", {{{"id", 0}, {"content", "<unk>"}, {"special", true}},
                        {{"id", 1}, {"content", "<s>"}, {"special", true}},
                        {{"id", 2}, {"content", "</s>"}, {"special", true}}}},
      {"normalizer", {{"type", "Sequence"}, {"normalizers", {{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
                                                            {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}}}}},
      {"pre_tokenizer", nullptr}};
  test::write_json(dir + "/tokenizer.json", tok);
  test::write_json(dir + "/tokenizer_config.json",
                   {{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"add_bos_token", true},
                    {"chat_template", json::array({{{"name", "default"}, {"template", "{{ messages }}"}},
                                                   {{"name", "tool_use"}, {"template", "tools"}}})}});
}

constexpr int kSmallVocab = 300;  // 289 tokens padded with 11 [PAD<i>]

// A tiny model of `hf_arch` with the small tokenizer, in dir.
TinyModel write_tiny(const std::string& dir, const std::string& hf_arch, const std::string& dtype = "F32") {
  TinyModel m = test::tiny_model(hf_arch, kSmallVocab);
  test::write_hf_folder(dir, m, {}, dtype);
  write_small_tokenizer(dir);
  return m;
}

const test::HfTensor& hf_tensor(const TinyModel& m, const std::string& name) {
  for (const auto& t : m.tensors)
    if (t.name == name) return t;
  throw Error("test: no tensor " + name);
}

// ----------------------------------------------------------------------------------------------
// Real tokenizers: the converted GGUF encodes every reference string to Hugging Face's ids.

// embedding_rows: the real model's embedding rows, at least the tokenizer's size (Qwen3 and
// Gemma-3 pad theirs, so the converted vocabulary ends in [PAD<i>] tokens).
void check_tokenizer_family(const std::string& family, const std::string& hf_arch, int embedding_rows) {
  std::ifstream in("tests/tokenizer/expected_" + family + ".json");
  ASSERT_TRUE(in) << "run from the repository root";
  const json expected = json::parse(in);
  const std::string tok_json = expected["tokenizer"], tok_config = expected["config"];
  const std::string dir = temp_dir(family);
  test::write_hf_folder(dir, test::tiny_model(hf_arch, embedding_rows), {tok_json, tok_config}, "F16");
  const std::string out = dir + "/out.gguf";
  const ConvertResult r = convert_hf_to_gguf(dir, out, quiet("f16"));
  EXPECT_EQ(r.n_vocab, embedding_rows);

  const auto gguf = GgufFile::open(out);
  const TokenizerData data = tokenizer_data_from_gguf(*gguf);
  std::ifstream config_in(tok_config);
  const json config = json::parse(config_in);
  if (config.contains("chat_template")) {
    EXPECT_EQ(data.chat_template, config["chat_template"].get<std::string>());
  }
  const Tokenizer tok(data);
  int mismatches = 0;
  for (const auto& c : expected["cases"]) {
    const std::vector<int32_t> want = c["ids"].get<std::vector<int32_t>>();
    const std::vector<int32_t> got = tok.encode(c["text"].get<std::string>(), c["add_special"].get<bool>());
    if (got != want && ++mismatches <= 5) ADD_FAILURE() << family << ": " << c["text"].dump();
  }
  EXPECT_EQ(mismatches, 0) << family << ": of " << expected["cases"].size() << " cases";
  EXPECT_GT(expected["cases"].size(), 300u);
  // The engine's loader takes the file as a model.
  EXPECT_EQ(load_model_weights(out).config.vocab_size, embedding_rows);
  fs::remove_all(dir);
}

TEST(ConvertTokenizer, Llama3) { check_tokenizer_family("llama3", "LlamaForCausalLM", 128256); }
TEST(ConvertTokenizer, Qwen3) { check_tokenizer_family("qwen3", "Qwen3ForCausalLM", 151936); }
TEST(ConvertTokenizer, Gemma3) { check_tokenizer_family("gemma3", "GemmaForCausalLM", 262208); }
TEST(ConvertTokenizer, Mistral) { check_tokenizer_family("mistral", "MistralForCausalLM", 32000); }

// A SentencePiece BPE model trained here by spm_train, converted from tokenizer.model alone:
// the GGUF's tokenizer gives spm_encode's ids for every line.
TEST(ConvertTokenizer, SentencePieceModelMatchesSpmEncode) {
  const std::string dir = temp_dir("spm");
  const std::string corpus = "/usr/share/common-licenses/GPL-3";  // ~35 KB of prose (Debian base-files)
  ASSERT_TRUE(fs::exists(corpus));
  const std::string train = "spm_train --input=" + corpus + " --model_prefix=" + dir +
                            "/sp --vocab_size=600 --model_type=bpe --byte_fallback=true "
                            "--normalization_rule_name=identity --remove_extra_whitespaces=false "
                            "--character_coverage=1.0 --minloglevel=2 > " + dir + "/train.log 2>&1";
  ASSERT_EQ(std::system(train.c_str()), 0) << "spm_train failed (Debian package sentencepiece): see " << dir;
  const std::vector<std::string> lines = {
      "Hello world",
      "the GNU General Public License, version 3",
      "  two leading spaces and trailing  ",
      "Tabs\tand\tdigits 1234567890 and symbols #$%^&*()",
      "Unicode: caf\xC3\xA9 na\xC3\xAFve \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xF0\x9F\x98\x80 (byte fallback)",
      "copyright notices; \"quoted\" text -- and dashes",
      "a",
      "conveying verbatim copies of the Program's source code",
  };
  {
    std::ofstream f(dir + "/lines.txt");
    for (const std::string& l : lines) f << l << "\n";
  }
  const std::string encode = "spm_encode --model=" + dir + "/sp.model --output_format=id < " + dir + "/lines.txt > " + dir + "/ids.txt";
  ASSERT_EQ(std::system(encode.c_str()), 0);

  fs::copy_file(dir + "/sp.model", dir + "/tokenizer.model");
  test::write_json(dir + "/config.json", test::tiny_model("LlamaForCausalLM", 640).config);
  test::write_safetensors(dir + "/model.safetensors", test::tiny_model("LlamaForCausalLM", 640).tensors, "F16");
  const ConvertResult r = convert_hf_to_gguf(dir, dir + "/out.gguf", quiet("f16"));
  EXPECT_TRUE(r.warnings.empty()) << r.warnings[0];
  const TokenizerData data = tokenizer_data_from_gguf(*GgufFile::open(dir + "/out.gguf"));
  EXPECT_EQ(data.n_vocab(), 640);  // 600 pieces + 40 [PAD<i>]
  EXPECT_EQ(data.tokens[620], "[PAD620]");
  EXPECT_EQ(data.types[3], TokenType::Byte);  // <0x00> follows <unk> <s> </s>
  EXPECT_EQ(data.bos_id, 1);
  EXPECT_TRUE(data.add_bos);
  const Tokenizer tok(data);
  std::ifstream ids(dir + "/ids.txt");
  std::string line;
  size_t n = 0;
  for (; std::getline(ids, line) && n < lines.size(); n++) {
    std::vector<int32_t> want;
    std::istringstream s(line);
    for (int32_t id; s >> id;) want.push_back(id);
    EXPECT_EQ(tok.encode(lines[n], false), want) << lines[n];
    EXPECT_EQ(tok.decode(want), lines[n]);
  }
  EXPECT_EQ(n, lines.size());

  // Training defaults (nmt_nfkc, whitespace folding) are reported as not reproduced.
  const std::string train2 = "spm_train --input=" + corpus + " --model_prefix=" + dir +
                             "/sp2 --vocab_size=300 --model_type=bpe --minloglevel=2 > /dev/null 2>&1";
  ASSERT_EQ(std::system(train2.c_str()), 0);
  std::vector<std::string> warnings;
  tokenizer_data_from_spm_model(dir + "/sp2.model", &warnings);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0], dir + "/sp2.model: normalizer 'nmt_nfkc' is not applied (train with --normalization_rule_name=identity)");
  fs::remove_all(dir);
}

// ----------------------------------------------------------------------------------------------
// Weights and metadata.

// HF's rotate-half RoPE (transformers' apply_rotary_pos_emb) on one head, written out here as
// the specification the permutation must reproduce.
void rope_rotate_half(float* x, int head_dim, int pos, float theta) {
  const int half = head_dim / 2;
  for (int i = 0; i < half; i++) {
    const double angle = pos * std::pow(double(theta), -2.0 * i / head_dim);
    const double a = x[i], b = x[i + half];
    x[i] = float(a * std::cos(angle) - b * std::sin(angle));
    x[i + half] = float(b * std::cos(angle) + a * std::sin(angle));
  }
}

// After conversion, the engine's interleaved RoPE on the permuted rows gives the same q.k
// attention scores as transformers' rotate-half RoPE on the checkpoint's rows.
TEST(ConvertWeights, LlamaQkPermutationKeepsAttentionScores) {
  const std::string dir = temp_dir("perm");
  const TinyModel m = write_tiny(dir, "LlamaForCausalLM");
  convert_hf_to_gguf(dir, dir + "/out.gguf", quiet());
  const ModelWeights w = load_model_weights(dir + "/out.gguf");
  const ModelConfig& c = w.config;
  ASSERT_EQ(c.arch->rope_order, RopeOrder::Normal);
  const int hd = c.head_dim, dim = c.dim;
  const auto& hq = hf_tensor(m, "model.layers.1.self_attn.q_proj.weight").values;
  const auto& hk = hf_tensor(m, "model.layers.1.self_attn.k_proj.weight").values;
  Rng rng(11);
  std::vector<float> x(dim);
  for (float& v : x) v = rng.uniform(-1.f, 1.f);
  auto hf_matvec = [&](const std::vector<float>& W, int rows) {
    std::vector<float> y(rows, 0.f);
    for (int r = 0; r < rows; r++)
      for (int i = 0; i < dim; i++) y[r] += W[size_t(r) * dim + i] * x[i];
    return y;
  };
  std::vector<float> q_hf = hf_matvec(hq, c.q_dim()), k_hf = hf_matvec(hk, c.kv_dim());
  std::vector<float> q(c.q_dim()), k(c.kv_dim());
  ref::matvec(q.data(), *w.get(TensorRole::AttnQ, 1), x.data());
  ref::matvec(k.data(), *w.get(TensorRole::AttnK, 1), x.data());
  const int pq = 37, pk = 5;
  for (int h = 0; h < c.n_heads; h++) rope_rotate_half(q_hf.data() + h * hd, hd, pq, c.rope_theta);
  for (int h = 0; h < c.n_kv_heads; h++) rope_rotate_half(k_hf.data() + h * hd, hd, pk, c.rope_theta);
  ref::rope(q.data(), c.n_heads, hd, hd, pq, c.rope_theta, 1.f, nullptr, 1.f, RopeOrder::Normal);
  ref::rope(k.data(), c.n_kv_heads, hd, hd, pk, c.rope_theta, 1.f, nullptr, 1.f, RopeOrder::Normal);
  int checked = 0;
  for (int h = 0; h < c.n_heads; h++) {
    const int kvh = h / (c.n_heads / c.n_kv_heads);
    double want = 0, got = 0;
    for (int i = 0; i < hd; i++) {
      want += double(q_hf[h * hd + i]) * k_hf[kvh * hd + i];
      got += double(q[h * hd + i]) * k[kvh * hd + i];
    }
    EXPECT_NEAR(got, want, 1e-5 * (1 + std::fabs(want))) << "head " << h;
    checked++;
  }
  EXPECT_EQ(checked, c.n_heads);
  // Rows moved exactly: GGUF row r of attn_q is checkpoint row perm[r].
  const std::vector<int64_t> perm = rope_pair_permutation(c.n_heads, hd);
  const std::vector<float> gq = tensor_to_f32(*w.get(TensorRole::AttnQ, 1));
  for (int r = 0; r < c.q_dim(); r++)
    for (int i = 0; i < dim; i++) ASSERT_EQ(gq[size_t(r) * dim + i], hq[size_t(perm[r]) * dim + i]) << r;
  EXPECT_EQ(perm[1], hd / 2);  // pair 0 = (row 0, row head_dim/2)
  fs::remove_all(dir);
}

// Every family converts to a file the engine loads, with the checkpoint's values (f32 exact,
// Gemma norms + 1, Llama/Mistral q/k permuted) and config.json's hyperparameters.
TEST(ConvertWeights, EveryFamilyLoadsWithCheckpointValues) {
  for (const HfFamily& fam : hf_families()) {
    SCOPED_TRACE(fam.hf_name);
    const std::string dir = temp_dir(std::string("fam_") + fam.hf_name);
    const TinyModel m = write_tiny(dir, fam.hf_name);
    const ConvertResult r = convert_hf_to_gguf(dir, dir + "/out.gguf", quiet());
    EXPECT_EQ(r.gguf_arch, fam.gguf_arch);
    uint64_t params = 0;
    for (const auto& t : m.tensors) params += t.values.size();
    EXPECT_EQ(r.n_params, params);
    const ModelWeights w = load_model_weights(dir + "/out.gguf");
    const ModelConfig& c = w.config;
    const json& hc = m.config;
    EXPECT_EQ(c.n_layers, hc["num_hidden_layers"].get<int>());
    EXPECT_EQ(c.dim, hc["hidden_size"].get<int>());
    EXPECT_EQ(c.n_heads, hc["num_attention_heads"].get<int>());
    EXPECT_EQ(c.n_kv_heads, hc["num_key_value_heads"].get<int>());
    EXPECT_EQ(c.head_dim, hc.value("head_dim", c.dim / c.n_heads));
    EXPECT_EQ(c.ffn_dim, hc["intermediate_size"].get<int>());
    EXPECT_EQ(c.vocab_size, kSmallVocab);
    EXPECT_EQ(c.context_length, 256);
    EXPECT_FLOAT_EQ(c.norm_eps, 1e-6f);
    EXPECT_EQ(c.tied_output, hc["tie_word_embeddings"].get<bool>());
    EXPECT_EQ(w.file->tensors().size(), r.n_tensors);
    if (fam.gguf_arch == std::string("gemma2")) {
      EXPECT_EQ(c.sliding_window, 4);
      EXPECT_FLOAT_EQ(c.attn_softcap, 50.f);
      EXPECT_FLOAT_EQ(c.final_softcap, 30.f);
    }
    const float plus = fam.norm_plus_one ? 1.f : 0.f;
    const auto embd = tensor_to_f32(*w.get(TensorRole::TokenEmbd));
    EXPECT_EQ(embd, hf_tensor(m, "model.embed_tokens.weight").values);
    const auto norm = tensor_to_f32(*w.get(TensorRole::AttnNorm, 1));
    const auto& hnorm = hf_tensor(m, "model.layers.1.input_layernorm.weight").values;
    for (size_t i = 0; i < norm.size(); i++) EXPECT_EQ(norm[i], hnorm[i] + plus);
    const auto down = tensor_to_f32(*w.get(TensorRole::FfnDown, 0));
    EXPECT_EQ(down, hf_tensor(m, "model.layers.0.mlp.down_proj.weight").values);
    // The tokenizer: padded vocabulary, chat template from the list form's "default".
    const TokenizerData tok = tokenizer_data_from_gguf(*w.file);
    EXPECT_EQ(tok.n_vocab(), kSmallVocab);
    EXPECT_EQ(tok.tokens[295], "[PAD295]");
    EXPECT_EQ(tok.chat_template, "{{ messages }}");
    EXPECT_EQ(Tokenizer(tok).encode("the", true), (std::vector<int32_t>{1, 288}));
    // And it runs.
    ref::Transformer model(dir + "/out.gguf", 16);
    const std::vector<int> tokens = {1, 100, 200, 288};
    for (float v : model.forward_tokens(tokens, 0)) ASSERT_TRUE(std::isfinite(v));
    fs::remove_all(dir);
  }
}

// Llama-3.1 scaling becomes rope_freqs.weight, from either config spelling (transformers 4:
// rope_theta + rope_scaling; transformers 5: rope_parameters); Phi-3 LongRoPE its factor tables
// and scaling keys; linear scaling the scaling keys.
TEST(ConvertWeights, RopeScaling) {
  const std::string dir = temp_dir("rope");
  TinyModel m = write_tiny(dir, "LlamaForCausalLM");
  const json llama3 = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                       {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 64}};
  const std::vector<float> want = llama3_rope_factors(8, 500000.f, 8.f, 1.f, 4.f, 64);
  for (int spelling = 0; spelling < 2; spelling++) {
    json c = m.config;
    c.erase("rope_theta");
    if (spelling == 0) {
      c["rope_theta"] = 500000.0;
      c["rope_scaling"] = llama3;
    } else {
      c["rope_parameters"] = llama3;
      c["rope_parameters"]["rope_theta"] = 500000.0;
    }
    test::write_json(dir + "/config.json", c);
    convert_hf_to_gguf(dir, dir + "/out.gguf", quiet());
    const ModelWeights w = load_model_weights(dir + "/out.gguf");
    EXPECT_FLOAT_EQ(w.config.rope_theta, 500000.f);
    EXPECT_FLOAT_EQ(w.config.rope_freq_scale, 1.f);
    ASSERT_TRUE(w.config.has_rope_freqs);
    EXPECT_EQ(w.rope_factors(16), want);
    EXPECT_GT(want.back(), 7.9f);  // the slowest frequency is divided by the full factor
  }
  json c = m.config;
  c["rope_scaling"] = {{"type", "linear"}, {"factor", 4.0}};
  test::write_json(dir + "/config.json", c);
  convert_hf_to_gguf(dir, dir + "/out.gguf", quiet());
  EXPECT_FLOAT_EQ(load_model_weights(dir + "/out.gguf").config.rope_freq_scale, 0.25f);
  c["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}};
  test::write_json(dir + "/config.json", c);
  EXPECT_EQ(error_of([&] { convert_hf_to_gguf(dir, dir + "/out.gguf", quiet()); }),
            dir + "/config.json: rope_scaling.rope_type yarn is not supported for LlamaForCausalLM (supported: "
                  "default, linear, llama3)");
  fs::remove_all(dir);

  const std::string pdir = temp_dir("longrope");
  m = write_tiny(pdir, "Phi3ForCausalLM");
  c = m.config;
  c["max_position_embeddings"] = 1024;
  c["original_max_position_embeddings"] = 128;
  const std::vector<float> lng = {1.f, 2.f, 3.f, 4.f}, sht = {1.f, 1.1f, 1.2f, 1.3f};
  c["rope_scaling"] = {{"type", "longrope"}, {"long_factor", lng}, {"short_factor", sht}};
  test::write_json(pdir + "/config.json", c);
  convert_hf_to_gguf(pdir, pdir + "/out.gguf", quiet());
  const ModelWeights w = load_model_weights(pdir + "/out.gguf");
  EXPECT_TRUE(w.config.has_long_rope);
  EXPECT_EQ(w.config.rope_orig_context, 128);
  EXPECT_EQ(w.config.context_length, 1024);
  EXPECT_FLOAT_EQ(w.config.rope_attn_factor, float(std::sqrt(1 + std::log(8.0) / std::log(128.0))));
  EXPECT_EQ(w.rope_factors(128), sht);
  EXPECT_EQ(w.rope_factors(129), lng);
  fs::remove_all(pdir);
}

// --quant follows `wgllm quantize`'s mix; --outtype bf16 keeps 1-D tensors f32; a sharded BF16
// checkpoint converts to its exact values.
TEST(ConvertWeights, OutTypesQuantAndShards) {
  const std::string dir = temp_dir("types");
  TinyModel m = write_tiny(dir, "Qwen2ForCausalLM", "BF16");
  // Shard it: embeddings and layer 0 in one file, the rest in the other.
  fs::remove(dir + "/model.safetensors");
  std::vector<test::HfTensor> a, b;
  json index = {{"metadata", json::object()}, {"weight_map", json::object()}};
  for (const auto& t : m.tensors) {
    const bool first = t.name.find("layers.1.") == std::string::npos && t.name.find("lm_head") == std::string::npos &&
                       t.name != "model.norm.weight";
    (first ? a : b).push_back(t);
    index["weight_map"][t.name] = first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  test::write_safetensors(dir + "/model-00001-of-00002.safetensors", a, "BF16");
  test::write_safetensors(dir + "/model-00002-of-00002.safetensors", b, "BF16");
  test::write_json(dir + "/model.safetensors.index.json", index);

  convert_hf_to_gguf(dir, dir + "/f32.gguf", quiet("f32"));
  const ModelWeights w = load_model_weights(dir + "/f32.gguf");
  const auto lm = tensor_to_f32(*w.get(TensorRole::Output));
  const auto& hlm = hf_tensor(m, "lm_head.weight").values;
  for (size_t i = 0; i < lm.size(); i++) ASSERT_EQ(lm[i], bf16_to_f32(f32_to_bf16(hlm[i])));

  convert_hf_to_gguf(dir, dir + "/bf16.gguf", quiet("bf16"));
  const auto bf = GgufFile::open(dir + "/bf16.gguf");
  EXPECT_EQ(bf->tensor("blk.1.attn_q.weight").type, TensorType::BF16);
  EXPECT_EQ(bf->tensor("blk.1.attn_q.bias").type, TensorType::F32);
  EXPECT_EQ(bf->tensor("output_norm.weight").type, TensorType::F32);
  EXPECT_EQ(bf->get_u64("general.file_type"), gguf_file_type_id(FileType::BF16));

  const ConvertResult r = convert_hf_to_gguf(dir, dir + "/q8.gguf", quiet("f16", "Q8_0"));
  const auto q8 = GgufFile::open(dir + "/q8.gguf");
  for (const GgufTensor& t : q8->tensors())
    EXPECT_EQ(t.type, choose_tensor_type(FileType::Q8_0, t.name, 2, t.shape, true)) << t.name;
  EXPECT_EQ(q8->tensor("blk.0.attn_k.weight").type, TensorType::Q8_0);
  int counted = 0;
  for (const auto& [type, n] : r.tensors_per_type) counted += n;
  EXPECT_EQ(counted, int(r.n_tensors));
  // The Q8_0 file computes nearly the f32 file's logits.
  ref::Transformer f32_model(dir + "/f32.gguf", 8), q8_model(dir + "/q8.gguf", 8);
  const std::vector<int> tokens = {1, 50, 288, 7};
  const auto l32 = f32_model.forward_tokens(tokens, 0), l8 = q8_model.forward_tokens(tokens, 0);
  double err = 0, ref = 0;
  for (size_t i = 0; i < l32.size(); i++) err += (l8[i] - l32[i]) * (l8[i] - l32[i]), ref += l32[i] * l32[i];
  EXPECT_LT(err / ref, 1e-3);
  EXPECT_EQ(error_of([&] { convert_hf_to_gguf(dir, dir + "/x.gguf", quiet("f8")); }),
            "convert: unknown --outtype 'f8' (f32, f16 or bf16)");
  fs::remove_all(dir);
}

// ----------------------------------------------------------------------------------------------
// Bad folders: exact messages naming the file, tensor or key; no output file left behind.

TEST(ConvertErrors, BadFoldersNameFileTensorOrKey) {
  const std::string dir = temp_dir("bad");
  const std::string out = dir + "/out.gguf";
  auto convert_error = [&] { return error_of([&] { convert_hf_to_gguf(dir, out, quiet()); }); };

  EXPECT_EQ(convert_error(), dir + ": no config.json (is this a Hugging Face model folder?)");

  TinyModel m = write_tiny(dir, "MistralForCausalLM");
  json c = m.config;
  c["architectures"] = {"MambaForCausalLM"};
  test::write_json(dir + "/config.json", c);
  EXPECT_EQ(convert_error(), dir + "/config.json: architecture MambaForCausalLM is not supported (supported: "
                                   "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, "
                                   "Phi3ForCausalLM, GemmaForCausalLM, Gemma2ForCausalLM)");
  c = m.config;
  c.erase("num_hidden_layers");
  test::write_json(dir + "/config.json", c);
  EXPECT_EQ(convert_error(), dir + "/config.json: missing key num_hidden_layers");
  test::write_json(dir + "/config.json", m.config);

  // A tensor missing from the checkpoint.
  std::vector<test::HfTensor> tensors;
  for (const auto& t : m.tensors)
    if (t.name != "model.layers.1.mlp.up_proj.weight") tensors.push_back(t);
  test::write_safetensors(dir + "/model.safetensors", tensors);
  EXPECT_EQ(convert_error(), dir + "/model.safetensors: missing tensor model.layers.1.mlp.up_proj.weight "
                                   "(MistralForCausalLM needs it for blk.1.ffn_up.weight)");

  // A shape that does not match the config.
  c = m.config;
  c["intermediate_size"] = 64;
  test::write_json(dir + "/config.json", c);
  test::write_safetensors(dir + "/model.safetensors", m.tensors);
  EXPECT_EQ(convert_error(), dir + "/model.safetensors: tensor model.layers.0.mlp.gate_proj.weight has shape "
                                   "[48, 32], but " + dir + "/config.json implies [64, 32]");
  test::write_json(dir + "/config.json", m.config);

  // A tensor the architecture does not have.
  tensors = m.tensors;
  tensors.push_back({"model.layers.0.self_attn.q_proj.bias", {32}, std::vector<float>(32, 0.5f)});
  test::write_safetensors(dir + "/model.safetensors", tensors);
  EXPECT_EQ(convert_error(), dir + "/model.safetensors: tensor model.layers.0.self_attn.q_proj.bias is not used by "
                                   "the MistralForCausalLM converter (" + dir + "/config.json describes a model without it)");

  // A truncated checkpoint: the last tensor (lm_head, in insertion order) loses its tail.
  test::write_safetensors(dir + "/model.safetensors", m.tensors);
  const auto size = fs::file_size(dir + "/model.safetensors");
  fs::resize_file(dir + "/model.safetensors", size - 4);
  const std::string e = convert_error();
  EXPECT_EQ(e.rfind(dir + "/model.safetensors: tensor lm_head.weight: data [", 0), 0u) << e;
  EXPECT_NE(e.find(") runs past the end of the data section ("), std::string::npos) << e;
  EXPECT_NE(e.find(" bytes): the file is truncated"), std::string::npos) << e;

  fs::remove(dir + "/model.safetensors");
  EXPECT_EQ(convert_error(), dir + ": no model.safetensors or model.safetensors.index.json");
  fs::remove(dir + "/tokenizer.json");
  EXPECT_EQ(convert_error(), dir + ": no tokenizer.json or tokenizer.model");

  // None of the failures left a file (or a temporary) behind.
  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find("out.gguf"), std::string::npos) << entry.path();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wgllm
