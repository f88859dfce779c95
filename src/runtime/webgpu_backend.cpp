#include "runtime/webgpu_backend.h"

#include "util/error.h"

namespace wgllm::runtime {

WebGpuBackend::WebGpuBackend(const std::string& path, const BackendOptions& options,
                             const gpu::ContextOptions& gpu_options, GpuTransformerOptions model_options) {
  ModelWeights weights = load_model_weights(path);
  ctx_ = gpu::Context::create(gpu_options);
  model_options.max_context = options.max_context;
  model_ = std::make_unique<GpuTransformer>(*ctx_, std::move(weights), model_options);
}

std::vector<float> WebGpuBackend::eval(std::span<const int> tokens, bool all_logits) {
  if (tokens.empty()) fail("eval: no tokens");
  std::vector<float> logits = model_->forward(tokens, n_past_, all_logits);
  n_past_ += int(tokens.size());
  return logits;
}

void WebGpuBackend::rewind(int n) {
  if (n < 0 || n > n_past_) fail("rewind to ", n, " tokens: the cache holds ", n_past_);
  n_past_ = n;
  model_->invalidate_speculation();
}

int WebGpuBackend::decode_greedy(int token) {
  const int next = model_->forward_greedy(token, n_past_);
  n_past_ += 1;
  return next;
}

void register_webgpu_backend(const gpu::ContextOptions& gpu_options, const GpuTransformerOptions& model_options) {
  register_backend("webgpu", [gpu_options, model_options](const std::string& path, const BackendOptions& o) {
    return std::unique_ptr<Backend>(new WebGpuBackend(path, o, gpu_options, model_options));
  });
}

}  // namespace wgllm::runtime
