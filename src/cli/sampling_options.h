// Sampling options `run` and `chat` share. A value the sampler would quietly reinterpret is
// refused by name instead (a negative top-k would mean "all tokens", a negative temperature
// "greedy"). The server's parser (src/server/openai.cpp) is stricter where OpenAI's API is:
// temperature <= 2 there, any non-negative value here, as in llama.cpp.
#pragma once
#include <CLI/CLI.hpp>

#include "cli/option_checks.h"
#include "reference/sampler.h"

namespace wgllm::cli {

inline void add_sampling_options(CLI::App& sub, SamplerParams& s) {
  sub.add_option("--temp", s.temperature, "Temperature (0 = greedy)")->capture_default_str()->check(in_range(0));
  sub.add_option("--top-k", s.top_k, "Top-k (0 = off)")->capture_default_str()->check(in_range(0));
  sub.add_option("--top-p", s.top_p, "Top-p (1 = off)")->capture_default_str()->check(in_range(0, 1));
  sub.add_option("--min-p", s.min_p, "Min-p (0 = off)")->capture_default_str()->check(in_range(0, 1));
  sub.add_option("--repeat-penalty", s.repeat_penalty, "Repetition penalty (1 = off)")
      ->capture_default_str()
      ->check(in_range(0, kNoLimit, true));
  sub.add_option("--repeat-last-n", s.repeat_last_n, "Tokens the penalty looks back over")
      ->capture_default_str()
      ->check(in_range(0));
  sub.add_option("--seed", s.seed, "Sampling seed")->capture_default_str();
}

}  // namespace wgllm::cli
