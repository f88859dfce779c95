// The "webgpu" Backend: the GpuTransformer behind the same interface as the CPU reference, so
// `wgllm run/logits/chat/bench --backend webgpu` and the tests compare the two directly.
#pragma once
#include "gpu/context.h"
#include "reference/backend.h"
#include "runtime/gpu_transformer.h"

namespace wgllm::runtime {

// Registers (or re-registers) the "webgpu" backend factory with these GPU options.
void register_webgpu_backend(const gpu::ContextOptions& gpu_options = {}, const GpuTransformerOptions& model_options = {});

// Opens a model on a fresh context; also what the factory does.
class WebGpuBackend : public Backend {
 public:
  WebGpuBackend(const std::string& path, const BackendOptions& options, const gpu::ContextOptions& gpu_options,
                GpuTransformerOptions model_options);
  std::string name() const override { return "webgpu"; }
  const ModelConfig& config() const override { return model_->config(); }
  int max_context() const override { return model_->max_context(); }
  int n_past() const override { return n_past_; }
  void reset() override {
    n_past_ = 0;
    model_->invalidate_speculation();
  }
  void rewind(int n) override;
  std::vector<float> eval(std::span<const int> tokens, bool all_logits) override;
  // Greedy decode with the argmax on the GPU: only the token id comes back.
  int decode_greedy(int token) override;

  gpu::Context& context() { return *ctx_; }
  GpuTransformer& model() { return *model_; }

 private:
  std::unique_ptr<gpu::Context> ctx_;
  std::unique_ptr<GpuTransformer> model_;
  int n_past_ = 0;
};

}  // namespace wgllm::runtime
