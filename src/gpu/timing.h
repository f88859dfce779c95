// Wall-clock timing of GPU work for the adapter probes (bandwidth.cpp, compute_rate.cpp).
#pragma once
#include <algorithm>
#include <chrono>
#include <vector>

#include "gpu/context.h"

namespace wgllm::gpu {

// Runs `record` (which records and submits GPU work) once as a warm-up, then `repetitions` times,
// each until the GPU has finished; returns the median time in seconds.
template <typename F>
double median_seconds(Context& ctx, int repetitions, F&& record) {
  record();
  ctx.finish();
  std::vector<double> s;
  for (int i = 0; i < repetitions; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    record();
    ctx.finish();
    s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(s.begin(), s.end());
  return s[s.size() / 2];
}

}  // namespace wgllm::gpu
