// What the kernel tests share: one context per process on the adapter at hand (SwiftShader in
// CI), one whose storage bindings are capped at 4 KiB so that every weight splits into chunks,
// the error measure, and the list of tensor types every kernel must handle.
#pragma once
#include <memory>
#include <vector>

#include "format/tensor_types.h"
#include "gpu/context.h"

namespace wgllm::kernels::testing {

inline gpu::Context& shared_context() {
  static std::unique_ptr<gpu::Context> ctx = gpu::Context::create({});
  return *ctx;
}

inline gpu::Context& chunked_context() {
  static std::unique_ptr<gpu::Context> ctx = [] {
    gpu::ContextOptions o;
    o.max_binding_size_override = 4096;
    return gpu::Context::create(o);
  }();
  return *ctx;
}

// Normalized mean squared error: sum (got - ref)^2 / sum ref^2, in double.
inline double nmse(const std::vector<float>& got, const std::vector<float>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) num += double(got[i] - ref[i]) * (got[i] - ref[i]), den += double(ref[i]) * ref[i];
  return num / den;
}

inline const TensorType kAllTypes[] = {TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q8_0,
                                       TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1,
                                       TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K};

}  // namespace wgllm::kernels::testing
