// Generation loop over any Backend: prefill the prompt, then sample and decode one token at a
// time until n tokens, a stop token or the context end. Works on token ids; the caller turns
// them into text (so streaming, chat templates and stop strings stay in the command).
#pragma once
#include <functional>
#include <span>
#include <vector>

#include "reference/backend.h"
#include "reference/sampler.h"

namespace wgllm {

struct GenerationStats {
  int prompt_tokens = 0;
  int generated_tokens = 0;
  double prefill_seconds = 0;  // prompt in, first logits out (time to first token minus sampling)
  double decode_seconds = 0;   // all decode steps after the first token
  bool stopped_by_token = false;
  bool stopped_by_context = false;  // the KV cache filled before max_tokens
};

struct GenerateOptions {
  int max_tokens = 128;
  std::vector<int> stop_tokens;  // e.g. EOS / EOT; not emitted
};

// on_token is called for every generated token as soon as it is sampled; returning false stops.
GenerationStats generate(Backend& backend, Sampler& sampler, std::span<const int> prompt,
                         const GenerateOptions& options, const std::function<bool(int token)>& on_token);

}  // namespace wgllm
