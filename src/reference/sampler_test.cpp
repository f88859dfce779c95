// The sampler: exact kept sets and probabilities for each filter, computed independently.
#include "reference/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace wgllm {
namespace {

SamplerParams plain(float temp) {
  SamplerParams p;
  p.temperature = temp;
  p.top_k = 0;
  p.top_p = 1.f;
  p.min_p = 0.f;
  p.repeat_penalty = 1.f;
  return p;
}

std::vector<int> ids(const std::vector<TokenProb>& d) {
  std::vector<int> out;
  for (const TokenProb& t : d) out.push_back(t.id);
  return out;
}

// Logits whose softmax is exactly known: p_i proportional to w_i.
const std::vector<float> kLogits = {std::log(1.f), std::log(4.f), std::log(2.f), std::log(8.f), std::log(5.f)};
// probabilities (total 20): id3 .40, id4 .25, id1 .20, id2 .10, id0 .05

TEST(Sampler, GreedyPicksArgmaxLowestIdOnTies) {
  Sampler s(plain(0.f));
  EXPECT_EQ(s.sample(kLogits), 3);
  const std::vector<float> tie = {0.5f, 2.f, -1.f, 2.f};
  EXPECT_EQ(s.sample(tie), 1);
  EXPECT_EQ(ids(s.distribution(tie, {})), std::vector<int>{1});
}

TEST(Sampler, FullDistributionAtTemperatureOne) {
  const std::vector<TokenProb> d = Sampler(plain(1.f)).distribution(kLogits, {});
  EXPECT_EQ(ids(d), (std::vector<int>{3, 4, 1, 2, 0}));
  const float want[] = {0.40f, 0.25f, 0.20f, 0.10f, 0.05f};
  for (int i = 0; i < 5; i++) EXPECT_NEAR(d[i].p, want[i], 1e-6);
}

TEST(Sampler, TemperatureSharpens) {
  // T = 0.5 squares the weights: 64, 25, 16, 4, 1 (total 110).
  const std::vector<TokenProb> d = Sampler(plain(0.5f)).distribution(kLogits, {});
  EXPECT_NEAR(d[0].p, 64.0 / 110, 1e-6);
  EXPECT_NEAR(d[4].p, 1.0 / 110, 1e-6);
}

TEST(Sampler, TopK) {
  SamplerParams p = plain(1.f);
  p.top_k = 2;
  const std::vector<TokenProb> d = Sampler(p).distribution(kLogits, {});
  EXPECT_EQ(ids(d), (std::vector<int>{3, 4}));
  EXPECT_NEAR(d[0].p, 8.0 / 13, 1e-6);
}

TEST(Sampler, TopPKeepsSmallestPrefixReachingP) {
  SamplerParams p = plain(1.f);
  p.top_p = 0.6f;  // .40 < .6, .65 >= .6 -> two tokens
  EXPECT_EQ(ids(Sampler(p).distribution(kLogits, {})), (std::vector<int>{3, 4}));
  p.top_p = 0.66f;  // .65 < .66 -> three
  EXPECT_EQ(ids(Sampler(p).distribution(kLogits, {})), (std::vector<int>{3, 4, 1}));
}

TEST(Sampler, MinPRelativeToBest) {
  SamplerParams p = plain(1.f);
  p.min_p = 0.45f;  // keep p >= 0.18: ids 3, 4, 1 (id 2 has 0.10)
  const std::vector<TokenProb> d = Sampler(p).distribution(kLogits, {});
  EXPECT_EQ(ids(d), (std::vector<int>{3, 4, 1}));
  EXPECT_NEAR(d[2].p, 4.0 / 17, 1e-6);
}

TEST(Sampler, RepetitionPenaltyDividesPositiveMultipliesNegative) {
  SamplerParams p = plain(1.f);
  p.repeat_penalty = 2.f;
  const std::vector<float> logits = {2.f, -1.f, 1.5f, 0.5f};
  // Token 0 (2 -> 1) and 1 (-1 -> -2) were seen (token 0 twice: penalised once).
  const std::vector<int> history = {0, 1, 0};
  const std::vector<TokenProb> d = Sampler(p).distribution(logits, history);
  EXPECT_EQ(ids(d), (std::vector<int>{2, 0, 3, 1}));
  const double total = std::exp(1.5) + std::exp(1.0) + std::exp(0.5) + std::exp(-2.0);
  EXPECT_NEAR(d[1].p, std::exp(1.0) / total, 1e-6);
  EXPECT_NEAR(d[3].p, std::exp(-2.0) / total, 1e-6);
  p.repeat_last_n = 1;  // only the last token (0) counts
  EXPECT_NEAR(Sampler(p).distribution(logits, history)[3].p,
              std::exp(-1.0) / (std::exp(1.5) + std::exp(1.0) + std::exp(0.5) + std::exp(-1.0)), 1e-6);
}

TEST(Sampler, SeededDrawsAreDeterministicAndFollowTheDistribution) {
  SamplerParams p = plain(1.f);
  p.seed = 42;
  Sampler a(p), b(p);
  std::map<int, int> counts;
  const int n = 20000;
  std::vector<int> seq_a, seq_b;
  for (int i = 0; i < n; i++) {
    seq_a.push_back(a.sample(kLogits));
    seq_b.push_back(b.sample(kLogits));
    counts[seq_a.back()]++;
  }
  EXPECT_EQ(seq_a, seq_b);
  const double want[] = {0.05, 0.20, 0.10, 0.40, 0.25};
  for (int id = 0; id < 5; id++) EXPECT_NEAR(counts[id] / double(n), want[id], 0.015) << id;
  p.seed = 43;
  Sampler c(p);
  std::vector<int> seq_c;
  for (int i = 0; i < n; i++) seq_c.push_back(c.sample(kLogits));
  EXPECT_NE(seq_a, seq_c);
}

}  // namespace
}  // namespace wgllm
