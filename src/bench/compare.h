// `wgllm bench --compare a.json b.json`: the change of each metric per matching row (same model,
// quant, adapter, backend, prompt and generated length), flagged where it is beyond the runs'
// own spread (the two min..max ranges do not overlap).
#pragma once
#include <string>
#include <vector>

#include "bench/report.h"

namespace wgllm::bench {

struct MetricChange {
  std::string metric;
  Spread a, b;
  double change = 0;           // (b - a) / a of the medians
  bool higher_is_better = true;
  bool beyond_spread = false;  // ranges do not overlap
  bool better() const { return higher_is_better ? b.median > a.median : b.median < a.median; }
};

struct RowComparison {
  std::string key;  // "llama3-8b Q4_0 | NVIDIA H100 | webgpu | p512 n128"
  std::vector<MetricChange> metrics;
};

struct Comparison {
  std::vector<RowComparison> rows;
  std::vector<std::string> only_in_a, only_in_b;
};

std::string row_key(const Report& r, const BenchRow& row);
Comparison compare_reports(const Report& a, const Report& b);
// A table: one line per row and metric, "*" marking changes beyond the spread.
std::string format_comparison(const Comparison& c, const std::string& name_a, const std::string& name_b);

}  // namespace wgllm::bench
