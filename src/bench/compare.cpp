#include "bench/compare.h"

#include <cmath>
#include <map>

#include "bench/writers.h"
#include "util/error.h"

namespace wgllm::bench {

std::string row_key(const Report& r, const BenchRow& row) {
  return cat(row.model, " ", row.quant, " | ", adapter_name(r, row), " | ", row.backend, " | p", row.prompt_tokens, " n",
             row.gen_tokens);
}

Comparison compare_reports(const Report& a, const Report& b) {
  std::map<std::string, const BenchRow*> in_b;
  for (const BenchRow& row : b.rows) in_b[row_key(b, row)] = &row;
  Comparison c;
  std::map<std::string, bool> matched;
  for (const BenchRow& ra : a.rows) {
    const std::string key = row_key(a, ra);
    auto it = in_b.find(key);
    if (it == in_b.end()) {
      c.only_in_a.push_back(key);
      continue;
    }
    matched[key] = true;
    const BenchRow& rb = *it->second;
    RowComparison rc{key, {}};
    auto add = [&](const char* name, const Spread& x, const Spread& y, bool higher_better) {
      MetricChange m{name, x, y, 0, higher_better, beyond_spread(x, y)};
      m.change = x.median != 0 ? (y.median - x.median) / x.median : 0;
      rc.metrics.push_back(m);
    };
    add("decode tok/s", ra.decode_tok_s, rb.decode_tok_s, true);
    add("TTFT ms", ra.ttft_ms, rb.ttft_ms, false);
    add("prefill tok/s", ra.prefill_tok_s, rb.prefill_tok_s, true);
    add("p50 ms", ra.p50_ms, rb.p50_ms, false);
    add("p90 ms", ra.p90_ms, rb.p90_ms, false);
    if (ra.peak_gpu_bytes && rb.peak_gpu_bytes) add("peak GPU bytes", *ra.peak_gpu_bytes, *rb.peak_gpu_bytes, false);
    auto pct = [](const Spread& x) { return Spread{x.min * 100, x.median * 100, x.max * 100}; };
    if (ra.roofline_share && rb.roofline_share) add("roofline %", pct(*ra.roofline_share), pct(*rb.roofline_share), true);
    c.rows.push_back(std::move(rc));
  }
  for (const BenchRow& rb : b.rows)
    if (!matched.count(row_key(b, rb))) c.only_in_b.push_back(row_key(b, rb));
  return c;
}

std::string format_comparison(const Comparison& c, const std::string& name_a, const std::string& name_b) {
  std::string out = cat("comparing ", name_a, " (a) -> ", name_b, " (b): medians, change, min..max of each;\n",
                        "(* = beyond the runs' spread: the min..max ranges do not overlap)\n");
  for (const RowComparison& row : c.rows) {
    out += "\n" + row.key + "\n";
    for (const MetricChange& m : row.metrics) {
      const bool bytes = m.metric == "peak GPU bytes";
      auto num = [&](double v) { return bytes ? format_bytes(v) : format_number(v); };
      char pct[32];
      std::snprintf(pct, sizeof pct, "%+.1f%%", m.change * 100);
      out += cat(m.beyond_spread ? "* " : "  ", m.metric, ": ", num(m.a.median), " -> ", num(m.b.median), " (", pct,
                 m.beyond_spread ? (m.better() ? ", better" : ", worse") : "", ")  a ", num(m.a.min), "..",
                 num(m.a.max), ", b ", num(m.b.min), "..", num(m.b.max), "\n");
    }
  }
  for (const std::string& k : c.only_in_a) out += "\nonly in a: " + k;
  for (const std::string& k : c.only_in_b) out += "\nonly in b: " + k;
  if (!c.only_in_a.empty() || !c.only_in_b.empty()) out += "\n";
  return out;
}

}  // namespace wgllm::bench
