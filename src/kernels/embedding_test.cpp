// EmbeddingLookup against dequantize_row for every weight type, ids read from a GPU buffer, and
// a table split into many chunks (a 4 KiB binding limit) giving the same bits as one chunk.
#include "kernels/embedding.h"

#include <gtest/gtest.h>

#include "kernels/test_support.h"

#include "util/rng.h"

namespace wgllm::kernels {
namespace {

using testing::chunked_context;
using testing::nmse;
using testing::shared_context;


const auto& kTypes = testing::kAllTypes;

uint32_t test_cols(TensorType t) {
  const uint32_t b = tensor_type_info(t).block_size;
  return b == 1 ? 100 : b == 32 ? 96 : 256;  // odd block counts
}

// Looks up `ids` (out holds 999 beforehand) and returns out.
std::vector<float> lookup(gpu::Context& ctx, TensorType t, uint32_t rows, uint32_t cols, const std::vector<uint8_t>& gguf,
                          const std::vector<uint32_t>& ids, float scale, size_t* chunks) {
  KernelContext kc(ctx);
  GpuWeight table = upload_weight(ctx, "token_embd.weight", t, rows, cols, gguf.data());
  *chunks = table.chunks.size();
  const uint32_t n = uint32_t(ids.size());
  gpu::Buffer idb = ctx.create_buffer(n * 4, gpu::kStorage, "ids");
  gpu::Buffer out = ctx.create_buffer(uint64_t(n) * cols * 4, gpu::kStorage, "out");
  ctx.write(idb, ids.data(), n * 4);
  std::vector<float> fill(size_t(n) * cols, 999.0f);
  ctx.write(out, fill.data(), fill.size() * 4);
  EmbeddingLookup emb(kc, table, idb, out, n, scale);
  auto rec = kc.recorder();
  emb.record(rec, StepShape{n, 0});
  rec.submit();
  return ctx.read_vector<float>(out, fill.size());
}

TEST(Embedding, EveryTypeMatchesDequantizedRowsAcrossChunks) {
  const float scale = 1.6875f;  // as Gemma's sqrt(dim), a non-trivial factor
  uint64_t seed = 1;
  for (TensorType t : kTypes) {
    const uint32_t rows = 131, cols = test_cols(t);
    Rng rng(++seed);
    std::vector<uint8_t> gguf(rows * row_bytes(t, cols));
    std::vector<float> row(cols), deq(size_t(rows) * cols);
    for (uint32_t r = 0; r < rows; ++r) {
      for (auto& v : row) v = rng.normal();
      quantize_row(t, row.data(), gguf.data() + r * row_bytes(t, cols), cols);
      dequantize_row(t, gguf.data() + r * row_bytes(t, cols), deq.data() + size_t(r) * cols, cols);
    }
    // First and last rows (first and last chunk when split), random ones, a repeat.
    const std::vector<uint32_t> ids = {rows - 1, 0, uint32_t(rng.below(rows)), uint32_t(rng.below(rows)), rows - 1};
    size_t one = 0, many = 0;
    const auto a = lookup(shared_context(), t, rows, cols, gguf, ids, scale, &one);
    // x within the 4 KiB binding limit: 3 tokens at a time.
    const std::vector<uint32_t> ids3(ids.begin(), ids.begin() + 3);
    const auto b = lookup(chunked_context(), t, rows, cols, gguf, ids3, scale, &many);
    EXPECT_EQ(one, 1u);
    EXPECT_GE(many, 2u) << tensor_type_name(t);
    double err = 0, ref2 = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      for (uint32_t c = 0; c < cols; ++c) {
        const double ref = double(deq[size_t(ids[i]) * cols + c]) * scale;
        const double got = a[i * cols + c];
        err += (got - ref) * (got - ref), ref2 += ref * ref;
      }
    }
    // Exact dequantization; only a fused multiply-add in the GPU's decode or the scale rounds.
    EXPECT_LT(err / ref2, 1e-13) << tensor_type_name(t);
    EXPECT_TRUE(std::equal(b.begin(), b.end(), a.begin())) << tensor_type_name(t) << " split into " << many << " chunks";
  }
}

TEST(Embedding, IdsOutsideTheTableLeaveTheirRowUnwritten) {
  const uint32_t rows = 5, cols = 64;
  Rng rng(3);
  std::vector<float> data(rows * cols);
  for (auto& v : data) v = rng.normal();
  std::vector<uint8_t> gguf(rows * row_bytes(TensorType::Q8_0, cols));
  for (uint32_t r = 0; r < rows; ++r) quantize_row(TensorType::Q8_0, &data[r * cols], &gguf[r * row_bytes(TensorType::Q8_0, cols)], cols);
  size_t chunks = 0;
  const auto out = lookup(shared_context(), TensorType::Q8_0, rows, cols, gguf, {2, rows, 4}, 1.0f, &chunks);
  for (uint32_t c = 0; c < cols; ++c) ASSERT_EQ(out[cols + c], 999.0f);
  EXPECT_NE(out[0], 999.0f);
}

}  // namespace
}  // namespace wgllm::kernels
