// Synthetic presets: real shapes (parameter counts from the model cards), determinism, loading.
#include "model/presets.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "model/weights.h"
#include "util/error.h"
#include "util/progress.h"

namespace wgllm {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("wgllm_presets_test_" + name)).string();
}

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(Presets, FullSizeParameterCountsMatchModelCards) {
  // Counts as published for the real checkpoints (embeddings included; tied counted once).
  EXPECT_EQ(parameter_count(find_preset("llama3-8b")), 8030261248ull);
  EXPECT_EQ(parameter_count(find_preset("llama3.2-1b")), 1235814400ull);
  EXPECT_EQ(parameter_count(find_preset("mistral-7b")), 7241732096ull);
  EXPECT_EQ(parameter_count(find_preset("phi3-mini")), 3821079552ull);
  EXPECT_EQ(parameter_count(find_preset("gemma-2b")), 2506172416ull);
  EXPECT_EQ(parameter_count(find_preset("gemma2-2b")), 2614341888ull);
  EXPECT_EQ(parameter_count(find_preset("qwen2.5-0.5b")), 494032768ull);
  EXPECT_EQ(parameter_count(find_preset("qwen2.5-7b")), 7615616512ull);
}

TEST(Presets, UnknownPresetListsAll) {
  try {
    find_preset("llama9");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "unknown preset 'llama9' (presets: " + preset_list() + ")");
    EXPECT_NE(preset_list().find("tiny-gemma2"), std::string::npos);
  }
}

TEST(Presets, Llama3RopeFactors) {
  // Llama-3.2: theta 500000, factor 32, low 1, high 4, original context 8192.
  const std::vector<float> f = llama3_rope_factors(64, 500000.f, 32.f, 1.f, 4.f, 8192);
  ASSERT_EQ(f.size(), 32u);
  EXPECT_EQ(f[0], 1.f);    // wavelength 2*pi < 8192/4: untouched
  EXPECT_EQ(f[31], 32.f);  // wavelength ~ 2*pi*500000^(62/64) > 8192: full factor
  for (size_t i = 1; i < f.size(); i++) EXPECT_GE(f[i], f[i - 1]);
  // A frequency in the smooth band, computed by hand: i = 15 -> wavelength 2*pi*500000^(30/64).
  const double wavelen = 2 * M_PI * std::pow(500000.0, 30.0 / 64);
  ASSERT_GT(wavelen, 2048);
  ASSERT_LT(wavelen, 8192);
  const double smooth = (8192 / wavelen - 1) / 3;
  EXPECT_NEAR(f[15], 1 / ((1 - smooth) / 32 + smooth), 1e-5);
}

TEST(Presets, SameSeedSameBytesOtherSeedDiffers) {
  ProgressBar::set_enabled(false);
  for (const char* quant : {"Q4_0", "Q4_K_M"}) {
    const std::string a = temp_path("a.gguf"), b = temp_path("b.gguf"), c = temp_path("c.gguf");
    MakeModelOptions o;
    o.quant = quant;
    o.seed = 7;
    write_synthetic_model(find_preset("tiny-gemma2"), o, a);
    write_synthetic_model(find_preset("tiny-gemma2"), o, b);
    o.seed = 8;
    write_synthetic_model(find_preset("tiny-gemma2"), o, c);
    const std::vector<char> ba = read_bytes(a), bb = read_bytes(b), bc = read_bytes(c);
    EXPECT_GT(ba.size(), 100000u);
    EXPECT_TRUE(ba == bb) << quant;
    ASSERT_EQ(ba.size(), bc.size());
    EXPECT_FALSE(ba == bc) << quant;
    for (const auto& p : {a, b, c}) std::filesystem::remove(p);
  }
}

TEST(Presets, EveryTinyPresetLoadsWithItsFeatures) {
  ProgressBar::set_enabled(false);
  for (const ModelSpec& s : model_presets()) {
    if (s.preset.rfind("tiny-", 0) != 0) continue;
    const std::string path = temp_path(s.preset + ".gguf");
    MakeModelOptions o;
    o.quant = "Q8_0";
    write_synthetic_model(s, o, path);
    EXPECT_LT(std::filesystem::file_size(path), 8u << 20) << s.preset;
    const ModelWeights w = load_model_weights(path);
    const ModelConfig& c = w.config;
    EXPECT_EQ(c.arch->gguf_name, s.arch);
    EXPECT_EQ(c.n_layers, s.n_layers);
    EXPECT_EQ(c.dim, s.dim);
    EXPECT_EQ(c.n_heads, s.n_heads);
    EXPECT_EQ(c.n_kv_heads, s.n_kv_heads);
    EXPECT_EQ(c.head_dim, s.head_dim);
    EXPECT_EQ(c.ffn_dim, s.ffn_dim);
    EXPECT_EQ(c.vocab_size, s.vocab);
    EXPECT_EQ(c.tied_output, s.tied_output) << s.preset;
    EXPECT_EQ(c.has_rope_freqs, s.llama3_factor > 0) << s.preset;
    EXPECT_EQ(c.has_long_rope, s.long_rope_orig_context > 0) << s.preset;
    EXPECT_EQ(c.sliding_window, s.sliding_window) << s.preset;
    EXPECT_EQ(c.attn_softcap, s.attn_softcap);
    if (s.long_rope_orig_context > 0) {
      // Long factors beyond the original context, short ones within it.
      EXPECT_GT(w.rope_factors(s.long_rope_orig_context + 1).back(), 2.f);
      EXPECT_LT(w.rope_factors(s.long_rope_orig_context).back(), 1.1f);
      EXPECT_GT(c.rope_attn_factor, 1.f);
    }
    std::filesystem::remove(path);
  }
}

TEST(Presets, EnsurePresetModelCaches) {
  ProgressBar::set_enabled(false);
  const std::string dir = temp_path("cache");
  std::filesystem::remove_all(dir);
  const std::string path = ensure_preset_model("tiny-qwen3", "Q4_0", dir);
  EXPECT_EQ(path, dir + "/tiny-qwen3-Q4_0.gguf");
  const auto stamp = std::filesystem::last_write_time(path);
  EXPECT_EQ(ensure_preset_model("tiny-qwen3", "Q4_0", dir), path);
  EXPECT_EQ(std::filesystem::last_write_time(path), stamp);  // reused, not rewritten
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace wgllm
