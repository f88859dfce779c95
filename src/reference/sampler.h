// Token sampling: repetition penalty, then the filters top-k, top-p, min-p on the probabilities
// at temperature 1, then temperature, then a seeded draw (llama.cpp's default order). Same
// seed, same logits, same history -> the same tokens on every platform.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "util/rng.h"

namespace wgllm {

struct SamplerParams {
  float temperature = 0.8f;    // <= 0: greedy (argmax after the penalty, lowest id on ties)
  int top_k = 40;              // keep the k most likely tokens (<= 0: all)
  float top_p = 0.95f;         // keep the smallest set whose probability reaches p (>= 1: all)
  float min_p = 0.05f;         // drop tokens below min_p * p(most likely) (<= 0: none)
  float repeat_penalty = 1.0f; // CTRL-style: seen tokens' logits divided (if > 0) or multiplied
  int repeat_last_n = 64;      // how many recent tokens the penalty looks at
  uint64_t seed = 0;
};

struct TokenProb {
  int id;
  float p;
};

class Sampler {
 public:
  explicit Sampler(SamplerParams params) : params_(params), rng_(params.seed) {}

  // The distribution the next draw uses: surviving tokens, most likely first (ties: lower id
  // first), probabilities summing to 1. Greedy: the single argmax token with p = 1.
  std::vector<TokenProb> distribution(std::span<const float> logits, std::span<const int> history) const;
  // Draws one token (advances the random stream only when not greedy).
  int sample(std::span<const float> logits, std::span<const int> history = {});

  const SamplerParams& params() const { return params_; }

 private:
  SamplerParams params_;
  Rng rng_;
};

}  // namespace wgllm
