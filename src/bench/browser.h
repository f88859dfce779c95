// `wgllm bench --browser chromium`: the same benchmark in a browser, beside the native rows.
// The CLI serves the web bundle (scripts/build-web -> build-web/web) and the model files on
// 127.0.0.1, Node drives headless Chromium through playwright-core (web/playwright/
// bench_driver.mjs) on bench.html, and the browser's wgllm-bench/1 report is merged into the
// native one: its adapter is named "<device> in <browser>", and every browser row is compared
// with the native row of the same model and lengths (the browser's overhead as a ratio).
#pragma once
#include <string>
#include <vector>

#include "bench/report.h"
#include "bench/runner.h"

namespace wgllm::bench {

struct BrowserBenchOptions {
  std::string browser = "chromium";  // the only one supported: Debian's /usr/bin/chromium
  std::string bundle_dir;            // "" = $WGLLM_WEB_BUNDLE, else <source>/build-web/web
  double timeout_s = 3600;
};

// Runs the models of `native`'s rows (same files, same lengths and repetitions) in the browser and
// returns `native` with the browser's adapter and rows appended, and one note per compared row.
Report run_browser_benchmarks(const BenchOptions& options, const BrowserBenchOptions& browser, Report native);

// Browser-over-native ratios for each browser row with a native twin: "decode x0.52, TTFT x1.9".
std::vector<std::string> browser_overhead_notes(const Report& merged, int first_browser_adapter);

}  // namespace wgllm::bench
