#include "gpu/compute_rate.h"

#include <string>
#include <vector>

#include "gpu/recorder.h"
#include "gpu/timing.h"

namespace wgllm::gpu {
namespace {

// 8 chains per invocation, each step depending on the last (so nothing folds away); the results
// are written so that nothing is dead. OP is the chain's step.
constexpr const char* kRateKernel = R"(
{{PARAMS}}
@group(0) @binding(0) var<storage, read_write> sink: array<u32>;
@group(0) @binding(1) var<uniform> p: Params;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  var a: array<{{T}}, 8>;
  for (var c = 0u; c < 8u; c++) { a[c] = {{T}}(gid.x + c + 1u); }
  let b = {{B}};
  for (var i = 0u; i < p.iterations; i++) {
    for (var c = 0u; c < 8u; c++) { a[c] = {{OP}}; }
  }
  var r = 0u;
  for (var c = 0u; c < 8u; c++) { r ^= bitcast<u32>(a[c]); }
  sink[gid.x] = r;
}
)";

struct RateParams {
  uint32_t iterations;
  static constexpr auto fields = std::make_tuple(param("iterations", &RateParams::iterations));
};

double ops_per_second(Context& ctx, const char* name, const char* type, const char* b, const char* op, int repetitions) {
  const bool cpu = ctx.adapter().adapter_type == "CPU";
  const uint32_t groups = cpu ? 16 : 2048, iterations = cpu ? 64 : 4096;
  PipelineCache cache(ctx);
  KernelSpec spec{name, "compute_rate.cpp", kRateKernel, {{"T", type}, {"B", b}, {"OP", op}}};
  const Pipeline& pipe = cache.get(PipelineCache::with_params<RateParams>(spec));
  Buffer sink = ctx.create_buffer(uint64_t(groups) * 256 * 4, kStorage, "compute-rate-sink");
  UniformArena arena(ctx, 1, "compute-rate-params");
  BindGroup group(ctx, pipe, {sink, arena.binding(arena.alloc(RateParams{iterations}))});
  const double seconds = median_seconds(ctx, repetitions, [&] {
    Recorder rec(ctx, nullptr, {&arena});
    rec.dispatch(pipe, group, {groups});
    rec.submit();
  });
  return double(groups) * 256 * iterations * 8 / seconds;
}

}  // namespace

ComputeRate measure_compute_rate(Context& ctx, int repetitions) {
  ComputeRate r;
  r.f32_fma_per_s = ops_per_second(ctx, "rate_f32_fma", "f32", "f32(p.iterations) * 1e-9", "fma(a[c], 0.999, b)", repetitions);
  r.dot4_i8_per_s = ops_per_second(ctx, "rate_dot4_i8", "i32", "bitcast<u32>(i32(p.iterations) | 0x01020304)",
                                   "a[c] + dot4I8Packed(bitcast<u32>(a[c]), b)", repetitions);
  return r;
}

}  // namespace wgllm::gpu
