// Views of a Report: the terminal table (the article's columns and ours), Markdown, and a
// self-contained HTML page whose charts are drawn by Chart.js inlined at generation time.
#pragma once
#include <string>
#include <vector>

#include "bench/report.h"

namespace wgllm::bench {

// Column headers and one row of cells per BenchRow (medians; the spread goes to JSON).
std::vector<std::string> table_header();
std::vector<std::vector<std::string>> table_cells(const Report& r);

std::string terminal_table(const Report& r);  // aligned columns, then adapters and notes
std::string markdown_report(const Report& r);

struct ChartLibrary {
  std::string path, version, source;  // chart.umd.js and its package.json version
};
// Finds Chart.js's UMD build: $WGLLM_CHARTJS, else node_modules/chart.js/dist/chart.umd.js under
// the source tree, the working directory or the executable's parent folders. Error naming every
// path tried and the npm command when none exists.
ChartLibrary find_chart_library();
std::string html_report(const Report& r, const ChartLibrary& chart);

// Human-readable numbers: "1.23 GiB", "412", "38.5", "0.85".
std::string format_bytes(double bytes);
std::string format_number(double v);

}  // namespace wgllm::bench
