// Summary statistics for benchmark repetitions and per-token latencies.
#pragma once
#include <vector>

namespace wgllm::bench {

// The spread of one metric over the repetitions of a case.
struct Spread {
  double min = 0, median = 0, max = 0;
};

// min/median/max of `values` (median of an even count: mean of the middle two). Empty -> zeros.
Spread spread_of(std::vector<double> values);

// The p-th percentile (0..100) with linear interpolation between closest ranks (numpy's
// default): p50 of {1,2,3,4} is 2.5, p90 of 1..10 is 9.1. Empty -> 0.
double percentile(std::vector<double> values, double p);

// Whether two spreads' [min, max] ranges do not overlap: a change beyond the runs' own noise.
bool beyond_spread(const Spread& a, const Spread& b);

}  // namespace wgllm::bench
