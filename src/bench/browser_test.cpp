// The browser/native comparison of `wgllm bench --browser`: each browser row is set beside the
// native row of the same model file and lengths, as ratios of the medians.
#include "bench/browser.h"

#include <gtest/gtest.h>

#include "bench/writers.h"
#include "util/rng.h"

namespace wgllm::bench {
namespace {

BenchRow row(const std::string& file, int adapter, int prompt, double decode, double prefill, double ttft) {
  BenchRow w;
  w.model = "tiny-llama", w.model_file = file, w.adapter = adapter, w.backend = "webgpu";
  w.prompt_tokens = prompt, w.gen_tokens = 8;
  w.decode_tok_s.median = decode, w.prefill_tok_s.median = prefill, w.ttft_ms.median = ttft;
  return w;
}

TEST(BrowserBench, OverheadNotesPairBrowserRowsWithTheirNativeTwin) {
  Rng rng(7);
  Report r;
  r.adapters.resize(2);
  r.adapters[0].device = "SwiftShader Device (Subzero)";
  r.adapters[1].device = "google swiftshader in Chromium 156";
  const double d = 10 + 10 * rng.uniform(), p = 100 + 50 * rng.uniform(), t = 50 + 50 * rng.uniform();
  r.rows = {row("/m/a.gguf", 0, 16, d, p, t), row("/m/a.gguf", 0, 64, d, p, t), row("/m/b.gguf", 0, 16, d, p, t),
            row("/m/a.gguf", 1, 16, d / 2, p / 4, t * 3), row("/m/c.gguf", 1, 16, d, p, t)};
  const std::vector<std::string> notes = browser_overhead_notes(r, 1);
  ASSERT_EQ(notes.size(), 1u);  // c.gguf has no native twin; native rows make no note
  EXPECT_EQ(notes[0],
            "browser/native, tiny-llama prompt 16 gen 8 (google swiftshader in Chromium 156 vs SwiftShader Device "
            "(Subzero)): decode tok/s x" + format_number(0.5) + ", prefill tok/s x" + format_number(0.25) +
                ", TTFT x" + format_number(3.0));
}

}  // namespace
}  // namespace wgllm::bench
