#include "bench/stats.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "util/rng.h"

namespace wgllm::bench {
namespace {

TEST(BenchStats, SpreadOfOddAndEvenCounts) {
  Spread s = spread_of({5, 1, 3});
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.median, 3);
  EXPECT_EQ(s.max, 5);
  s = spread_of({4, 1, 3, 2});
  EXPECT_EQ(s.median, 2.5);
  EXPECT_EQ(spread_of({}).max, 0);
}

TEST(BenchStats, PercentileMatchesNumpyLinear) {
  EXPECT_DOUBLE_EQ(percentile({4, 3, 2, 1}, 50), 2.5);
  std::vector<double> ten{10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  EXPECT_NEAR(percentile(ten, 90), 9.1, 1e-12);
  EXPECT_DOUBLE_EQ(percentile(ten, 0), 1);
  EXPECT_DOUBLE_EQ(percentile(ten, 100), 10);
  EXPECT_DOUBLE_EQ(percentile({7}, 90), 7);
}

TEST(BenchStats, PercentileOfRandomDataIsOrderedAndBounded) {
  Rng rng(42);
  std::vector<double> v(101);
  for (double& x : v) x = rng.uniform() * 100 + 1;
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  // 101 values: p-th percentile is exactly the p-th sorted value.
  for (int p = 0; p <= 100; p += 10) EXPECT_DOUBLE_EQ(percentile(v, p), sorted[size_t(p)]);
  EXPECT_DOUBLE_EQ(spread_of(v).median, sorted[50]);
}

TEST(BenchStats, BeyondSpreadOnlyWhenRangesDoNotOverlap) {
  EXPECT_FALSE(beyond_spread({10, 11, 12}, {11.5, 12.5, 13}));
  EXPECT_TRUE(beyond_spread({10, 11, 12}, {12.5, 13, 14}));
  EXPECT_TRUE(beyond_spread({10, 11, 12}, {7, 8, 9.9}));
}

}  // namespace
}  // namespace wgllm::bench
