// Timing one benchmark case on any backend: random prompt in, first token id out (TTFT), then
// greedy decode of exactly N tokens with stop tokens ignored; one clock read per synchronized
// step. Summaries follow the shared BENCHMARKS.md definitions.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "bench/report.h"
#include "model/config.h"
#include "reference/backend.h"

namespace wgllm::bench {

// A model loaded on a backend, ready to run. Every call returns a token id on the CPU, so the
// work it submitted has finished when it returns.
class BenchTarget {
 public:
  virtual ~BenchTarget() = default;
  virtual void reset() = 0;  // empties the KV cache
  // Feeds the prompt and returns the first (greedy) token; *prefill_s: time until the logits
  // were on the CPU (the caller's clock covers the sampling too).
  virtual int prefill(std::span<const int> prompt, double* prefill_s) = 0;
  virtual int decode(int token) = 0;  // next greedy token
  virtual void reset_peak() {}
  virtual bool has_peak() const { return false; }
  virtual uint64_t peak_bytes() const { return 0; }
};

// Any Backend through eval(): greedy argmax on the CPU (lowest id on ties).
class BackendTarget : public BenchTarget {
 public:
  explicit BackendTarget(Backend& b) : b_(b) {}
  void reset() override { b_.reset(); }
  int prefill(std::span<const int> prompt, double* prefill_s) override;
  int decode(int token) override;

 private:
  Backend& b_;
};

int argmax(std::span<const float> logits);

// `n` token ids uniform in [1, vocab) from `seed` (never all zeros, never token 0).
std::vector<int> random_prompt(int n, int vocab, uint64_t seed);

struct RunTiming {
  double ttft_s = 0, prefill_s = 0;
  std::vector<double> step_s;  // each decode step after the first token (gen - 1 of them)
  std::vector<int> tokens;     // all generated ids, the first included
  uint64_t peak_bytes = 0;
};
// One run from an empty cache: exactly `gen` tokens.
RunTiming time_run(BenchTarget& t, std::span<const int> prompt, int gen);

// Bytes one decode step reads on average over the run's decode steps: weights once plus the KV
// entries attention reads (positions so far, capped by the window on sliding layers).
double decode_read_bytes(const ModelConfig& c, uint64_t weight_bytes, int kv_elem_bytes, int prompt, int gen);
uint64_t kv_bytes_per_token(const ModelConfig& c, int kv_elem_bytes);

// Fills the row's metrics from its repetitions: roofline when bandwidth_gbs > 0, peak GPU bytes
// when the target counts them.
void summarize(const std::vector<RunTiming>& reps, double bandwidth_gbs, bool has_peak, BenchRow& row);

}  // namespace wgllm::bench
