#include "kernels/embedding.h"

#include "kernels/matmul.h"
#include "util/error.h"

namespace wgllm::kernels {

constexpr uint32_t kEmbeddingWg = 64;

EmbeddingLookup::EmbeddingLookup(KernelContext& kc, const GpuWeight& table, const gpu::Buffer& token_ids,
                                 const gpu::Buffer& out, uint32_t max_tokens, float scale)
    : kc_(kc), table_(table), max_tokens_(max_tokens), scale_(scale) {
  if (token_ids.size() < uint64_t(max_tokens) * 4)
    fail("embedding '", table.name, "': id buffer '", token_ids.label(), "' holds ", token_ids.size(), " bytes, needs ",
         max_tokens, " ids");
  if (out.size() < uint64_t(max_tokens) * table.cols * 4)
    fail("embedding '", table.name, "': output buffer '", out.label(), "' holds ", out.size(), " bytes, needs ", max_tokens,
         " x ", table.cols, " floats");
  auto defines = weight_defines(table.type);
  defines["ENABLES"] = "";
  defines["WG"] = std::to_string(kEmbeddingWg);
  gpu::KernelSpec spec{cat("embedding_", tensor_type_name(table.type)), "weights.wgsl+embedding.wgsl",
                       cat(kernel_source("weights.wgsl"), kernel_source("embedding.wgsl")), defines};
  pipeline_ = &kc.pipelines.get(gpu::PipelineCache::with_params<EmbeddingParams>(spec));
  for (size_t k = 0; k < table.chunks.size(); ++k) {
    slots_.push_back(kc.arena.alloc(EmbeddingParams{}));
    groups_.emplace_back(kc.ctx, *pipeline_,
                         std::vector<gpu::Binding>{table.chunks[k], table.chunks[k], token_ids, out, kc.arena.binding(slots_.back())});
  }
}

void EmbeddingLookup::record(gpu::Recorder& rec, const StepShape& shape) {
  if (shape.n_tokens == 0 || shape.n_tokens > max_tokens_)
    fail("embedding '", table_.name, "': ", shape.n_tokens, " tokens, built for at most ", max_tokens_);
  const gpu::Groups g = linear_groups(kc_.ctx, shape.n_tokens);
  for (size_t k = 0; k < table_.chunks.size(); ++k) {
    const uint32_t rows = table_.chunk_rows(k);
    const auto r = region_offsets(table_.type, rows, table_.cols);
    kc_.arena.set(slots_[k], EmbeddingParams{shape.n_tokens, table_.cols, r[0], r[1], table_.chunk_first_row(k), rows,
                                             g.x, scale_});
    // Reads at most one table row per token, writes one output row per token.
    const double row_bytes = double(table_.chunks[k].size()) / rows;
    rec.dispatch(*pipeline_, groups_[k], g, shape.n_tokens * (row_bytes + 4.0 + 4.0 * table_.cols));
  }
}

}  // namespace wgllm::kernels
