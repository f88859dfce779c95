// Reports: schema validation, JSON round trip, the Markdown/HTML/terminal views, --compare.
#include "bench/report.h"

#include <gtest/gtest.h>

#include "bench/compare.h"
#include "bench/writers.h"
#include "util/error.h"
#include "util/rng.h"

namespace wgllm::bench {
namespace {

Spread random_spread(Rng& rng, double scale) {
  const double lo = (0.5 + rng.uniform()) * scale;
  return {lo, lo * (1 + 0.05 * rng.uniform()), lo * (1.1 + 0.05 * rng.uniform())};
}

Report random_report(uint64_t seed, int n_rows) {
  Rng rng(seed);
  Report r;
  r.engine_version = "0.1.0", r.git_sha = "abc1234", r.created = "2026-11-23T10:00:00Z";
  r.os_name = "Linux", r.os_release = "6.1", r.os_version = "#1 SMP", r.machine = "x86_64";
  r.prompt_lengths = {16, 64}, r.gen_tokens = 8, r.repetitions = 3, r.seed = 99, r.backend = "webgpu";
  r.defaults = "explicit";
  r.notes = {"a note with </script> inside"};
  AdapterRecord a;
  a.vendor = "google", a.device = "SwiftShader Device (Subzero)", a.driver = "SwiftShader driver", a.backend = "Vulkan";
  a.type = "CPU", a.library = "libwebgpu_wrapper.so", a.subgroups = true, a.timestamp_query = true;
  a.subgroup_min_size = 4, a.subgroup_max_size = 4;
  a.dawn_toggles = {"vulkan_enable_f16_on_nvidia", "allow_unsafe_apis"}, a.prefill_gemm = "f16 subgroup matrices";
  a.copy_gbs = 5 + rng.uniform(), a.read_gbs = 6 + rng.uniform(), a.bandwidth_buffer_bytes = 32 << 20;
  r.adapters.push_back(a);
  const char* models[] = {"tiny-llama", "tiny-gemma", "tiny-phi3"};
  for (int i = 0; i < n_rows; ++i) {
    BenchRow w;
    w.model = models[i % 3], w.preset = w.model, w.model_file = "/cache/" + w.model + "-Q4_0.gguf";
    w.arch = "llama", w.quant = "Q4_0", w.file_bytes = 1000000 + rng.below(1000), w.adapter = 0;
    w.backend = "webgpu", w.prompt_tokens = i % 2 ? 64 : 16, w.gen_tokens = 8, w.repetitions = 3;
    w.weight_bytes = 900000 + rng.below(1000), w.kv_bytes_per_token = 4096, w.decode_read_bytes = 950000.5;
    w.ttft_ms = random_spread(rng, 20), w.prefill_tok_s = random_spread(rng, 500);
    w.decode_tok_s = random_spread(rng, 100), w.p50_ms = random_spread(rng, 10), w.p90_ms = random_spread(rng, 12);
    w.peak_gpu_bytes = random_spread(rng, 3e6), w.roofline_share = random_spread(rng, 0.2);
    w.load_s = 0.01 + rng.uniform() * 0.01, w.load_gbs = 0.1, w.load_wall_s = 0.5;
    for (int rep = 0; rep < 3; ++rep) {
      std::vector<double> ms;
      for (int t = 0; t < 7; ++t) ms.push_back(5 + 10 * rng.uniform());
      w.token_latencies_ms.push_back(ms);
    }
    r.rows.push_back(w);
  }
  return r;
}

TEST(BenchReport, GeneratedReportValidatesAgainstTheSchema) {
  const nlohmann::json j = to_json(random_report(1, 4));
  const std::vector<std::string> errors = validate_json(j, report_schema());
  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_EQ(j["schema"], "wgllm-bench/1");
  EXPECT_EQ(j["rows"].size(), 4u);
}

TEST(BenchReport, ValidatorNamesEachViolation) {
  nlohmann::json j = to_json(random_report(2, 2));
  j["rows"][1].erase("ttft_ms");
  j["rows"][0]["decode_tok_s"]["median"] = "fast";
  j["adapters"][0]["bandwidth"]["copy_gbs"] = -1;
  j["settings"]["backend"] = "metal";
  j["host"]["extra"] = 1;
  j["schema"] = "wgllm-bench/0";
  const std::vector<std::string> e = validate_json(j, report_schema());
  const std::vector<std::string> want = {
      "$.adapters[0].bandwidth.copy_gbs: -1 is below the minimum 0",
      "$.host: unexpected key 'extra'",
      "$.rows[0].decode_tok_s.median: expected number, found string",
      "$.rows[1]: missing required key 'ttft_ms'",
      "$.schema: must be \"wgllm-bench/1\"",
      "$.settings.backend: \"metal\" is not one of [\"webgpu\",\"cpu\"]",
  };
  EXPECT_EQ(e, want);
}

TEST(BenchReport, JsonRoundTripIsExact) {
  const Report r = random_report(3, 5);
  const nlohmann::json j = to_json(r);
  const Report back = report_from_json(j, "r.json");
  EXPECT_EQ(to_json(back), j);
  // Null spreads (the CPU reference backend) survive too.
  Report cpu = r;
  cpu.rows[0].peak_gpu_bytes.reset();
  cpu.rows[0].roofline_share.reset();
  cpu.rows[0].adapter = -1;
  cpu.rows[0].backend = "cpu";
  const nlohmann::json jc = to_json(cpu);
  EXPECT_TRUE(validate_json(jc, report_schema()).empty());
  EXPECT_TRUE(jc["rows"][0]["roofline_share"].is_null());
  EXPECT_EQ(to_json(report_from_json(jc, "c.json")), jc);
}

// Reports written before the Dawn toggles and the prefill GEMM were recorded still read.
TEST(BenchReport, ReportsWithoutTogglesOrGemmStillRead) {
  nlohmann::json j = to_json(random_report(5, 1));
  j["adapters"][0]["features_used"].erase("dawn_toggles");
  j["adapters"][0]["features_used"].erase("prefill_gemm");
  EXPECT_TRUE(validate_json(j, report_schema()).empty());
  const Report back = report_from_json(j, "old.json");
  EXPECT_TRUE(back.adapters[0].dawn_toggles.empty());
  EXPECT_EQ(back.adapters[0].prefill_gemm, "");
  EXPECT_EQ(to_json(random_report(5, 1))["adapters"][0]["features_used"]["prefill_gemm"], "f16 subgroup matrices");
}

TEST(BenchReport, ReaderNamesTheMissingKey) {
  nlohmann::json j = to_json(random_report(4, 1));
  j["rows"][0].erase("p90_ms");
  try {
    report_from_json(j, "old.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "old.json.rows[0]: missing key 'p90_ms'");
  }
}

TEST(BenchWriters, TerminalAndMarkdownTablesCarryEveryRow) {
  const Report r = random_report(5, 3);
  const std::string md = markdown_report(r);
  EXPECT_NE(md.find("| model | quant | adapter | backend | prompt | gen | decode tok/s | TTFT ms | prefill tok/s | "
                    "p50/p90 ms | peak mem | load s | roofline % |"),
            std::string::npos)
      << md;
  const std::string term = terminal_table(r);
  for (const BenchRow& w : r.rows) {
    const std::string decode = format_number(w.decode_tok_s.median);
    const std::string ttft = format_number(w.ttft_ms.median);
    const std::string md_row = "| " + w.model + " | Q4_0 | SwiftShader Device (Subzero) | webgpu | " +
                               std::to_string(w.prompt_tokens) + " | 8 | " + decode + " | " + ttft + " | ";
    EXPECT_NE(md.find(md_row), std::string::npos) << md_row << "\n" << md;
    EXPECT_NE(term.find(decode), std::string::npos);
  }
  EXPECT_NE(term.find("note: a note with </script> inside"), std::string::npos);
  EXPECT_EQ(format_bytes(3.5 * 1024 * 1024 * 1024), "3.50 GiB");
  EXPECT_EQ(format_number(412.4), "412");
  EXPECT_EQ(format_number(38.46), "38.5");
  EXPECT_EQ(format_number(0.854), "0.85");
}

TEST(BenchWriters, HtmlInlinesTheChartLibraryAndTheData) {
  const Report r = random_report(6, 2);
  const ChartLibrary lib{"/x/chart.umd.js", "9.9.9", "window.Chart = function FAKE_CHART_LIBRARY() {};"};
  const std::string html = html_report(r, lib);
  EXPECT_NE(html.find("FAKE_CHART_LIBRARY"), std::string::npos);
  EXPECT_NE(html.find("Chart.js 9.9.9"), std::string::npos);
  EXPECT_NE(html.find("new Chart(document.getElementById('chart-latency')"), std::string::npos);
  // Exactly three script closings: library, data, charts (the note's </script> was escaped).
  size_t closes = 0;
  for (size_t at = 0; (at = html.find("</script>", at)) != std::string::npos; ++at) ++closes;
  EXPECT_EQ(closes, 3u);
  // The embedded data is the report itself.
  const std::string open = "<script id=\"report-data\" type=\"application/json\">";
  const size_t a = html.find(open) + open.size();
  const nlohmann::json data = nlohmann::json::parse(html.substr(a, html.find("</script>", a) - a));
  EXPECT_EQ(data, to_json(r));
}

TEST(BenchCompare, FlagsOnlyChangesBeyondTheSpread) {
  const Report a = random_report(7, 3);
  Report b = a;
  // Row 0: decode 1.5x faster (ranges apart); row 1: within its own spread; row 2 only in a.
  Spread& d0 = b.rows[0].decode_tok_s;
  d0 = {d0.min * 1.5, d0.median * 1.5, d0.max * 1.5};
  Spread& d1 = b.rows[1].decode_tok_s;
  d1.median = (d1.min + d1.median) / 2;
  b.rows[2].prompt_tokens = 999;
  const Comparison c = compare_reports(a, b);
  ASSERT_EQ(c.rows.size(), 2u);
  EXPECT_EQ(c.rows[0].metrics[0].metric, "decode tok/s");
  EXPECT_TRUE(c.rows[0].metrics[0].beyond_spread);
  EXPECT_TRUE(c.rows[0].metrics[0].better());
  EXPECT_NEAR(c.rows[0].metrics[0].change, 0.5, 1e-12);
  EXPECT_FALSE(c.rows[1].metrics[0].beyond_spread);
  EXPECT_LT(c.rows[1].metrics[0].change, 0);
  for (size_t m = 1; m < c.rows[0].metrics.size(); ++m) EXPECT_FALSE(c.rows[0].metrics[m].beyond_spread);
  ASSERT_EQ(c.only_in_a.size(), 1u);
  EXPECT_EQ(c.only_in_a[0], row_key(a, a.rows[2]));
  ASSERT_EQ(c.only_in_b.size(), 1u);
  EXPECT_EQ(c.only_in_b[0], "tiny-phi3 Q4_0 | SwiftShader Device (Subzero) | webgpu | p999 n8");
  const std::string text = format_comparison(c, "a.json", "b.json");
  EXPECT_NE(text.find("* decode tok/s: "), std::string::npos) << text;
  EXPECT_NE(text.find("(+50.0%, better)"), std::string::npos) << text;
}

}  // namespace
}  // namespace wgllm::bench
