#include "gpu/bandwidth.h"

#include <algorithm>
#include <vector>

#include "gpu/recorder.h"
#include "gpu/timing.h"
#include "util/rng.h"

namespace wgllm::gpu {
namespace {

// Each invocation streams vec4<u32> words with a grid stride and folds them into one word, so
// the compiler cannot drop the loads; one word per invocation is written.
constexpr const char* kReadKernel = R"(
{{PARAMS}}
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> sink: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  var acc = vec4<u32>(sink[gid.x]);  // each dispatch reads the last one's sink: a real dependency
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < p.n_vec4; i += stride) { acc ^= src[p.first_vec4 + i]; }
  sink[gid.x] = acc.x ^ acc.y ^ acc.z ^ acc.w;
}
)";

struct ReadParams {
  uint32_t n_vec4, first_vec4;
  static constexpr auto fields =
      std::make_tuple(param("n_vec4", &ReadParams::n_vec4), param("first_vec4", &ReadParams::first_vec4));
};

}  // namespace

BandwidthResult measure_bandwidth(Context& ctx, uint64_t bytes, int repetitions) {
  const bool cpu = ctx.adapter().adapter_type == "CPU";
  if (bytes == 0) bytes = cpu ? (32ull << 20) : (512ull << 20);
  bytes = std::min<uint64_t>(bytes, ctx.limits().max_storage_buffer_binding_size & ~uint64_t(255));
  bytes = std::min<uint64_t>(bytes, ctx.limits().max_buffer_size & ~uint64_t(255));
  BandwidthResult r;
  r.buffer_bytes = bytes;

  Buffer a = ctx.create_buffer(bytes, kStorage, "bandwidth-src");
  Buffer b = ctx.create_buffer(bytes, kStorage, "bandwidth-dst");
  {  // random contents: never stream zeros
    std::vector<uint32_t> chunk(1 << 20);
    Rng rng(1);
    for (auto& w : chunk) w = uint32_t(rng.next_u64());
    for (uint64_t off = 0; off < bytes; off += chunk.size() * 4)
      ctx.write(a, chunk.data(), std::min<uint64_t>(chunk.size() * 4, bytes - off), off);
  }
  const int inner = cpu ? 2 : 10;  // copies per submit, so submit overhead stays negligible
  auto copy_once = [&] {
    Recorder rec(ctx);
    for (int i = 0; i < inner; ++i) rec.copy(a, 0, b, 0, bytes);
    rec.submit();
  };
  r.copy_gbs = 2.0 * double(bytes) / (median_seconds(ctx, repetitions, copy_once) / inner) / 1e9;

  PipelineCache cache(ctx);
  KernelSpec spec{"bandwidth_read", "bandwidth.cpp", kReadKernel};
  const Pipeline& pipe = cache.get(PipelineCache::with_params<ReadParams>(spec));
  const uint32_t groups = cpu ? 64 : 4096;
  Buffer sink = ctx.create_buffer(uint64_t(groups) * 256 * 4, kStorage, "bandwidth-sink");
  const uint64_t chunk = std::min<uint64_t>(bytes, cpu ? (1ull << 20) : (8ull << 20));
  const uint32_t n_chunks = uint32_t(bytes / chunk);
  UniformArena arena(ctx, 2 + n_chunks, "bandwidth-params");
  auto slot = arena.alloc(ReadParams{uint32_t(bytes / 16), 0});
  BindGroup group(ctx, pipe, {a, sink, arena.binding(slot)});
  auto read_once = [&] {
    Recorder rec(ctx, nullptr, {&arena});
    for (int i = 0; i < inner; ++i) rec.dispatch(pipe, group, {groups});
    rec.submit();
  };
  r.read_gbs = double(bytes) / (median_seconds(ctx, repetitions, read_once) / inner) / 1e9;

  // The fixed cost of a dispatch: one workgroup reading nothing, many in one pass.
  const int chain = cpu ? 50 : 1000;
  BindGroup tiny_group(ctx, pipe, {a, sink, arena.binding(arena.alloc(ReadParams{0, 0}))});
  auto tiny_once = [&] {
    Recorder rec(ctx, nullptr, {&arena});
    for (int i = 0; i < chain; ++i) rec.dispatch(pipe, tiny_group, {1});
    rec.submit();
  };
  r.dispatch_us = median_seconds(ctx, repetitions, tiny_once) / chain * 1e6;

  // Matvec-sized reads: consecutive chunks (never the same one twice, so not from the cache).
  std::vector<BindGroup> chunk_groups;
  for (uint32_t c = 0; c < n_chunks; ++c)
    chunk_groups.emplace_back(ctx, pipe, std::vector<Binding>{a, sink, arena.binding(arena.alloc(ReadParams{uint32_t(chunk / 16), uint32_t(c * (chunk / 16))}))});
  const uint32_t chunk_groups_n = std::min<uint32_t>(groups, uint32_t(chunk / 16 / 256 / 4) + 1);  // ~4 vec4 per thread
  auto chunks_once = [&] {
    Recorder rec(ctx, nullptr, {&arena});
    for (const BindGroup& g : chunk_groups) rec.dispatch(pipe, g, {chunk_groups_n});
    rec.submit();
  };
  r.chunk_bytes = chunk;
  r.chunk_read_gbs = double(chunk) * n_chunks / median_seconds(ctx, repetitions, chunks_once) / 1e9;
  return r;
}

}  // namespace wgllm::gpu
