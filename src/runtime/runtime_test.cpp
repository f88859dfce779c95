// End to end: the WebGPU forward pass against the CPU reference (the specification) for every
// tiny preset and the quantizations people download, on the adapter at hand (SwiftShader in CI).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <cstdlib>

#include "kernels/test_support.h"
#include "model/presets.h"
#include "reference/forward.h"
#include "runtime/webgpu_backend.h"
#include "util/progress.h"
#include "util/rng.h"

namespace wgllm::runtime {
namespace {

// Logits may differ by f16 KV-cache rounding and summation order, nothing more.
constexpr double kLogitsNmseBound = 1e-4;

// Models are generated once per test process into a fresh folder (never a stale file from an
// earlier build of the generator) and removed at exit.
const std::filesystem::path& model_dir() {
  struct Dir {
    std::filesystem::path path;
    Dir() {
      std::string tmpl = (std::filesystem::temp_directory_path() / "wgllm-runtime-test-XXXXXX").string();
      if (!::mkdtemp(tmpl.data())) throw Error("cannot create a temporary folder");
      path = tmpl;
    }
    ~Dir() { std::filesystem::remove_all(path); }
  };
  static Dir dir;
  return dir.path;
}

std::string model_path(const std::string& preset, const std::string& quant) {
  const auto& dir = model_dir();
  const std::string path = (dir / (preset + "-" + quant + ".gguf")).string();
  if (!std::filesystem::exists(path)) {
    MakeModelOptions opts;
    opts.quant = quant;
    opts.seed = 7;
    opts.progress = false;
    write_synthetic_model(find_preset(preset), opts, path);
  }
  return path;
}

gpu::Context& shared_context() {
  static std::unique_ptr<gpu::Context> ctx = gpu::Context::create({});
  return *ctx;
}

using kernels::testing::nmse;

std::vector<int> random_prompt(int n, int vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<int> t(n);
  for (auto& x : t) x = int(rng.below(uint64_t(vocab)));
  return t;
}

struct Case {
  std::string preset, quant;
};

class EndToEnd : public ::testing::TestWithParam<Case> {};

TEST_P(EndToEnd, LogitsMatchReferenceAndGreedyTokensAgree) {
  ProgressBar::set_enabled(false);
  const Case c = GetParam();
  const std::string path = model_path(c.preset, c.quant);
  ref::Transformer cpu(path, 64);
  GpuTransformerOptions opts;
  opts.max_context = 64;
  opts.max_batch = 8;  // a 17-token prompt crosses batch boundaries
  opts.progress = false;
  opts.quantize_activations = 0;  // the exact path; int8 activations are checked below
  GpuTransformer gpu(shared_context(), load_model_weights(path), opts);
  const int vocab = cpu.config().vocab_size;

  // Every position's logits over a 17-token prompt.
  const std::vector<int> prompt = random_prompt(17, vocab, 11);
  const std::vector<float> ref = cpu.forward_tokens(prompt, 0, true);
  const std::vector<float> got = gpu.forward(prompt, 0, true);
  ASSERT_EQ(got.size(), ref.size());
  for (float v : got) ASSERT_TRUE(std::isfinite(v));
  const double e = nmse(got, ref);
  EXPECT_LT(e, kLogitsNmseBound) << c.preset << " " << c.quant;

  // The prompt's last-token logits alone (what generation uses) are the same last row.
  const std::vector<float> last = gpu.forward(prompt, 0, false);
  ASSERT_EQ(last.size(), size_t(vocab));
  EXPECT_LT(nmse(last, std::vector<float>(ref.end() - vocab, ref.end())), kLogitsNmseBound) << c.preset << " " << c.quant;

  // Greedy decoding for 16 steps, both fed the reference's token each step (so one near-tie does
  // not make the rest of the sequences incomparable): the GPU's argmax must be the reference's,
  // except where the reference's own logits put the two tokens closer than the GPU's measured
  // logit error allows to tell apart (4 RMS errors, from the prompt's NMSE): such a near-tie of
  // random weights is reported, and at most 2 of 16 are accepted.
  auto argmax = [&](const std::vector<float>& l) {
    return int(std::max_element(l.end() - vocab, l.end()) - (l.end() - vocab));
  };
  double ref2 = 0;
  for (float v : ref) ref2 += double(v) * v;
  const double tie = 4 * std::sqrt(e * ref2 / double(ref.size()));
  std::vector<int> cpu_tokens, gpu_tokens;
  int ties = 0;
  int t = argmax(ref);
  std::vector<float> ref_step(ref.end() - vocab, ref.end());
  for (int i = 0; i < 16; ++i) {
    const int pos = 17 + i;
    const int t_gpu = i == 0 ? argmax(got) : gpu.forward_greedy(t, pos - 1);
    const int t_cpu = argmax(ref_step);
    cpu_tokens.push_back(t_cpu);
    gpu_tokens.push_back(t_gpu);
    if (t_gpu != t_cpu) {
      const double gap = double(ref_step[t_cpu]) - ref_step[t_gpu];
      EXPECT_LT(gap, tie) << c.preset << " " << c.quant << " step " << i << ": GPU token " << t_gpu << " is " << gap
                          << " below the reference's " << t_cpu << " (logits NMSE " << e << ")";
      std::printf("note: %s %s step %d: a near-tie of the reference's logits (gap %.3g, tie margin %.3g): GPU %d, reference %d\n",
                  c.preset.c_str(), c.quant.c_str(), i, gap, tie, t_gpu, t_cpu);
      ++ties;
    }
    t = t_cpu;
    ref_step = cpu.forward(t, pos);
  }
  EXPECT_LE(ties, 2) << c.preset << " " << c.quant << ": GPU " << ::testing::PrintToString(gpu_tokens) << ", reference "
                     << ::testing::PrintToString(cpu_tokens);
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const char* preset : {"tiny-llama", "tiny-mistral", "tiny-qwen2", "tiny-qwen3", "tiny-phi3", "tiny-gemma", "tiny-gemma2"})
    for (const char* quant : {"Q4_0", "Q4_K_M", "Q8_0", "F16"}) cases.push_back({preset, quant});
  // Q5_0 / Q5_1: what Q4_K_M / Q5_K_M files hold for rows not a multiple of 256 (the tiny
  // presets' rows all are, so these files are Q5 throughout).
  cases.push_back({"tiny-qwen2", "Q5_0"});
  cases.push_back({"tiny-llama", "Q5_1"});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(TinyPresets, EndToEnd, ::testing::ValuesIn(all_cases()), [](const auto& info) {
  std::string n = info.param.preset + "_" + info.param.quant;
  for (auto& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
});

// Int8 activations for the decode matvecs (Q4_0 / Q4_K / Q5_0 / Q6_K / Q8_0 weights, the output
// matvec, the attention writing its output quantized; llama's Q4_K_M: RoPE in the q | k matvec and
// in the Q6_K v matvec of its first layer; the GPU default; measured here: worst
// step NMSE 4e-4..7e-4, argmax agreeing at 15-16 of 16 steps): every decode step's logits stay
// within 2e-3 NMSE of the reference's and the argmax agrees at 14 of 16 steps or more.
TEST(EndToEndQuantizedActivations, DecodeLogitsStayCloseToTheReference) {
  ProgressBar::set_enabled(false);
  for (auto [preset, quant] :
       {std::pair{"tiny-llama", "Q4_0"}, std::pair{"tiny-llama", "Q4_K_M"}, std::pair{"tiny-phi3", "Q4_K_M"},
        std::pair{"tiny-qwen2", "Q5_0"}}) {
    const std::string path = model_path(preset, quant);
    ref::Transformer cpu(path, 40);
    GpuTransformerOptions opts;
    opts.max_context = 40;
    opts.progress = false;
    opts.quantize_activations = 1;
    GpuTransformer gpu(shared_context(), load_model_weights(path), opts);
    const int vocab = cpu.config().vocab_size;
    const std::vector<int> tokens = random_prompt(16, vocab, 3);
    double worst = 0;
    int agree = 0;
    for (int pos = 0; pos < 16; ++pos) {  // token by token: every step is a one-token decode
      const std::vector<float> ref = cpu.forward(tokens[pos], pos);
      const std::vector<float> got = gpu.forward(std::span<const int>(&tokens[pos], 1), pos, false);
      worst = std::max(worst, nmse(got, ref));
      agree += std::max_element(got.begin(), got.end()) - got.begin() == std::max_element(ref.begin(), ref.end()) - ref.begin();
    }
    std::printf("%s: worst decode-step logits NMSE %.2e, argmax agreement %d/16\n", preset, worst, agree);
    EXPECT_LT(worst, 2e-3) << preset;
    EXPECT_GE(agree, 14) << preset;
  }
}

TEST(EndToEndLimits, TensorsLargerThanOneBindingRunAndMatch) {
  ProgressBar::set_enabled(false);
  const std::string path = model_path("tiny-llama", "Q4_0");
  gpu::ContextOptions small;
  small.max_binding_size_override = 16 << 10;  // every large tensor splits into several chunks
  auto ctx = gpu::Context::create(small);
  GpuTransformerOptions opts;
  opts.max_context = 32;
  opts.progress = false;
  opts.quantize_activations = 0;  // the exact path, so the bound checks the chunking alone
  GpuTransformer gpu(*ctx, load_model_weights(path), opts);
  ref::Transformer cpu(path, 32);
  const std::vector<int> prompt = random_prompt(9, cpu.config().vocab_size, 5);
  EXPECT_LT(nmse(gpu.forward(prompt, 0, true), cpu.forward_tokens(prompt, 0, true)), kLogitsNmseBound);
}

TEST(EndToEndLimits, FullContextIsAClearError) {
  ProgressBar::set_enabled(false);
  GpuTransformerOptions opts;
  opts.max_context = 8;
  opts.progress = false;
  GpuTransformer gpu(shared_context(), load_model_weights(model_path("tiny-llama", "Q4_0")), opts);
  const std::vector<int> prompt = random_prompt(9, gpu.config().vocab_size, 1);
  try {
    gpu.forward(prompt, 0, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context full: 0 + 9 tokens exceed the KV cache of 8 tokens"), std::string::npos)
        << e.what();
  }
}

// The prefill step size: the largest of 512 / 256 / 128 tokens whose activations stay within 1/16
// of the weights (llama3-8b at Q4_0: 155 MB of 4.65 GB -> 512; llama3.2-1b: 84 MB of 763 MB is
// too much, 42 MB at 256 is not), an option or $WGLLM_PREFILL_BATCH over that, the context above all.
TEST(PrefillBatch, ChosenByTheActivationsShareOfTheWeights) {
  ASSERT_EQ(std::getenv("WGLLM_PREFILL_BATCH"), nullptr) << "the test sets it itself";
  ModelConfig big;
  big.dim = 4096, big.n_heads = 32, big.n_kv_heads = 8, big.head_dim = 128, big.ffn_dim = 14336, big.vocab_size = 128256;
  ModelConfig small;
  small.dim = 2048, small.n_heads = 32, small.n_kv_heads = 8, small.head_dim = 64, small.ffn_dim = 8192,
  small.vocab_size = 128256;
  GpuTransformerOptions opts;
  EXPECT_EQ(prefill_batch(big, 4653375488ull, opts, 4096), 512);
  EXPECT_EQ(prefill_batch(small, 763097216ull, opts, 4096), 256);
  EXPECT_EQ(prefill_batch(small, 100000000ull, opts, 4096), 128);  // never below 128 by this rule
  EXPECT_EQ(prefill_batch(big, 4653375488ull, opts, 300), 300);    // the context caps it
  opts.max_batch = 8;
  EXPECT_EQ(prefill_batch(big, 4653375488ull, opts, 4096), 8);
  opts.max_batch = 0;
  ::setenv("WGLLM_PREFILL_BATCH", "64", 1);
  EXPECT_EQ(prefill_batch(big, 4653375488ull, opts, 4096), 64);
  ::unsetenv("WGLLM_PREFILL_BATCH");
}

}  // namespace
}  // namespace wgllm::runtime
