// Weight matrices on the GPU: GGUF blocks repacked at load into the layout the kernels read
// fastest, split by whole rows into chunks that each fit one storage-buffer binding.
//
// A weight W is [rows][cols] (row r is output r of a matmul, or embedding r of a table). Chunk k
// holds rows [k * rows_per_chunk, min(rows, (k+1) * rows_per_chunk)). Within a chunk of n rows,
// with B = n * cols / block_size blocks numbered row-major, the bytes are regions laid one after
// another (structure of arrays), each region an array over the B blocks:
//
//   type   block  region 0 (16-byte aligned)        region 1               region 2
//   F32      4    4 x f32 (as GGUF)                 -                      -
//   F16      4    4 x f16 (as GGUF)                 -                      -
//   BF16     4    4 x bf16 (as GGUF: kept as bf16,  -                      -
//                 widened to f32 in registers by a shift, exactly)
//   Q4_0    32    qs[16]                            f16 d                  -
//   Q4_1    32    qs[16]                            f16 d, f16 m           -
//   Q5_0    32    qs[16]                            f16 d                  u32 qh
//   Q5_1    32    qs[16]                            f16 d, f16 m           u32 qh
//   Q8_0    32    i8 qs[32]                         f16 d                  -
//   Q4_K   256    qs[128]                           f16 d, f16 dmin, u8 scales[12]
//   Q5_K   256    qs[128], qh[32]                   f16 d, f16 dmin, u8 scales[12]
//   Q6_K   256    ql[128], qh[64]                   i8 scales[16]          f16 d
//
// (the float types use 4-element "blocks" so a kernel reads them 16 or 8 bytes at a time.)
// Every field keeps its GGUF bit layout inside the block; only the block's fields are pulled
// apart, so that the quants are 16-byte aligned for vector loads and no region needs unaligned
// 2-byte reads. Each region after the first starts at a 16-byte multiple (the sizes above make
// that automatic); the chunk is padded to 16 bytes. Total overhead vs GGUF: < 16 bytes per chunk.
// region_offsets() gives each region's start in 4-byte words, which kernels take as parameters.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "format/tensor_types.h"
#include "gpu/context.h"

namespace wgllm::kernels {

struct GpuWeight {
  std::string name;
  TensorType type;
  uint32_t rows, cols;
  uint32_t rows_per_chunk;          // every chunk but the last holds exactly this many rows
  std::vector<gpu::Buffer> chunks;  // layout: see above
  uint64_t bytes;                   // bytes of all chunks (GPU memory held)

  uint32_t chunk_rows(size_t k) const;  // rows in chunk k
  uint32_t chunk_first_row(size_t k) const { return uint32_t(k) * rows_per_chunk; }
};

// How a type is laid out on the GPU (the table above).
struct GpuLayout {
  uint32_t block_elems;                // elements per block
  std::array<uint32_t, 3> region_bytes;  // bytes per block in each region (0 = unused)
};
const GpuLayout& gpu_layout(TensorType type);

// Word (4-byte) offsets of regions 1 and 2 in a chunk of `rows` rows.
std::array<uint32_t, 2> region_offsets(TensorType type, uint32_t rows, uint32_t cols);

// The smallest column multiple the kernels accept for a type (a whole GPU block).
uint32_t gpu_col_multiple(TensorType type);

// Uploads `rows` x row_bytes(type, cols) bytes of GGUF data (e.g. straight from the mmap),
// repacking one slice of rows at a time (never the whole tensor in one CPU buffer).
GpuWeight upload_weight(gpu::Context& ctx, const std::string& name, TensorType type, uint32_t rows,
                        uint32_t cols, const uint8_t* gguf_data);

// One weight of several GGUF matrices of one type and width stacked by rows (q | k | v, gate |
// up), so that one dispatch multiplies by all of them.
struct WeightPart {
  const uint8_t* gguf_data;
  uint32_t rows;
};
GpuWeight upload_weight(gpu::Context& ctx, const std::string& name, TensorType type, uint32_t cols,
                        const std::vector<WeightPart>& parts);

}  // namespace wgllm::kernels
