// The live benchmark: adapters x models x prompt lengths, each case warmed up once and timed
// `reps` times; adapter bandwidth measured in the same run for the roofline share.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "bench/matrix.h"
#include "bench/report.h"
#include "gpu/context.h"

namespace wgllm::bench {

struct BenchOptions {
  MatrixRequest matrix;
  int reps = 3;
  // Adapters to run on (each like --adapter: auto, discrete, integrated, cpu, a name part), or
  // "all" (every distinct adapter of discrete/integrated/cpu). Empty: gpu.adapter (auto).
  std::vector<std::string> adapters;
  std::string backend = "webgpu";  // or "cpu": the reference, for comparison on tiny models
  gpu::ContextOptions gpu;
  std::string cache_dir;           // preset cache ("" = $WGLLM_CACHE or ~/.cache/wgllm/models)
  uint64_t seed = 1234;            // random prompts
  bool progress = true;            // progress lines on stderr
  std::string engine_version, git_sha;
};

Report run_benchmarks(const BenchOptions& options);

struct KernelBenchOptions {
  std::string model;  // file or preset
  std::string quant = "Q4_0";
  int prompt_tokens = 128;
  int decode_steps = 8;
  gpu::ContextOptions gpu;
  std::string cache_dir;
};
// `wgllm bench --kernels`: per-kernel GPU time (timestamp queries) for a prefill and a few
// decode steps at the model's shapes, with each kernel's share of the measured bandwidth.
std::string kernel_benchmark(const KernelBenchOptions& options);

// The model file for a choice: the file itself, or the preset generated into the cache.
std::string resolve_model_file(const ModelChoice& c, const std::string& cache_dir);
// general.file_type as a quant name ("Q4_K_M"), "ftype N" when unknown, "unknown" when absent.
std::string file_quant_name(const std::string& path);

}  // namespace wgllm::bench
