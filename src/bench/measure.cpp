#include "bench/measure.h"

#include <algorithm>
#include <chrono>

#include "util/error.h"
#include "util/rng.h"

namespace wgllm::bench {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
}  // namespace

int argmax(std::span<const float> logits) {
  if (logits.empty()) fail("argmax of empty logits");
  return int(std::max_element(logits.begin(), logits.end()) - logits.begin());  // first max: lowest id
}

int BackendTarget::prefill(std::span<const int> prompt, double* prefill_s) {
  const auto t0 = Clock::now();
  const std::vector<float> logits = b_.eval(prompt, false);
  *prefill_s = seconds_since(t0);
  return argmax(logits);
}

int BackendTarget::decode(int token) { return argmax(b_.decode(token)); }

std::vector<int> random_prompt(int n, int vocab, uint64_t seed) {
  if (vocab < 2) fail("random prompt: vocabulary of ", vocab, " tokens is too small");
  Rng rng(seed);
  std::vector<int> ids(size_t(std::max(n, 0)));
  for (int& id : ids) id = 1 + int(rng.below(uint64_t(vocab - 1)));
  return ids;
}

RunTiming time_run(BenchTarget& t, std::span<const int> prompt, int gen) {
  RunTiming r;
  t.reset();
  t.reset_peak();
  auto t0 = Clock::now();
  int token = t.prefill(prompt, &r.prefill_s);
  r.ttft_s = seconds_since(t0);
  r.tokens.push_back(token);
  r.step_s.reserve(size_t(gen));
  for (int i = 1; i < gen; ++i) {  // stop tokens ignored: exactly `gen` tokens
    t0 = Clock::now();
    token = t.decode(token);
    r.step_s.push_back(seconds_since(t0));
    r.tokens.push_back(token);
  }
  r.peak_bytes = t.peak_bytes();
  return r;
}

uint64_t kv_bytes_per_token(const ModelConfig& c, int kv_elem_bytes) {
  return 2ull * uint64_t(c.n_layers) * uint64_t(c.kv_dim()) * uint64_t(kv_elem_bytes);
}

double decode_read_bytes(const ModelConfig& c, uint64_t weight_bytes, int kv_elem_bytes, int prompt, int gen) {
  // Decode steps feed positions prompt .. prompt+gen-2; the step at position p attends to p+1 entries.
  const double per_entry = 2.0 * double(c.kv_dim()) * kv_elem_bytes;  // K and V of one layer
  double kv = 0;
  for (int p = prompt; p <= prompt + gen - 2; ++p)
    for (int l = 0; l < c.n_layers; ++l) {
      const bool sliding = c.sliding_window > 0 && size_t(l) < c.layer_sliding.size() && c.layer_sliding[size_t(l)];
      kv += per_entry * double(sliding ? std::min(p + 1, c.sliding_window) : p + 1);
    }
  const int steps = std::max(gen - 1, 1);
  return double(weight_bytes) + kv / steps;
}

void summarize(const std::vector<RunTiming>& reps, double bandwidth_gbs, bool has_peak, BenchRow& row) {
  std::vector<double> ttft, prefill, decode, p50, p90, peak, roof;
  row.token_latencies_ms.clear();
  for (const RunTiming& r : reps) {
    ttft.push_back(r.ttft_s * 1e3);
    prefill.push_back(row.prompt_tokens / std::max(r.prefill_s, 1e-12));
    double total = 0;
    std::vector<double> ms;
    for (double s : r.step_s) total += s, ms.push_back(s * 1e3);
    const double tok_s = r.step_s.empty() ? 0 : double(r.step_s.size()) / std::max(total, 1e-12);
    decode.push_back(tok_s);
    p50.push_back(percentile(ms, 50));
    p90.push_back(percentile(ms, 90));
    peak.push_back(double(r.peak_bytes));
    if (bandwidth_gbs > 0) roof.push_back(row.decode_read_bytes * tok_s / (bandwidth_gbs * 1e9));
    row.token_latencies_ms.push_back(std::move(ms));
  }
  row.repetitions = int(reps.size());
  row.ttft_ms = spread_of(ttft);
  row.prefill_tok_s = spread_of(prefill);
  row.decode_tok_s = spread_of(decode);
  row.p50_ms = spread_of(p50);
  row.p90_ms = spread_of(p90);
  if (!roof.empty()) row.roofline_share = spread_of(roof);
  if (has_peak) row.peak_gpu_bytes = spread_of(peak);
}

}  // namespace wgllm::bench
