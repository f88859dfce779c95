// ModelConfig parsing: values read from real key names, and errors that name file and key.
#include "model/config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>

#include "format/gguf.h"
#include "model/presets.h"
#include "model/weights.h"
#include "util/error.h"
#include "util/progress.h"
#include "util/rng.h"

namespace wgllm {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("wgllm_config_test_" + name)).string();
}

std::vector<uint8_t> random_f32(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<uint8_t> bytes(n * 4);
  for (int64_t i = 0; i < n; i++) {
    const float v = rng.normal();
    std::memcpy(bytes.data() + i * 4, &v, 4);
  }
  return bytes;
}

// A header-only llama-style file: metadata plus token_embd (dim 64, vocab 50). `skip` drops one
// key; `edit` changes the writer before the tensor is added.
std::string write_header(const std::string& name, const std::string& arch, const std::string& skip = "",
                         const std::function<void(GgufWriter&)>& edit = {}) {
  GgufWriter w;
  auto u32 = [&](const std::string& k, uint32_t v) { if (k != skip) w.set_u32(k, v); };
  if (skip != "general.architecture") w.set_string("general.architecture", arch);
  u32(arch + ".block_count", 3);
  u32(arch + ".embedding_length", 64);
  u32(arch + ".feed_forward_length", 96);
  u32(arch + ".attention.head_count", 8);
  u32(arch + ".attention.head_count_kv", 2);
  u32(arch + ".context_length", 1024);
  if (skip != arch + ".attention.layer_norm_rms_epsilon") w.set_f32(arch + ".attention.layer_norm_rms_epsilon", 1e-6f);
  w.set_f32(arch + ".rope.freq_base", 500000.f);
  if (edit) edit(w);
  w.add_tensor("token_embd.weight", TensorType::F32, {64, 50}, random_f32(64 * 50, 3));
  const std::string path = temp_path(name);
  w.write(path);
  return path;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ModelConfig, ReadsLlamaKeys) {
  const std::string path = write_header("llama.gguf", "llama");
  const ModelConfig c = config_from_gguf(*GgufFile::open(path));
  EXPECT_STREQ(c.arch->gguf_name, "llama");
  EXPECT_EQ(c.n_layers, 3);
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.rope_dims, 8);
  EXPECT_EQ(c.ffn_dim, 96);
  EXPECT_EQ(c.vocab_size, 50);
  EXPECT_EQ(c.context_length, 1024);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-6f);
  EXPECT_FLOAT_EQ(c.rope_theta, 500000.f);
  EXPECT_FLOAT_EQ(c.attn_scale, 1.f / std::sqrt(8.f));
  EXPECT_TRUE(c.tied_output);  // no output.weight
  EXPECT_EQ(c.arch->rope_order, RopeOrder::Normal);
  EXPECT_EQ(c.embed_scale, 1.f);
  EXPECT_EQ(c.attn_softcap, 0.f);
  std::filesystem::remove(path);
}

TEST(ModelConfig, Gemma2DefaultsAndSlidingLayers) {
  const std::string path = write_header("gemma2.gguf", "gemma2", "", [](GgufWriter& w) {
    w.set_u32("gemma2.attention.key_length", 16);
    w.set_u32("gemma2.attention.value_length", 16);
    w.set_f32("gemma2.attn_logit_softcapping", 40.f);
  });
  const ModelConfig c = config_from_gguf(*GgufFile::open(path));
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.q_dim(), 128);
  EXPECT_EQ(c.kv_dim(), 32);
  EXPECT_FLOAT_EQ(c.attn_softcap, 40.f);
  EXPECT_FLOAT_EQ(c.final_softcap, 30.f);  // llama.cpp's default when the key is absent
  EXPECT_EQ(c.sliding_window, 4096);       // likewise
  EXPECT_EQ(c.layer_sliding, (std::vector<bool>{true, false, true}));
  EXPECT_FLOAT_EQ(c.embed_scale, 8.f);  // sqrt(64)
  EXPECT_EQ(c.arch->rope_order, RopeOrder::NeoX);
  std::filesystem::remove(path);
}

TEST(ModelConfig, MissingKeyNamesFileAndKey) {
  for (const std::string key : {"llama.block_count", "llama.embedding_length", "llama.attention.head_count",
                                "llama.feed_forward_length", "llama.context_length",
                                "llama.attention.layer_norm_rms_epsilon", "general.architecture"}) {
    const std::string path = write_header("missing.gguf", "llama", key);
    EXPECT_EQ(error_of([&] { config_from_gguf(*GgufFile::open(path)); }), path + ": missing metadata key " + key);
    std::filesystem::remove(path);
  }
}

TEST(ModelConfig, UnknownArchitectureListsSupported) {
  const std::string path = write_header("mamba.gguf", "mamba");
  EXPECT_EQ(error_of([&] { config_from_gguf(*GgufFile::open(path)); }),
            path + ": unsupported architecture 'mamba' (supported: llama, qwen2, qwen3, phi3, gemma, gemma2)");
  std::filesystem::remove(path);
}

TEST(ModelConfig, InconsistentHeadsAndEmbeddingShape) {
  std::string path = write_header("heads.gguf", "llama", "", [](GgufWriter& w) {
    w.set_u32("llama.attention.head_count_kv", 3);
  });
  EXPECT_EQ(error_of([&] { config_from_gguf(*GgufFile::open(path)); }),
            path + ": llama.attention.head_count = 8 is not a multiple of llama.attention.head_count_kv = 3");
  std::filesystem::remove(path);
  path = write_header("embd.gguf", "llama", "", [](GgufWriter& w) { w.set_u32("llama.embedding_length", 32); });
  EXPECT_EQ(error_of([&] { config_from_gguf(*GgufFile::open(path)); }),
            path + ": tensor token_embd.weight has ne[0] = 64, expected llama.embedding_length = 32");
  std::filesystem::remove(path);
}

// Copies a valid tiny model, replacing one tensor's shape or dropping it.
std::string rewrite_model(const std::string& src, const std::string& name, const std::string& tensor,
                          std::vector<int64_t> new_shape) {
  auto f = GgufFile::open(src);
  GgufWriter w;
  for (const std::string& k : f->keys_in_file_order()) w.set(k, *f->find(k));
  for (const GgufTensor& t : f->tensors()) {
    if (t.name == tensor && new_shape.empty()) continue;
    std::vector<int64_t> shape = t.name == tensor ? new_shape : t.shape;
    int64_t n = 1;
    for (int64_t x : shape) n *= x;
    if (t.name == tensor) {
      w.add_tensor(t.name, TensorType::F32, shape, random_f32(n, 9));
    } else {
      w.add_tensor(t.name, t.type, shape, std::vector<uint8_t>(t.data, t.data + t.size));
    }
  }
  const std::string path = temp_path(name);
  w.write(path);
  return path;
}

TEST(ModelWeights, FindsEveryTensorAndRejectsBadShapes) {
  ProgressBar::set_enabled(false);
  const std::string src = temp_path("tiny-qwen2.gguf");
  MakeModelOptions o;
  o.quant = "F32";
  write_synthetic_model(find_preset("tiny-qwen2"), o, src);
  const ModelWeights w = load_model_weights(src);
  ASSERT_EQ(int(w.layers.size()), 3);
  EXPECT_NE(w.get(TensorRole::AttnQBias, 2), nullptr);  // qwen2 has q/k/v biases
  EXPECT_EQ(w.get(TensorRole::AttnQNorm, 2), nullptr);  // but no q/k norm
  EXPECT_EQ(w.get(TensorRole::AttnK, 1)->shape, (std::vector<int64_t>{256, 64}));
  EXPECT_EQ(&w.output(), w.get(TensorRole::TokenEmbd));  // tied

  std::string bad = rewrite_model(src, "bad_shape.gguf", "blk.1.attn_k.weight", {256, 96});
  EXPECT_EQ(error_of([&] { load_model_weights(bad); }),
            bad + ": tensor blk.1.attn_k.weight has shape [256, 96], expected [256, 64]");
  std::filesystem::remove(bad);
  bad = rewrite_model(src, "no_bias.gguf", "blk.2.attn_v.bias", {});
  EXPECT_EQ(error_of([&] { load_model_weights(bad); }), bad + ": missing tensor blk.2.attn_v.bias (qwen2 needs it)");
  std::filesystem::remove(bad);
  std::filesystem::remove(src);
}

TEST(ArchTable, NamesAndRoles) {
  EXPECT_EQ(tensor_name(TensorRole::AttnQ, 7), "blk.7.attn_q.weight");
  EXPECT_EQ(tensor_name(TensorRole::FfnPostNorm, 0), "blk.0.post_ffw_norm.weight");
  EXPECT_EQ(tensor_name(TensorRole::Output), "output.weight");
  EXPECT_EQ(find_arch("gpt2"), nullptr);
  const std::vector<TensorRole> phi3 = layer_roles(*find_arch("phi3"));
  EXPECT_EQ(phi3, (std::vector<TensorRole>{TensorRole::AttnNorm, TensorRole::AttnQkv, TensorRole::AttnOut,
                                           TensorRole::FfnNorm, TensorRole::FfnUp, TensorRole::FfnDown}));
  EXPECT_EQ(layer_roles(*find_arch("gemma2")).size(), 11u);  // 4 norms, q k v o, gate up down
  EXPECT_EQ(layer_roles(*find_arch("qwen3")).size(), 11u);
}

}  // namespace
}  // namespace wgllm
