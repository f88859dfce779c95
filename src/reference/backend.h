// The seam between the commands (run, logits, bench) and whatever computes logits: a Backend
// feeds tokens through a model and keeps its KV cache. "cpu" (the reference Transformer) is
// built in; another backend (WebGPU) registers a factory under its name, and every command picks
// one through open_backend(name, ...) — the single place a backend switch happens.
#pragma once
#include <algorithm>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/config.h"

namespace wgllm {

struct BackendOptions {
  int max_context = 4096;  // KV cache capacity in tokens (capped by the model's context)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual const ModelConfig& config() const = 0;
  virtual int max_context() const = 0;
  virtual int n_past() const = 0;  // tokens in the KV cache
  virtual void reset() = 0;        // empties the KV cache
  // Keeps only the first n tokens of the KV cache (the rest is overwritten by later tokens):
  // a chat turn re-feeds only what differs from the conversation already cached.
  virtual void rewind(int n) = 0;
  // Feeds `tokens` at positions n_past(), n_past()+1, ...; returns logits for each of them
  // ([n x vocab], row-major) when all_logits, else for the last one only (vocab).
  virtual std::vector<float> eval(std::span<const int> tokens, bool all_logits) = 0;

  std::vector<float> prefill(std::span<const int> tokens) { return eval(tokens, false); }
  std::vector<float> decode(int token) { return eval(std::span<const int>(&token, 1), false); }
  // Feeds `token` and returns the argmax of the next logits (lowest id on ties). Backends that
  // keep logits on a device override this to bring back only the id.
  virtual int decode_greedy(int token) {
    const std::vector<float> l = decode(token);
    return int(std::max_element(l.begin(), l.end()) - l.begin());
  }
};

using BackendFactory = std::function<std::unique_ptr<Backend>(const std::string& model_path, const BackendOptions&)>;

// Makes `name` available to open_backend (replaces an earlier factory of that name).
void register_backend(const std::string& name, BackendFactory factory);
std::vector<std::string> backend_names();
// Error listing the registered backends when `name` is unknown.
std::unique_ptr<Backend> open_backend(const std::string& name, const std::string& model_path,
                                      const BackendOptions& options = {});

}  // namespace wgllm
