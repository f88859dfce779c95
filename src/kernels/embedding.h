// Embedding lookup: out[t] = scale * table[ids[t]] for t < n_tokens, dequantized from any GPU
// weight type. The ids live on the GPU (during decode the sampled token never returns to the
// CPU), so every chunk of the table gets a dispatch that serves the ids falling into it.
#pragma once
#include <vector>

#include "kernels/kernel_context.h"
#include "kernels/weights.h"

namespace wgllm::kernels {

struct EmbeddingParams {
  uint32_t n_tokens;
  uint32_t cols;
  uint32_t r1, r2;      // word offsets of the chunk's regions 1 and 2 (weights.h)
  uint32_t first_row;   // the chunk's first row (token id)
  uint32_t chunk_rows;
  uint32_t wg_x;
  float scale;          // Gemma multiplies embeddings by sqrt(dim); 1 otherwise
  static constexpr auto fields = std::make_tuple(
      gpu::param("n_tokens", &EmbeddingParams::n_tokens), gpu::param("cols", &EmbeddingParams::cols),
      gpu::param("r1", &EmbeddingParams::r1), gpu::param("r2", &EmbeddingParams::r2),
      gpu::param("first_row", &EmbeddingParams::first_row), gpu::param("chunk_rows", &EmbeddingParams::chunk_rows),
      gpu::param("wg_x", &EmbeddingParams::wg_x), gpu::param("scale", &EmbeddingParams::scale));
};

class EmbeddingLookup {
 public:
  // token_ids: u32 [max_tokens]; out: f32 [max_tokens][table.cols]. Ids >= table.rows leave
  // their output row unwritten. `table` must outlive this op.
  EmbeddingLookup(KernelContext& kc, const GpuWeight& table, const gpu::Buffer& token_ids, const gpu::Buffer& out,
                  uint32_t max_tokens, float scale);
  void record(gpu::Recorder& rec, const StepShape& shape);

 private:
  KernelContext& kc_;
  const GpuWeight& table_;
  uint32_t max_tokens_;
  float scale_;
  const gpu::Pipeline* pipeline_ = nullptr;
  std::vector<gpu::UniformArena::Slot> slots_;
  std::vector<gpu::BindGroup> groups_;
};

}  // namespace wgllm::kernels
