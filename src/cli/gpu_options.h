// Options every GPU-using command shares: --adapter, --webgpu-lib, --profile.
#pragma once
#include <CLI/CLI.hpp>

#include "cli/option_checks.h"
#include "gpu/context.h"

namespace wgllm::cli {

inline void add_gpu_options(CLI::App& sub, gpu::ContextOptions& opts) {
  sub.add_option("--adapter", opts.adapter,
                 "WebGPU adapter: auto (discrete > integrated > cpu), discrete, integrated, cpu, or part of "
                 "its name (env WGLLM_ADAPTER)");
  sub.add_option("--webgpu-lib", opts.webgpu_lib,
                 "path of a webgpu.h library (Dawn or wgpu-native) to use instead of the bundled Dawn "
                 "(env WGLLM_WEBGPU_LIB)");
  sub.add_flag("--profile", opts.profile, "time every kernel with timestamp queries and print a table (env WGLLM_PROFILE=1)");
  sub.add_flag("!--no-f16", opts.allow_f16, "do not use shader-f16 even where the adapter has it");
  sub.add_flag("!--no-subgroups", opts.allow_subgroups, "do not use subgroup operations");
  sub.add_option_function<uint64_t>(
         "--gpu-memory", [&opts](uint64_t mib) { opts.memory_budget = mib << 20; },
         "GPU memory the model may use, in MiB: checked against weights + KV cache + activations before "
         "anything is allocated (WebGPU cannot report it; env WGLLM_GPU_MEMORY)")
      ->check(in_range(1));
  sub.add_flag("--no-validation", opts.benchmark_mode,
               "benchmark mode: turn off Dawn's validation and robustness checks (reports say so; env "
               "WGLLM_NO_VALIDATION=1)");
}

}  // namespace wgllm::cli
