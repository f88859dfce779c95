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

// The median time of one dispatch of `groups` workgroups of the rate kernel `spec`, its
// iterations count set and its sink (binding 0) of sink_bytes.
double median_dispatch_seconds(Context& ctx, const KernelSpec& spec, uint64_t sink_bytes, uint32_t groups, uint32_t iterations,
                               int repetitions) {
  PipelineCache cache(ctx);
  const Pipeline& pipe = cache.get(PipelineCache::with_params<RateParams>(spec));
  Buffer sink = ctx.create_buffer(sink_bytes, kStorage, "compute-rate-sink");
  UniformArena arena(ctx, 1, "compute-rate-params");
  BindGroup group(ctx, pipe, {sink, arena.binding(arena.alloc(RateParams{iterations}))});
  return median_seconds(ctx, repetitions, [&] {
    Recorder rec(ctx, nullptr, {&arena});
    rec.dispatch(pipe, group, {groups});
    rec.submit();
  });
}

double ops_per_second(Context& ctx, const char* name, const char* type, const char* b, const char* op, int repetitions) {
  const bool cpu = ctx.adapter().adapter_type == "CPU";
  const uint32_t groups = cpu ? 16 : 2048, iterations = cpu ? 64 : 4096;
  const KernelSpec spec{name, "compute_rate.cpp", kRateKernel, {{"T", type}, {"B", b}, {"OP", op}}};
  const double seconds = median_dispatch_seconds(ctx, spec, uint64_t(groups) * 256 * 4, groups, iterations, repetitions);
  return double(groups) * 256 * iterations * 8 / seconds;
}

// Subgroup-matrix i8 x i8 -> i32 products (tensor cores where the driver maps them): each
// workgroup is one subgroup of 32 (so the matrix offsets are uniform to WGSL); it loads one left
// and one right 16 x 32 / 32 x 16 matrix and accumulates four independent results `iterations`
// times, then stores them so nothing is dead. Offsets and strides count i32 words.
constexpr const char* kMatrixRateKernel = R"(
enable chromium_experimental_subgroup_matrix, subgroups;
{{PARAMS}}
@group(0) @binding(0) var<storage, read_write> sink: array<i32>;
@group(0) @binding(1) var<uniform> p: Params;
@compute @workgroup_size(32)
fn main(@builtin(workgroup_id) wg: vec3<u32>) {
  let base = wg.x * 1024u;  // a subgroup's 4 KiB (offsets count words)
  let a = subgroupMatrixLoad<subgroup_matrix_left<i8, 32, 16>, row_major>(&sink, base, 32u);
  let b = subgroupMatrixLoad<subgroup_matrix_right<i8, 16, 32>, col_major>(&sink, base + 128u, 32u);
  var c0 = subgroup_matrix_result<i32, 16, 16>();
  var c1 = subgroup_matrix_result<i32, 16, 16>(1);
  var c2 = subgroup_matrix_result<i32, 16, 16>(2);
  var c3 = subgroup_matrix_result<i32, 16, 16>(3);
  for (var i = 0u; i < p.iterations; i++) {
    c0 = subgroupMatrixMultiplyAccumulate(a, b, c0);
    c1 = subgroupMatrixMultiplyAccumulate(a, b, c1);
    c2 = subgroupMatrixMultiplyAccumulate(a, b, c2);
    c3 = subgroupMatrixMultiplyAccumulate(a, b, c3);
  }
  subgroupMatrixStore<row_major>(&sink, base, c0, 16u);
  subgroupMatrixStore<row_major>(&sink, base + 256u, c1, 16u);
  subgroupMatrixStore<row_major>(&sink, base + 512u, c2, 16u);
  subgroupMatrixStore<row_major>(&sink, base + 768u, c3, 16u);
}
)";

double matrix_macs_per_second(Context& ctx, int repetitions) {
  const uint32_t groups = 8192, iterations = 4096;  // one subgroup each
  const KernelSpec spec{"rate_subgroup_matrix_i8", "compute_rate.cpp", kMatrixRateKernel, {}};
  const double seconds = median_dispatch_seconds(ctx, spec, uint64_t(groups) * 1024 * 4, groups, iterations, repetitions);
  return double(groups) * iterations * 4 * (16 * 16 * 32) / seconds;
}

}  // namespace

ComputeRate measure_compute_rate(Context& ctx, int repetitions) {
  ComputeRate r;
  r.f32_fma_per_s = ops_per_second(ctx, "rate_f32_fma", "f32", "f32(p.iterations) * 1e-9", "fma(a[c], 0.999, b)", repetitions);
  r.dot4_i8_per_s = ops_per_second(ctx, "rate_dot4_i8", "i32", "bitcast<u32>(i32(p.iterations) | 0x01020304)",
                                   "a[c] + dot4I8Packed(bitcast<u32>(a[c]), b)", repetitions);
  if (ctx.features().subgroup_matrix_i8) r.matrix_i8_macs_per_s = matrix_macs_per_second(ctx, repetitions);
  return r;
}

}  // namespace wgllm::gpu
