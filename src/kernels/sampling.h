// Argmax and top-k of one row of logits on the GPU (sampling.wgsl): the CPU reads back 4 bytes
// (greedy) or k pairs (sampling from the top k) per token instead of the whole vocabulary.
#pragma once
#include "kernels/op_helpers.h"

namespace wgllm::kernels {

// The k best (id, value) of a logits row, ordered by value descending, ties by smaller id.
// logits: f32 [logits_rows][n_vocab]; record() reads the step's last token's row
// (shape.n_tokens - 1, or row 0 when logits_rows is 1: logits computed for the last token
// only). out: k pairs {u32 id, f32 value}; k <= 64. Ids 0xffffffff mark "none" (only when
// fewer than k logits are above -FLT_MAX). NaN logits are not supported.
class TopK {
 public:
  TopK(KernelContext& kc, const gpu::Buffer& logits, const gpu::Buffer& out, uint32_t n_vocab, uint32_t k,
       uint32_t logits_rows = 1);
  void record(gpu::Recorder& rec, const StepShape& shape);
  void record_row(gpu::Recorder& rec, uint32_t row);

  struct Params {
    uint32_t n, offset, k, chunk, n_groups, ids_only;
    static constexpr auto fields = std::make_tuple(gpu::param("n", &Params::n), gpu::param("offset", &Params::offset),
                                                   gpu::param("k", &Params::k), gpu::param("chunk", &Params::chunk),
                                                   gpu::param("n_groups", &Params::n_groups),
                                                   gpu::param("ids_only", &Params::ids_only));
  };

 protected:
  TopK(KernelContext& kc, const gpu::Buffer& logits, const gpu::Buffer& out, uint32_t n_vocab, uint32_t k,
       uint32_t logits_rows, uint32_t elements_per_group, bool ids_only, const char* name);
  KernelContext& kc_;
  const gpu::Pipeline *part_, *merge_;
  gpu::Buffer candidates_;
  gpu::BindGroup part_group_, merge_group_;
  gpu::UniformArena::Slot part_slot_, merge_slot_;
  Params params_;
  uint32_t logits_rows_;
  const char* name_;
};

// The id of the largest logit (ties: the smallest id) into out_id: u32 [1].
class Argmax : public TopK {
 public:
  Argmax(KernelContext& kc, const gpu::Buffer& logits, const gpu::Buffer& out_id, uint32_t n_vocab,
         uint32_t logits_rows = 1);
};

}  // namespace wgllm::kernels
