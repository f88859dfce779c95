// What the kernel tests share: one context per process on the adapter at hand (SwiftShader in
// CI), one whose storage bindings are capped at 4 KiB so that every weight splits into chunks,
// the error measure, and the list of tensor types every kernel must handle.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
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

// `v` int8-quantized in blocks of 32 as quantize_x.wgsl does (qs: four int8 per word; ds: per
// block d, d * sum(q), ...): d = max |v| / 127 per block, every element within d / 2 of q * d,
// and d * sum(q). `tol`: relative slack for values computed differently on the CPU than the GPU.
inline void expect_int8_blocks(const std::vector<float>& v, const std::vector<uint32_t>& qs, const std::vector<float>& ds,
                               double tol, const std::string& what) {
  for (size_t b = 0; b < v.size() / 32; ++b) {
    float m = 0;
    for (size_t i = 0; i < 32; ++i) m = std::max(m, std::fabs(v[32 * b + i]));
    const float d = ds[4 * b];
    ASSERT_NEAR(d, m / 127, tol * m + 1e-30) << what << " block " << b;
    int sum = 0;
    for (size_t i = 0; i < 32; ++i) {
      const int q = int8_t(qs[(32 * b + i) / 4] >> (8 * (i % 4)));
      sum += q;
      ASSERT_LE(std::abs(q), 127) << what;
      ASSERT_LE(std::fabs(q * d - v[32 * b + i]), 0.5 * d * (1 + 1e-5) + tol * m + 1e-30) << what << " element " << 32 * b + i;
    }
    EXPECT_NEAR(ds[4 * b + 1], d * float(sum), 1e-6 * std::fabs(d * sum) + 1e-30) << what << " block " << b;
  }
}

inline const TensorType kAllTypes[] = {TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q8_0,
                                       TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1,
                                       TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K};

}  // namespace wgllm::kernels::testing
