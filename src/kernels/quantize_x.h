// Quantizes an activation vector (one token) to int8 blocks of 32 for the decode matvecs that
// multiply 4-bit weights with 8-bit activations (MatMul with a QuantizedX input). The vector is
// the VecInput's (x, RMSNorm(x) * weight, or act(gate) * up), so the norm / activation pass is
// part of the quantization; an RMSNorm's 1 / rms(x) is applied by the consumer (quantize_x.wgsl
// says why). Error: each element rounds to 1/254 of its block's largest magnitude.
#pragma once
#include "kernels/kernel_context.h"
#include "kernels/matmul.h"

namespace wgllm::kernels {

struct QuantizedX {
  uint32_t cols = 0;
  gpu::Buffer qs;  // [cols / 4] u32: four int8 each
  // QuantizeX (one token): [cols / 32] vec4<f32>: block scale d, d * sum of the block's int8
  // values, the block's sum of x^2 (RMSNorm inputs), 0. The GEMM's batch (quantize_x_batch.wgsl):
  // [tokens * cols / 32] vec2<f32>: d, d * sum.
  gpu::Buffer ds;
  // An RMSNorm input quantized without its 1 / rms(x): the consumer takes it from the blocks'
  // sums of squares, with this epsilon.
  bool normed = false;
  float eps = 0;
};

struct QuantizeXParams {
  uint32_t cols;
  float eps;
  static constexpr auto fields = std::make_tuple(gpu::param("cols", &QuantizeXParams::cols), gpu::param("eps", &QuantizeXParams::eps));
};

class QuantizeX {
 public:
  // `in.x` (and `in.aux`) hold at least `cols` floats; cols must be a multiple of 32.
  QuantizeX(KernelContext& kc, const VecInput& in, uint32_t cols, const std::string& label);
  const QuantizedX& output() const { return out_; }
  void record(gpu::Recorder& rec);

 private:
  KernelContext& kc_;
  QuantizedX out_;
  const gpu::Pipeline* pipeline_;
  gpu::BindGroup group_;
};

}  // namespace wgllm::kernels
