// Measured arithmetic rates of the adapter: the compute ceilings that prefill (matrix products)
// is held against, as the bandwidth (bandwidth.h) is for decode.
#pragma once
#include "gpu/context.h"

namespace wgllm::gpu {

struct ComputeRate {
  double f32_fma_per_s = 0;  // fma(a, b, c) on f32: 2 FLOP each
  double dot4_i8_per_s = 0;  // dot4I8Packed plus the add into its i32 sum: 4 int8 multiply-adds each
  double matrix_i8_macs_per_s = 0;  // subgroup-matrix i8 x i8 -> i32 multiply-adds; 0 = not measured
  double f32_tflops() const { return 2 * f32_fma_per_s / 1e12; }
  double int8_tops() const { return 8 * dot4_i8_per_s / 1e12; }
  double matrix_int8_tops() const { return 2 * matrix_i8_macs_per_s / 1e12; }
};

// Runs each instruction in 8 independent chains per invocation over enough workgroups to fill
// the adapter, after a warm-up; the median of `repetitions`.
ComputeRate measure_compute_rate(Context& ctx, int repetitions = 5);

}  // namespace wgllm::gpu
