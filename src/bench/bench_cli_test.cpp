// `wgllm bench` end to end on the adapter present (SwiftShader in CI): a tiny model, one
// repetition, and the three report files checked (JSON against the schema, Markdown table, HTML
// with the chart library and the data).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "bench/report.h"
#include "util/shell.h"

namespace {

namespace fs = std::filesystem;

using Result = wgllm::ShellResult;

// Runs a command line; stdout and stderr together.
Result run(const std::string& cmd) { return wgllm::run_shell(cmd + " 2>&1"); }

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(BenchCli, TinyModelWritesJsonMarkdownAndHtml) {
  const fs::path dir = fs::temp_directory_path() / ("wgllm_bench_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string cmd = "cd " + dir.string() + " && WGLLM_CACHE=" + (dir / "cache").string() + " " WGLLM_CLI +
                          " bench -m tiny-llama -p 16 -n 8 -r 1 --json r.json --md r.md --html r.html";
  const Result r = run(cmd);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("decode tok/s"), std::string::npos) << r.output;

  const nlohmann::json j = nlohmann::json::parse(slurp(dir / "r.json"));
  const std::vector<std::string> errors = wgllm::bench::validate_json(j, wgllm::bench::report_schema());
  EXPECT_TRUE(errors.empty()) << errors.front();
  ASSERT_EQ(j["rows"].size(), 1u);
  const nlohmann::json& row = j["rows"][0];
  EXPECT_EQ(row["model"], "tiny-llama");
  EXPECT_EQ(row["prompt_tokens"], 16);
  EXPECT_EQ(row["gen_tokens"], 8);
  ASSERT_EQ(row["token_latencies_ms"].size(), 1u);
  EXPECT_EQ(row["token_latencies_ms"][0].size(), 7u);  // decode steps after the first token
  EXPECT_GT(row["decode_tok_s"]["median"].get<double>(), 0);
  EXPECT_GT(row["ttft_ms"]["median"].get<double>(), 0);
  EXPECT_GT(row["peak_gpu_bytes"]["median"].get<double>(), row["weight_bytes"].get<double>() * 0.5);
  EXPECT_GT(row["roofline_share"]["median"].get<double>(), 0);
  EXPECT_GT(j["adapters"][0]["bandwidth"]["used_gbs"].get<double>(), 0);

  const std::string md = slurp(dir / "r.md");
  EXPECT_NE(md.find("| model | quant | adapter |"), std::string::npos) << md;
  EXPECT_NE(md.find("| tiny-llama | Q4_0 | "), std::string::npos) << md;

  const std::string html = slurp(dir / "r.html");
  EXPECT_NE(html.find("Chart.js"), std::string::npos);
  EXPECT_GT(html.size(), 150000u);  // the library itself is inlined, not linked
  EXPECT_EQ(html.find("<script src="), std::string::npos);
  EXPECT_NE(html.find("\"model_file\":"), std::string::npos);
  EXPECT_NE(html.find("new Chart("), std::string::npos);

  // --compare of a report with itself: every row matches, nothing beyond the spread.
  const Result c = run("cd " + dir.string() + " && " WGLLM_CLI " bench --compare r.json r.json");
  ASSERT_EQ(c.status, 0) << c.output;
  EXPECT_NE(c.output.find("tiny-llama Q4_0 | "), std::string::npos) << c.output;
  EXPECT_NE(c.output.find("  decode tok/s: "), std::string::npos) << c.output;
  EXPECT_EQ(c.output.find("\n* "), std::string::npos) << c.output;
  fs::remove_all(dir);
}

}  // namespace
