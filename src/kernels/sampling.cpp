#include "kernels/sampling.h"

#include <algorithm>

namespace wgllm::kernels {
namespace {
constexpr uint32_t kWorkgroup = 128;
}

TopK::TopK(KernelContext& kc, const gpu::Buffer& logits, const gpu::Buffer& out, uint32_t n_vocab, uint32_t k,
           uint32_t logits_rows)
    : TopK(kc, logits, out, n_vocab, k, logits_rows, 4096, false, "TopK") {}

// Pass 1 uses one workgroup per elements_per_group logits (at most 256 groups), so pass 2 has
// at most 256 * k candidates.
TopK::TopK(KernelContext& kc, const gpu::Buffer& logits, const gpu::Buffer& out, uint32_t n_vocab, uint32_t k,
           uint32_t logits_rows, uint32_t elements_per_group, bool ids_only, const char* name)
    : kc_(kc), logits_rows_(std::max(1u, logits_rows)), name_(name) {
  if (k == 0 || k > 64) fail(name, ": k ", k, " must be in 1..64");
  if (n_vocab == 0) fail(name, ": empty vocabulary");
  require_bytes(name, logits, uint64_t(n_vocab) * logits_rows_ * 4);
  require_bytes(name, out, uint64_t(k) * (ids_only ? 4 : 8));
  const uint32_t groups = std::clamp((n_vocab + elements_per_group - 1) / elements_per_group, 1u, 256u);
  const uint32_t chunk = (n_vocab + groups - 1) / groups;
  params_ = {n_vocab, 0, k, chunk, groups, ids_only ? 1u : 0u};
  candidates_ = kc.ctx.create_buffer(uint64_t(groups) * k * 8, gpu::kStorage, "top-k-candidates");
  gpu::KernelSpec spec{"top_k", "sampling.wgsl", std::string(kernel_source("sampling.wgsl")), variant_defines(kc, false)};
  spec.defines["WG"] = std::to_string(kWorkgroup);
  spec = gpu::PipelineCache::with_params<Params>(spec);
  spec.entry = "top_k_part";
  part_ = &kc.pipelines.get(spec);
  spec.entry = "top_k_merge";
  merge_ = &kc.pipelines.get(spec);
  part_slot_ = kc.arena.alloc(params_);
  merge_slot_ = kc.arena.alloc(params_);
  part_group_ = gpu::BindGroup(kc.ctx, *part_, {logits, candidates_, out, kc.arena.binding(part_slot_)});
  merge_group_ = gpu::BindGroup(kc.ctx, *merge_, {logits, candidates_, out, kc.arena.binding(merge_slot_)});
}

void TopK::record(gpu::Recorder& rec, const StepShape& shape) {
  record_row(rec, logits_rows_ == 1 ? 0 : shape.n_tokens - 1);
}

void TopK::record_row(gpu::Recorder& rec, uint32_t row) {
  if (row >= logits_rows_) fail(name_, ": logits row ", row, " of a buffer of ", logits_rows_, " rows");
  params_.offset = row * params_.n;
  kc_.arena.set(part_slot_, params_);
  kc_.arena.set(merge_slot_, params_);
  rec.dispatch(*part_, part_group_, {params_.n_groups}, 4.0 * params_.n);
  rec.dispatch(*merge_, merge_group_, {1}, 16.0 * params_.n_groups * params_.k);
}

// k = 1: pass 1 needs no rounds, so give each group fewer logits (more of the GPU at work).
Argmax::Argmax(KernelContext& kc, const gpu::Buffer& logits, const gpu::Buffer& out_id, uint32_t n_vocab,
               uint32_t logits_rows)
    : TopK(kc, logits, out_id, n_vocab, 1, logits_rows, 1024, true, "Argmax") {}

}  // namespace wgllm::kernels
