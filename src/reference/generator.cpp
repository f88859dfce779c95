#include "reference/generator.h"

#include <algorithm>
#include <chrono>

#include "util/error.h"

namespace wgllm {

GenerationStats generate(Backend& backend, Sampler& sampler, std::span<const int> prompt,
                         const GenerateOptions& options, const std::function<bool(int token)>& on_token) {
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
  if (prompt.empty()) fail("generate: the prompt has no tokens");
  GenerationStats stats;
  stats.prompt_tokens = int(prompt.size());
  std::vector<int> history(prompt.begin(), prompt.end());

  const auto t0 = Clock::now();
  std::vector<float> logits = backend.prefill(prompt);
  const auto t1 = Clock::now();
  stats.prefill_seconds = seconds(t0, t1);

  // Greedy decoding without a penalty needs only the argmax: backends that can compute it where
  // the logits are (the GPU) return just the token id.
  const SamplerParams& sp = sampler.params();
  const bool backend_argmax = sp.temperature <= 0 && sp.repeat_penalty == 1.0f;
  int token = sampler.sample(logits, history);
  for (int i = 0; i < options.max_tokens; i++) {
    if (std::find(options.stop_tokens.begin(), options.stop_tokens.end(), token) != options.stop_tokens.end()) {
      stats.stopped_by_token = true;
      break;
    }
    history.push_back(token);
    stats.generated_tokens++;
    if (!on_token(token)) break;
    if (i + 1 == options.max_tokens) break;
    if (backend.n_past() >= backend.max_context()) {
      stats.stopped_by_context = true;
      break;
    }
    if (backend_argmax) {
      token = backend.decode_greedy(token);
    } else {
      logits = backend.decode(token);
      token = sampler.sample(logits, history);
    }
  }
  stats.decode_seconds = seconds(t1, Clock::now());
  return stats;
}

}  // namespace wgllm
