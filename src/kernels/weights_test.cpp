// GpuWeight: the repacked chunks hold exactly the GGUF bytes (rebuilt here from the regions as
// weights.h documents them), rows split into chunks under the binding limit, clear errors.
#include "kernels/weights.h"

#include <gtest/gtest.h>

#include "kernels/test_support.h"

#include <cstring>

#include "util/error.h"
#include "util/rng.h"

namespace wgllm::kernels {
namespace {

using testing::chunked_context;

// Where each GGUF block's bytes live in the regions, from the table in weights.h:
// {region, offset in the region's slot, offset in the GGUF block, length}.
struct Field {
  int region, at, gguf, len;
};
std::vector<Field> fields(TensorType t) {
  switch (t) {
    case TensorType::Q4_0: return {{0, 0, 2, 16}, {1, 0, 0, 2}};
    case TensorType::Q4_1: return {{0, 0, 4, 16}, {1, 0, 0, 4}};
    case TensorType::Q5_0: return {{0, 0, 6, 16}, {1, 0, 0, 2}, {2, 0, 2, 4}};
    case TensorType::Q5_1: return {{0, 0, 8, 16}, {1, 0, 0, 4}, {2, 0, 4, 4}};
    case TensorType::Q8_0: return {{0, 0, 2, 32}, {1, 0, 0, 2}};
    case TensorType::Q4_K: return {{0, 0, 16, 128}, {1, 0, 0, 16}};
    case TensorType::Q5_K: return {{0, 0, 48, 128}, {0, 128, 16, 32}, {1, 0, 0, 16}};
    case TensorType::Q6_K: return {{0, 0, 0, 192}, {1, 0, 192, 16}, {2, 0, 208, 2}};
    default: return {};
  }
}

const auto& kTypes = testing::kAllTypes;

TEST(GpuWeight, ChunksHoldTheGgufBytesInTheDocumentedLayout) {
  gpu::Context& ctx = chunked_context();
  for (TensorType t : kTypes) {
    const auto& info = tensor_type_info(t);
    const uint32_t cols = info.block_size == 1 ? 36 : info.block_size * 3, rows = 131;
    const size_t rb = row_bytes(t, cols);
    Rng rng(uint64_t(t) + 1);
    std::vector<uint8_t> gguf(rows * rb);
    for (auto& b : gguf) b = uint8_t(rng.next_u64());  // any bytes: the layout is what is checked
    GpuWeight w = upload_weight(ctx, "w", t, rows, cols, gguf.data());
    ASSERT_GE(w.chunks.size(), 2u) << info.name;
    uint64_t total = 0;
    for (size_t k = 0; k < w.chunks.size(); ++k) {
      const gpu::Buffer& buf = w.chunks[k];
      EXPECT_LE(buf.size(), 4096u);
      EXPECT_LT(buf.size(), w.chunk_rows(k) * rb + 16 * 3) << info.name;  // < 16 bytes per region of padding
      EXPECT_EQ(buf.size() % 16, 0u);
      total += buf.size();
      std::vector<uint8_t> got(buf.size());
      ctx.read(buf, got.data(), got.size());
      const uint8_t* src = gguf.data() + w.chunk_first_row(k) * rb;
      const uint32_t n = w.chunk_rows(k);
      const auto f = fields(t);
      if (f.empty()) {
        ASSERT_EQ(0, std::memcmp(got.data(), src, n * rb)) << info.name;
        continue;
      }
      const GpuLayout& l = gpu_layout(t);
      const auto r = region_offsets(t, n, cols);
      const uint64_t region_start[3] = {0, uint64_t(r[0]) * 4, uint64_t(r[1]) * 4};
      const uint64_t blocks = uint64_t(n) * cols / info.block_size;
      EXPECT_EQ(region_start[1] % 16, 0u);
      EXPECT_EQ(region_start[2] % 16, 0u);
      for (uint64_t b = 0; b < blocks; ++b) {
        for (const Field& fd : f) {
          const uint8_t* at = got.data() + region_start[fd.region] + b * l.region_bytes[fd.region] + fd.at;
          ASSERT_EQ(0, std::memcmp(at, src + b * info.type_size + fd.gguf, fd.len)) << info.name << " block " << b;
        }
      }
    }
    EXPECT_EQ(w.bytes, total);
    EXPECT_EQ(w.chunk_first_row(w.chunks.size() - 1) + w.chunk_rows(w.chunks.size() - 1), rows);
  }
}

TEST(GpuWeight, ErrorsNameTheTensorAndTheLimit) {
  gpu::Context& ctx = chunked_context();
  std::vector<uint8_t> data(1 << 16);
  try {
    upload_weight(ctx, "blk.3.attn_q.weight", TensorType::F16, 2, 6, data.data());
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "tensor 'blk.3.attn_q.weight': 6 columns of type F16 are not a multiple of 4 (the GPU kernels read whole blocks)");
  }
  try {
    upload_weight(ctx, "output.weight", TensorType::F32, 2, 2048, data.data());
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "tensor 'output.weight': one row of 8192 bytes does not fit the storage binding limit of 4096 bytes");
  }
}

}  // namespace
}  // namespace wgllm::kernels
