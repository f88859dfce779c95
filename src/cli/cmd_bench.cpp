// `wgllm bench`: the benchmark matrix (models x prompt lengths x generated tokens x adapters)
// with the article's table on stdout, progress on stderr, and --json/--md/--html reports;
// `--compare a.json b.json` and `--kernels -m MODEL` are its two other modes.
#include <cstdio>
#include <fstream>
#include <memory>

#include "bench/browser.h"
#include "bench/compare.h"
#include "bench/runner.h"
#include "bench/writers.h"
#include "cli/command.h"
#include "cli/gpu_options.h"
#include "cli/option_checks.h"
#include "cli/version.h"
#include "util/error.h"

namespace wgllm::cli {
namespace {

struct BenchArgs {
  bench::BenchOptions run;
  std::vector<std::string> compare;
  bool kernels = false;
  int kernel_steps = 8;
  std::string json, md, html;
  std::string browser;  // --browser chromium: the same runs in the browser, merged
};

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (!out || !out.write(text.data(), std::streamsize(text.size()))) fail("cannot write ", path);
}

void bench_main(BenchArgs& a) {
  if (!a.compare.empty()) {
    if (a.compare.size() != 2) fail("--compare takes two report files (a.json b.json)");
    const bench::Report ra = bench::read_report(a.compare[0]), rb = bench::read_report(a.compare[1]);
    std::fputs(bench::format_comparison(bench::compare_reports(ra, rb), a.compare[0], a.compare[1]).c_str(), stdout);
    return;
  }
  if (a.kernels) {
    if (a.run.matrix.models.size() != 1) fail("--kernels needs exactly one -m MODEL (a file or a preset)");
    bench::KernelBenchOptions k;
    k.model = a.run.matrix.models[0];
    if (!a.run.matrix.quants.empty()) k.quant = a.run.matrix.quants[0];
    if (!a.run.matrix.prompt_lengths.empty()) k.prompt_tokens = a.run.matrix.prompt_lengths[0];
    k.decode_steps = a.kernel_steps;
    k.gpu = a.run.gpu;
    k.cache_dir = a.run.cache_dir;
    std::fputs(bench::kernel_benchmark(k).c_str(), stdout);
    return;
  }
  // Chart.js is needed only for --html: find it before spending minutes on the runs.
  std::unique_ptr<bench::ChartLibrary> chart;
  if (!a.html.empty()) chart = std::make_unique<bench::ChartLibrary>(bench::find_chart_library());
  a.run.engine_version = WGLLM_VERSION;
  a.run.git_sha = WGLLM_GIT_SHA;
  bench::Report report = bench::run_benchmarks(a.run);
  if (!a.browser.empty()) report = bench::run_browser_benchmarks(a.run, {a.browser}, std::move(report));
  const nlohmann::json j = bench::to_json(report);
  const std::vector<std::string> errors = bench::validate_json(j, bench::report_schema());
  if (!errors.empty()) fail("internal: the report does not match its schema: ", errors.front());
  std::fputs(bench::terminal_table(report).c_str(), stdout);
  if (!a.json.empty()) write_file(a.json, j.dump(1) + "\n");
  if (!a.md.empty()) write_file(a.md, bench::markdown_report(report));
  if (!a.html.empty()) write_file(a.html, bench::html_report(report, *chart));
}

Command bench_command("bench", "Benchmark decode/prefill speed, TTFT, latency, memory and roofline share", [](CLI::App& sub) {
  auto a = std::make_shared<BenchArgs>();
  bench::BenchOptions& o = a->run;
  sub.add_option("-m,--model", o.matrix.models,
                 "GGUF file or preset name (repeatable; default: the article's four shapes at Q4 on a GPU, tiny "
                 "presets on a CPU adapter)");
  sub.add_option("--quant", o.matrix.quants, "Quantization(s) of preset models, e.g. Q4_0,Q4_K_M (default Q4_0)")
      ->delimiter(',');
  sub.add_option("-p,--prompt-lengths", o.matrix.prompt_lengths, "Prompt lengths in tokens (default 128,512,4096; shorter on a CPU adapter)")
      ->delimiter(',')
      ->check(in_range(1));
  sub.add_option("-n,--gen", o.matrix.gen_tokens, "Tokens to generate (default 128; fewer on a CPU adapter)")
      ->check(in_range(1));
  sub.add_option("-r,--reps", o.reps, "Timed repetitions after one warm-up (median, min, max)")
      ->capture_default_str()
      ->check(in_range(1));
  sub.add_option("--backend", o.backend, "webgpu, or cpu (the reference; tiny models only)")->capture_default_str();
  sub.add_option("--seed", o.seed, "Seed of the random prompts")->capture_default_str();
  sub.add_option("--cache", o.cache_dir, "Folder of generated preset models (default $WGLLM_CACHE or ~/.cache/wgllm/models)");
  sub.add_option("--adapters", o.adapters,
                 "Adapters to run on, comma separated (auto, discrete, integrated, cpu, part of a name), or 'all'")
      ->delimiter(',');
  sub.add_option("--json", a->json, "Write the report as JSON (schema wgllm-bench/1)");
  sub.add_option("--md", a->md, "Write the report as Markdown");
  sub.add_option("--html", a->html, "Write a self-contained HTML report with charts (Chart.js inlined)");
  sub.add_option("--compare", a->compare, "Compare two JSON reports: a.json b.json")->expected(2);
  sub.add_option("--browser", a->browser,
                 "Also run in a headless browser (chromium; needs scripts/build-web) and add its rows beside the "
                 "native ones, with the browser/native ratios");
  sub.add_flag("--kernels", a->kernels, "Time every kernel of one model (-m) with timestamp queries");
  sub.add_option("--kernel-steps", a->kernel_steps, "Decode steps timed by --kernels")
      ->capture_default_str()
      ->check(in_range(1));
  add_gpu_options(sub, o.gpu);
  sub.callback([a] { bench_main(*a); });
});

}  // namespace
}  // namespace wgllm::cli
