#include "reference/backend.h"

#include <map>
#include <mutex>

#include "reference/forward.h"
#include "util/error.h"

namespace wgllm {

namespace {

class CpuBackend : public Backend {
 public:
  CpuBackend(const std::string& path, const BackendOptions& o) : model_(path, o.max_context) {}
  std::string name() const override { return "cpu"; }
  const ModelConfig& config() const override { return model_.config(); }
  int max_context() const override { return model_.max_context(); }
  int n_past() const override { return n_past_; }
  void reset() override { n_past_ = 0; }
  void rewind(int n) override {
    if (n < 0 || n > n_past_) fail("rewind to ", n, " tokens: the cache holds ", n_past_);
    n_past_ = n;
  }
  std::vector<float> eval(std::span<const int> tokens, bool all_logits) override {
    if (tokens.empty()) fail("eval: no tokens");
    if (n_past_ + int(tokens.size()) > model_.max_context())
      fail(n_past_, " + ", tokens.size(), " tokens exceed the context size ", model_.max_context());
    std::vector<float> logits = model_.forward_tokens(tokens, n_past_, all_logits);
    n_past_ += int(tokens.size());
    return logits;
  }

 private:
  ref::Transformer model_;
  int n_past_ = 0;
};

struct Registry {
  std::mutex mutex;
  std::map<std::string, BackendFactory> factories;
  Registry() {
    factories["cpu"] = [](const std::string& path, const BackendOptions& o) -> std::unique_ptr<Backend> {
      return std::make_unique<CpuBackend>(path, o);
    };
  }
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

void register_backend(const std::string& name, BackendFactory factory) {
  std::lock_guard lock(registry().mutex);
  registry().factories[name] = std::move(factory);
}

std::vector<std::string> backend_names() {
  std::lock_guard lock(registry().mutex);
  std::vector<std::string> names;
  for (const auto& [name, f] : registry().factories) names.push_back(name);
  return names;
}

std::unique_ptr<Backend> open_backend(const std::string& name, const std::string& model_path,
                                      const BackendOptions& options) {
  BackendFactory factory;
  {
    std::lock_guard lock(registry().mutex);
    auto it = registry().factories.find(name);
    if (it == registry().factories.end()) {
      std::string list;
      for (const auto& [n, f] : registry().factories) list += (list.empty() ? "" : ", ") + n;
      fail("unknown backend '", name, "' (available: ", list, ")");
    }
    factory = it->second;
  }
  return factory(model_path, options);
}

}  // namespace wgllm
