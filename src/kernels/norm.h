// RMSNorm over each token row of an activation buffer (norm.wgsl).
#pragma once
#include "kernels/op_helpers.h"

namespace wgllm::kernels {

// y[t] = x[t] * rsqrt(mean(x[t]^2) + eps) * weight, for t < shape.n_tokens.
// x, y: f32 [max_tokens][dim] (distinct buffers: WebGPU forbids binding one buffer writable
// twice); weight: f32 [dim] (Gemma's +1 is baked into the GGUF weights).
class RmsNorm {
 public:
  RmsNorm(KernelContext& kc, const gpu::Buffer& x, const gpu::Buffer& weight, const gpu::Buffer& y,
          uint32_t dim, float eps, uint32_t max_tokens);
  void record(gpu::Recorder& rec, const StepShape& shape);

 private:
  KernelContext& kc_;
  const gpu::Pipeline* pipe_;
  gpu::BindGroup group_;
  gpu::UniformArena::Slot slot_;
  uint32_t dim_, max_tokens_;
  float eps_;
};

}  // namespace wgllm::kernels
