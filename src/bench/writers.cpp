#include "bench/writers.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/error.h"

#ifndef WGLLM_SOURCE_DIR
#define WGLLM_SOURCE_DIR "."
#endif

namespace wgllm::bench {

namespace fs = std::filesystem;

std::string format_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", b, units[u]);
  return buf;
}

std::string format_number(double v) {
  char buf[32];
  const double a = std::fabs(v);
  std::snprintf(buf, sizeof buf, a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : "%.2f", v);
  return buf;
}

std::vector<std::string> table_header() {
  return {"model", "quant", "adapter", "backend", "prompt", "gen", "decode tok/s", "TTFT ms", "prefill tok/s",
          "p50/p90 ms", "peak mem", "load s", "roofline %"};
}

std::vector<std::vector<std::string>> table_cells(const Report& r) {
  std::vector<std::vector<std::string>> out;
  for (const BenchRow& w : r.rows) {
    out.push_back({w.model, w.quant, adapter_name(r, w), w.backend, std::to_string(w.prompt_tokens),
                   std::to_string(w.gen_tokens), format_number(w.decode_tok_s.median), format_number(w.ttft_ms.median),
                   format_number(w.prefill_tok_s.median),
                   format_number(w.p50_ms.median) + " / " + format_number(w.p90_ms.median),
                   w.peak_gpu_bytes ? format_bytes(w.peak_gpu_bytes->median) : "n/a",
                   w.load_s > 0 ? format_number(w.load_s) : "n/a",
                   w.roofline_share ? format_number(w.roofline_share->median * 100) : "n/a"});
  }
  return out;
}

static std::vector<std::string> adapter_lines(const Report& r) {
  std::vector<std::string> out;
  for (size_t i = 0; i < r.adapters.size(); ++i) {
    const AdapterRecord& a = r.adapters[i];
    std::string f;
    if (a.shader_f16) f += " shader-f16";
    if (a.subgroups) f += " subgroups";
    if (a.subgroup_matrix) f += " subgroup-matrix";
    if (a.timestamp_query) f += " timestamp-query";
    if (!a.prefill_gemm.empty()) f += cat("; prefill GEMM on ", a.prefill_gemm);
    if (!a.dawn_toggles.empty()) {
      f += "; Dawn toggles";
      for (const std::string& t : a.dawn_toggles) f += " " + t;
    }
    if (a.validation_off) f += " (Dawn validation and robustness checks OFF: benchmark mode)";
    out.push_back(cat("adapter ", i, ": ", a.device, " (", a.type, ", ", a.backend, ", vendor ", a.vendor,
                      a.driver.empty() ? "" : ", driver " + a.driver, "); features:", f.empty() ? " none" : f,
                      "; bandwidth: copy ", format_number(a.copy_gbs), " GB/s, read ", format_number(a.read_gbs),
                      " GB/s (roofline uses ", format_number(a.used_gbs()), ")"));
  }
  return out;
}

static std::string run_line(const Report& r) {
  return cat("wgllm ", r.engine_version, " (", r.git_sha, "), ", r.os_name, " ", r.os_release, " ", r.machine,
             ", ", r.created, "; backend ", r.backend, ", ", r.repetitions, " repetitions after ", r.warmup_runs,
             " warm-up, medians shown; random prompts (seed ", r.seed, "), greedy, stop tokens ignored");
}

std::string terminal_table(const Report& r) {
  const std::vector<std::string> head = table_header();
  const std::vector<std::vector<std::string>> cells = table_cells(r);
  std::vector<size_t> width(head.size());
  for (size_t c = 0; c < head.size(); ++c) {
    width[c] = head[c].size();
    for (const auto& row : cells) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& v) {
    std::string s;
    for (size_t c = 0; c < v.size(); ++c) {
      const bool left = c < 4;  // text columns left, numbers right
      const std::string pad(width[c] - v[c].size(), ' ');
      s += (c ? "  " : "") + (left ? v[c] + pad : pad + v[c]);
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + "\n";
  };
  std::string out = line(head);
  size_t total = 0;
  for (size_t w : width) total += w + 2;
  out += std::string(total - 2, '-') + "\n";
  for (const auto& row : cells) out += line(row);
  out += "\n" + run_line(r) + "\n";
  for (const std::string& s : adapter_lines(r)) out += s + "\n";
  for (const std::string& n : r.notes) out += "note: " + n + "\n";
  return out;
}

std::string markdown_report(const Report& r) {
  std::string out = "# wgllm bench\n\n" + run_line(r) + "\n\n";
  const std::vector<std::string> head = table_header();
  auto row = [](const std::vector<std::string>& v) {
    std::string s = "|";
    for (const std::string& c : v) s += " " + c + " |";
    return s + "\n";
  };
  out += row(head);
  std::string sep = "|";
  for (size_t c = 0; c < head.size(); ++c) sep += c < 4 ? "---|" : "---:|";
  out += sep + "\n";
  for (const auto& cells : table_cells(r)) out += row(cells);
  out += "\n";
  for (const std::string& s : adapter_lines(r)) out += "- " + s + "\n";
  for (const std::string& n : r.notes) out += "- note: " + n + "\n";
  out += "\nSpread (min .. max over the repetitions) of decode tok/s and TTFT:\n\n";
  for (const BenchRow& w : r.rows)
    out += cat("- ", w.model, " ", w.quant, " on ", adapter_name(r, w), ", prompt ", w.prompt_tokens, ": decode ",
               format_number(w.decode_tok_s.min), " .. ", format_number(w.decode_tok_s.max), " tok/s, TTFT ",
               format_number(w.ttft_ms.min), " .. ", format_number(w.ttft_ms.max), " ms\n");
  return out;
}

static std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

ChartLibrary find_chart_library() {
  const fs::path rel = fs::path("node_modules") / "chart.js" / "dist" / "chart.umd.js";
  std::vector<fs::path> tries;
  if (const char* env = std::getenv("WGLLM_CHARTJS"); env && *env) tries.push_back(env);
  tries.push_back(fs::path(WGLLM_SOURCE_DIR) / rel);
  tries.push_back(fs::current_path() / rel);
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  for (fs::path d = exe.parent_path(); !ec && !d.empty() && d != d.root_path(); d = d.parent_path()) tries.push_back(d / rel);
  std::string tried;
  for (const fs::path& p : tries) {
    if (!fs::is_regular_file(p, ec)) {
      tried += "\n  " + p.string();
      continue;
    }
    ChartLibrary lib{p.string(), "unknown", read_text(p)};
    const fs::path pkg = p.parent_path().parent_path() / "package.json";
    if (fs::is_regular_file(pkg, ec)) {
      const nlohmann::json j = nlohmann::json::parse(read_text(pkg), nullptr, false);
      if (j.is_object() && j.contains("version") && j["version"].is_string()) lib.version = j["version"];
    }
    // The source map comment would point at a file the page does not carry.
    if (size_t at = lib.source.rfind("//# sourceMappingURL="); at != std::string::npos) lib.source.resize(at);
    return lib;
  }
  fail("--html needs Chart.js (npm package chart.js): not found at", tried,
       "\ninstall it with `npm install chart.js@4.5.1` in the source tree (scripts/setup does), or set WGLLM_CHARTJS");
}

static std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

// A <script> body must not contain "</script"; JSON and the library are escaped accordingly.
static std::string script_safe(std::string s) {
  for (size_t at = 0; (at = s.find("</", at)) != std::string::npos; at += 3) s.replace(at, 2, "<\\/");
  return s;
}

// Draws the three charts from the embedded report (runs in the browser).
static const char* kChartsScript = R"JS(
const R = JSON.parse(document.getElementById('report-data').textContent);
const adapterName = (row) => row.adapter_name;
const label = (row) => `${row.model} ${row.quant} @ ${adapterName(row)} (${row.backend}) p${row.prompt_tokens}`;
const palette = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const color = (i) => palette[i % palette.length];
const spreadBars = (key, scale) => R.rows.map((row) => row[key] ? row[key].median * scale : null);
new Chart(document.getElementById('chart-toks'), {
  type: 'bar',
  data: {
    labels: R.rows.map(label),
    datasets: [
      {label: 'decode tok/s (median)', data: spreadBars('decode_tok_s', 1), backgroundColor: color(0)},
      {label: 'prefill tok/s (median, right axis)', data: spreadBars('prefill_tok_s', 1), backgroundColor: color(1), yAxisID: 'y2'},
    ],
  },
  options: {responsive: true, scales: {y: {title: {display: true, text: 'decode tok/s'}},
            y2: {position: 'right', grid: {drawOnChartArea: false}, title: {display: true, text: 'prefill tok/s'}}}},
});
new Chart(document.getElementById('chart-latency'), {
  type: 'line',
  data: {
    labels: Array.from({length: Math.max(0, ...R.rows.map((r) => r.token_latencies_ms[0].length))}, (_, i) => i + 2),
    datasets: R.rows.map((row, i) => {
      // The repetition whose decode speed is the median one.
      const reps = row.token_latencies_ms.map((ms) => [ms.reduce((a, b) => a + b, 0), ms]).sort((a, b) => a[0] - b[0]);
      return {label: label(row), data: reps[Math.floor(reps.length / 2)][1], borderColor: color(i), pointRadius: 0, borderWidth: 1.5};
    }),
  },
  options: {responsive: true, scales: {x: {title: {display: true, text: 'generated token #'}},
            y: {title: {display: true, text: 'ms per token'}, beginAtZero: true}}},
});
new Chart(document.getElementById('chart-roofline'), {
  type: 'bar',
  data: {
    labels: R.rows.map(label),
    datasets: [{label: 'share of measured bandwidth (%)', data: spreadBars('roofline_share', 100), backgroundColor: color(2)}],
  },
  options: {indexAxis: 'y', responsive: true, scales: {x: {min: 0, max: 100, title: {display: true, text: '% of roofline'}}}},
});
)JS";

std::string html_report(const Report& r, const ChartLibrary& chart) {
  std::string table = "<table>\n<tr>";
  for (const std::string& h : table_header()) table += "<th>" + html_escape(h) + "</th>";
  table += "</tr>\n";
  for (const auto& row : table_cells(r)) {
    table += "<tr>";
    for (const std::string& c : row) table += "<td>" + html_escape(c) + "</td>";
    table += "</tr>\n";
  }
  table += "</table>\n";
  std::string info;
  for (const std::string& s : adapter_lines(r)) info += "<li>" + html_escape(s) + "</li>\n";
  for (const std::string& n : r.notes) info += "<li>note: " + html_escape(n) + "</li>\n";
  std::string out =
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>wgllm bench</title>\n"
      "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:nth-child(-n+4),th{text-align:left}"
      ".chart{position:relative;margin:1em 0 3em}</style>\n</head>\n<body>\n<h1>wgllm bench</h1>\n<p>" +
      html_escape(run_line(r)) + "</p>\n<ul>\n" + info + "</ul>\n" + table +
      "<h2>Tokens per second</h2>\n<div class=\"chart\"><canvas id=\"chart-toks\"></canvas></div>\n"
      "<h2>Latency per token over the generation</h2>\n<div class=\"chart\"><canvas id=\"chart-latency\"></canvas></div>\n"
      "<h2>Share of the memory-bandwidth roofline (decode)</h2>\n"
      "<div class=\"chart\"><canvas id=\"chart-roofline\"></canvas></div>\n"
      "<script>/* Chart.js " + chart.version + " (MIT license), inlined from " + html_escape(chart.path) + " */\n" +
      script_safe(chart.source) + "\n</script>\n<script id=\"report-data\" type=\"application/json\">" +
      script_safe(to_json(r).dump()) + "</script>\n<script>" + kChartsScript + "</script>\n</body>\n</html>\n";
  return out;
}

}  // namespace wgllm::bench
