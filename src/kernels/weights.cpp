#include "kernels/weights.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <future>
#include <thread>

#include "util/error.h"

namespace wgllm::kernels {
namespace {

// One field of a GGUF block moved into a region: `len` bytes from `src` (offset in the GGUF
// block) to `dst` (offset in the block's slot of region `region`).
struct Piece {
  uint32_t region, src, dst, len;
};

struct Repack {
  TensorType type;
  GpuLayout layout;
  std::vector<Piece> pieces;  // empty: the float types, copied row by row as they are
};

const Repack kRepacks[] = {
    {TensorType::F32, {4, {16, 0, 0}}, {}},
    {TensorType::F16, {4, {8, 0, 0}}, {}},
    {TensorType::BF16, {4, {8, 0, 0}}, {}},
    {TensorType::Q4_0, {32, {16, 2, 0}}, {{0, 2, 0, 16}, {1, 0, 0, 2}}},
    {TensorType::Q4_1, {32, {16, 4, 0}}, {{0, 4, 0, 16}, {1, 0, 0, 4}}},
    // GGUF Q5_0: d, qh (u32), qs[16]; Q5_1: d, m, qh, qs[16] -> regions as Q4_0 / Q4_1, plus qh.
    {TensorType::Q5_0, {32, {16, 2, 4}}, {{0, 6, 0, 16}, {1, 0, 0, 2}, {2, 2, 0, 4}}},
    {TensorType::Q5_1, {32, {16, 4, 4}}, {{0, 8, 0, 16}, {1, 0, 0, 4}, {2, 4, 0, 4}}},
    {TensorType::Q8_0, {32, {32, 2, 0}}, {{0, 2, 0, 32}, {1, 0, 0, 2}}},
    {TensorType::Q4_K, {256, {128, 16, 0}}, {{0, 16, 0, 128}, {1, 0, 0, 16}}},
    // GGUF Q5_K: d, dmin, scales[12], qh[32], qs[128] -> qs then qh.
    {TensorType::Q5_K, {256, {160, 16, 0}}, {{0, 48, 0, 128}, {0, 16, 128, 32}, {1, 0, 0, 16}}},
    // GGUF Q6_K: ql[128], qh[64], scales[16], d.
    {TensorType::Q6_K, {256, {192, 16, 2}}, {{0, 0, 0, 192}, {1, 192, 0, 16}, {2, 208, 0, 2}}},
};

const Repack& repack_of(TensorType type) {
  for (const auto& r : kRepacks)
    if (r.type == type) return r;
  fail("GPU weights: tensor type ", tensor_type_name(type), " is not supported");
}

uint64_t round_up(uint64_t v, uint64_t m) { return (v + m - 1) / m * m; }

// Byte offsets of the three regions and the total (16-byte padded) size of a chunk.
struct ChunkGeometry {
  std::array<uint64_t, 3> offset;
  uint64_t size;
};
ChunkGeometry chunk_geometry(const GpuLayout& l, uint32_t rows, uint32_t cols) {
  const uint64_t blocks = uint64_t(rows) * (cols / l.block_elems);
  ChunkGeometry g{};
  uint64_t at = 0;
  for (int i = 0; i < 3; ++i) {
    g.offset[i] = at;
    at = round_up(at + blocks * l.region_bytes[i], 16);
  }
  g.size = std::max<uint64_t>(at, 16);
  return g;
}

}  // namespace

const GpuLayout& gpu_layout(TensorType type) { return repack_of(type).layout; }

uint32_t gpu_col_multiple(TensorType type) { return gpu_layout(type).block_elems; }

std::array<uint32_t, 2> region_offsets(TensorType type, uint32_t rows, uint32_t cols) {
  const ChunkGeometry g = chunk_geometry(gpu_layout(type), rows, cols);
  return {uint32_t(g.offset[1] / 4), uint32_t(g.offset[2] / 4)};
}

uint32_t GpuWeight::chunk_rows(size_t k) const {
  return std::min(rows_per_chunk, rows - chunk_first_row(k));
}

GpuWeight upload_weight(gpu::Context& ctx, const std::string& name, TensorType type, uint32_t rows,
                        uint32_t cols, const uint8_t* gguf_data) {
  return upload_weight(ctx, name, type, cols, {{gguf_data, rows}});
}

GpuWeight upload_weight(gpu::Context& ctx, const std::string& name, TensorType type, uint32_t cols,
                        const std::vector<WeightPart>& parts) {
  uint32_t rows = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i + 1 < parts.size() && parts[i].rows % 2 != 0)
      fail("tensor '", name, "': part ", i, " of a stacked weight has an odd row count (", parts[i].rows, ")");
    rows += parts[i].rows;
  }
  const Repack& rp = repack_of(type);
  const GpuLayout& l = rp.layout;
  const auto& info = tensor_type_info(type);
  if (rows == 0 || cols == 0) fail("tensor '", name, "': empty weight (", rows, " x ", cols, ")");
  if (cols % l.block_elems != 0)
    fail("tensor '", name, "': ", cols, " columns of type ", info.name, " are not a multiple of ", l.block_elems,
         " (the GPU kernels read whole blocks)");
  const uint64_t rb = row_bytes(type, cols);
  const uint64_t limit = std::min(ctx.limits().max_storage_buffer_binding_size, ctx.limits().max_buffer_size);
  // Region ends round up to 16 bytes (< 16 bytes per region), hence the margin.
  uint64_t fit = limit > 48 ? (limit - 48) / rb : 0;
  if (parts.size() > 1 && fit > 1) fit &= ~uint64_t(1);  // chunks of stacked parts start at even rows too
  if (fit == 0)
    fail("tensor '", name, "': one row of ", rb, " bytes does not fit the storage binding limit of ", limit, " bytes");

  GpuWeight w{name, type, rows, cols, uint32_t(std::min<uint64_t>(fit, rows)), {}, 0};
  const uint32_t bpr = cols / l.block_elems;
  const uint32_t gguf_blocks_per_row = uint32_t(cols / info.block_size);
  // Slices of ~4 MiB, an even number of rows so 2-byte region slices start 4-byte aligned (hence
  // the even row counts of stacked parts).
  const uint32_t slice_rows = std::max<uint32_t>(2, uint32_t(std::min<uint64_t>((4u << 20) / rb, 1u << 30)) & ~1u);
  // Slices are repacked on worker threads, up to kInFlight ahead of the slice being written, so
  // reading the file (page faults) and repacking overlap each other and the uploads: one thread
  // did the 8B's 4.6 GB at 0.39 GB/s. Writes stay on this thread, in order.
  struct Slice {
    uint32_t a, b;
    const uint8_t* src;
    std::array<std::vector<uint8_t>, 3> staging;
  };
  const unsigned kInFlight = std::clamp(std::thread::hardware_concurrency(), 2u, 16u);
#ifdef __EMSCRIPTEN__
  constexpr auto kLaunch = std::launch::deferred;  // no threads in the browser build: in turn
#else
  constexpr auto kLaunch = std::launch::async;
#endif
  for (uint32_t first = 0; first < rows; first += w.rows_per_chunk) {
    const uint32_t n = std::min(w.rows_per_chunk, rows - first);
    const ChunkGeometry geo = chunk_geometry(l, n, cols);
    gpu::Buffer buf = ctx.create_buffer(geo.size, gpu::kStorage, cat(name, "#", w.chunks.size()));
    std::vector<Slice> slices;
    for (uint32_t a = 0, b = 0; a < n; a = b) {
      // The part holding row first + a; a slice ends at the part's end.
      size_t pi = 0;
      uint32_t part_first = 0;
      while (first + a >= part_first + parts[pi].rows) part_first += parts[pi++].rows;
      b = std::min({n, a + slice_rows, part_first + parts[pi].rows - first});
      slices.push_back({a, b, parts[pi].gguf_data + uint64_t(first + a - part_first) * rb, {}});
    }
    if (rp.pieces.empty()) {  // float types: rows are copied as they are
      for (const Slice& sl : slices) ctx.write(buf, sl.src, uint64_t(sl.b - sl.a) * rb, uint64_t(sl.a) * rb);
    } else {
      auto repack = [&](Slice* sl) {
        const uint64_t blocks = uint64_t(sl->b - sl->a) * gguf_blocks_per_row;
        for (int i = 0; i < 3; ++i) sl->staging[i].resize(blocks * l.region_bytes[i]);
        for (uint64_t k = 0; k < blocks; ++k) {
          const uint8_t* blk = sl->src + k * info.type_size;
          for (const Piece& p : rp.pieces)
            std::memcpy(sl->staging[p.region].data() + k * l.region_bytes[p.region] + p.dst, blk + p.src, p.len);
        }
      };
      std::deque<std::future<void>> pending;
      size_t next = 0;
      for (size_t s = 0; s < slices.size(); ++s) {
        while (next < slices.size() && pending.size() < kInFlight)
          pending.push_back(std::async(kLaunch, repack, &slices[next++]));
        pending.front().get();  // slice s (an exception from its repack surfaces here)
        pending.pop_front();
        Slice& sl = slices[s];
        for (int i = 0; i < 3; ++i) {
          if (sl.staging[i].empty()) continue;
          ctx.write(buf, sl.staging[i].data(), sl.staging[i].size(), geo.offset[i] + uint64_t(sl.a) * bpr * l.region_bytes[i]);
          std::vector<uint8_t>().swap(sl.staging[i]);  // at most kInFlight slices held
        }
      }
    }
    w.bytes += buf.size();
    w.chunks.push_back(std::move(buf));
  }
  return w;
}

}  // namespace wgllm::kernels
