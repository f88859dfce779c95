// Timing loop, byte accounting and the matrix, with a scripted target and the CPU reference.
#include "bench/measure.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "bench/matrix.h"
#include "model/presets.h"
#include "util/error.h"
#include "util/rng.h"

namespace wgllm::bench {
namespace {

// A target whose next token is a fixed function of the last one, counting its calls.
class ScriptedTarget : public BenchTarget {
 public:
  void reset() override { resets++; }
  int prefill(std::span<const int> prompt, double* s) override {
    *s = 1e-3;
    prefill_len = int(prompt.size());
    return (prompt.back() * 31 + 7) % 1000;
  }
  int decode(int token) override { return (token * 31 + 7) % 1000; }
  int resets = 0, prefill_len = 0;
};

TEST(BenchMeasure, RandomPromptIsSeededAndNeverZero) {
  const std::vector<int> a = random_prompt(500, 50, 7), b = random_prompt(500, 50, 7), c = random_prompt(500, 50, 8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::vector<int> seen(50, 0);
  for (int id : a) {
    ASSERT_GE(id, 1);
    ASSERT_LT(id, 50);
    seen[size_t(id)]++;
  }
  for (int id = 1; id < 50; ++id) EXPECT_GT(seen[size_t(id)], 0) << id;  // 500 draws cover 49 ids
}

TEST(BenchMeasure, RunGeneratesExactlyNTokensFromAnEmptyCache) {
  ScriptedTarget t;
  const std::vector<int> prompt = random_prompt(12, 1000, 3);
  const RunTiming r = time_run(t, prompt, 9);
  EXPECT_EQ(t.resets, 1);
  EXPECT_EQ(t.prefill_len, 12);
  ASSERT_EQ(r.tokens.size(), 9u);
  ASSERT_EQ(r.step_s.size(), 8u);
  int want = (prompt.back() * 31 + 7) % 1000;
  for (int tok : r.tokens) {
    EXPECT_EQ(tok, want);
    want = (want * 31 + 7) % 1000;
  }
  EXPECT_GE(r.ttft_s, 0);
  EXPECT_EQ(r.prefill_s, 1e-3);
}

TEST(BenchMeasure, SummaryFollowsTheDefinitions) {
  Rng rng(11);
  std::vector<RunTiming> reps(3);
  for (RunTiming& r : reps) {
    r.ttft_s = 0.01 + 0.01 * rng.uniform();
    r.prefill_s = 0.005 + 0.005 * rng.uniform();
    for (int i = 0; i < 15; ++i) r.step_s.push_back(0.002 + 0.002 * rng.uniform());
    r.peak_bytes = 1000 + rng.below(100);
  }
  BenchRow row;
  row.prompt_tokens = 64;
  row.decode_read_bytes = 2e6;
  summarize(reps, 10.0, true, row);
  std::vector<double> decode, ttft, p90;
  for (const RunTiming& r : reps) {
    double total = 0;
    std::vector<double> ms;
    for (double s : r.step_s) total += s, ms.push_back(s * 1e3);
    decode.push_back(15 / total);
    ttft.push_back(r.ttft_s * 1e3);
    p90.push_back(percentile(ms, 90));
  }
  EXPECT_DOUBLE_EQ(row.decode_tok_s.median, spread_of(decode).median);
  EXPECT_DOUBLE_EQ(row.decode_tok_s.min, spread_of(decode).min);
  EXPECT_DOUBLE_EQ(row.ttft_ms.max, spread_of(ttft).max);
  EXPECT_DOUBLE_EQ(row.p90_ms.median, spread_of(p90).median);
  ASSERT_TRUE(row.roofline_share && row.peak_gpu_bytes);
  EXPECT_DOUBLE_EQ(row.roofline_share->median, 2e6 * spread_of(decode).median / 10e9);
  EXPECT_EQ(row.repetitions, 3);
  ASSERT_EQ(row.token_latencies_ms.size(), 3u);
  EXPECT_DOUBLE_EQ(row.token_latencies_ms[1][4], reps[1].step_s[4] * 1e3);
}

TEST(BenchMeasure, DecodeBytesCountWeightsAndTheKvInUse) {
  ModelConfig c;
  c.n_layers = 3, c.n_kv_heads = 2, c.head_dim = 16;  // kv_dim 32
  EXPECT_EQ(kv_bytes_per_token(c, 2), 2u * 3 * 32 * 2);
  // prompt 10, gen 5: decode steps at positions 10..13 read 11..14 entries: mean 12.5.
  EXPECT_DOUBLE_EQ(decode_read_bytes(c, 1000, 2, 10, 5), 1000 + 12.5 * (2 * 32 * 2) * 3);
  // A sliding window of 12 on layer 1 caps its entries at 12: 11, 12, 12, 12.
  c.sliding_window = 12;
  c.layer_sliding = {false, true, false};
  EXPECT_DOUBLE_EQ(decode_read_bytes(c, 1000, 2, 10, 5), 1000 + (2 * 12.5 + 11.75) * (2 * 32 * 2));
}

TEST(BenchMatrix, DefaultsDependOnTheAdapter) {
  const Matrix gpu = plan_matrix({}, false);
  ASSERT_EQ(gpu.models.size(), 5u);
  EXPECT_EQ(gpu.models[0].label(), "llama3-8b Q4_0");
  EXPECT_EQ(gpu.models[1].label(), "llama3-8b Q4_K_M");
  EXPECT_EQ(gpu.prompt_lengths, (std::vector<int>{128, 512, 4096}));
  EXPECT_EQ(gpu.gen_tokens, 128);
  EXPECT_EQ(gpu.defaults, "gpu");
  EXPECT_TRUE(gpu.notes.empty());
  const Matrix cpu = plan_matrix({}, true);
  EXPECT_EQ(cpu.defaults, "cpu-adapter");
  EXPECT_EQ(cpu.models[0].preset, "tiny-llama");
  EXPECT_EQ(cpu.prompt_lengths, kCpuAdapterPromptLengths);
  EXPECT_EQ(cpu.notes.size(), 3u);  // models, prompt lengths and generated tokens all said
  EXPECT_EQ(expand(gpu).size(), 15u);  // 5 models x 3 prompt lengths
}

TEST(BenchMatrix, ExplicitModelsQuantsAndLengths) {
  MatrixRequest req;
  req.models = {"tiny-llama", "gemma-2b"};
  req.quants = {"Q4_0", "Q8_0"};
  req.prompt_lengths = {16, 32, 64};
  req.gen_tokens = 8;
  const Matrix m = plan_matrix(req, true);
  ASSERT_EQ(m.models.size(), 4u);
  EXPECT_EQ(m.models[3].label(), "gemma-2b Q8_0");
  EXPECT_TRUE(m.notes.empty());
  const std::vector<BenchCase> cases = expand(m);
  ASSERT_EQ(cases.size(), 12u);
  EXPECT_EQ(cases[4].model, 1u);
  EXPECT_EQ(cases[4].prompt_tokens, 32);
  try {
    plan_matrix({{"no-such-model"}, {}, {}, 0}, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown preset 'no-such-model' (presets: llama3-8b"), std::string::npos);
  }
  EXPECT_THROW(plan_matrix({{"/missing/model.gguf"}, {}, {}, 0}, false), Error);
  // A bad --quant fails here, before any adapter is probed, with or without -m.
  for (const std::vector<std::string>& models : {std::vector<std::string>{}, std::vector<std::string>{"tiny-llama"}}) {
    try {
      plan_matrix({models, {"Q4_0", "Q9_X"}, {}, 0}, false);
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), "unknown quantization 'Q9_X' (one of: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, "
                                       "Q8_0, Q4_K_M, Q5_K_M, Q6_K)");
    }
  }
  EXPECT_THROW(plan_matrix({{"tiny-llama"}, {}, {16}, 1}, false), Error);
}

TEST(BenchMeasure, CpuReferenceRunsRepeatIdentically) {
  const std::string dir = (std::filesystem::temp_directory_path() / "wgllm_bench_measure_test").string();
  const std::string file = ensure_preset_model("tiny-llama", "Q8_0", dir);
  BackendOptions bo;
  bo.max_context = 64;
  std::unique_ptr<Backend> b = open_backend("cpu", file, bo);
  BackendTarget t(*b);
  const std::vector<int> prompt = random_prompt(20, b->config().vocab_size, 5);
  const RunTiming r1 = time_run(t, prompt, 6), r2 = time_run(t, prompt, 6);
  EXPECT_EQ(r1.tokens, r2.tokens);  // reset() empties the cache: same work, same tokens
  // The same greedy sequence, stepped by hand on a fresh backend.
  std::unique_ptr<Backend> fresh = open_backend("cpu", file, bo);
  std::vector<int> want{argmax(fresh->eval(prompt, false))};
  while (want.size() < 6) want.push_back(argmax(fresh->decode(want.back())));
  EXPECT_EQ(r1.tokens, want);
  EXPECT_GT(r1.ttft_s, 0);
}

}  // namespace
}  // namespace wgllm::bench
