// Rotary position embedding (rope.wgsl), in place.
#pragma once
#include "kernels/op_helpers.h"

namespace wgllm::kernels {

// For token t (position shape.pos + t), head h and pair i < rotary_dim / 2, with
// angle = position * inv_freq[i], rotates (x0, x1) by angle and multiplies by attn_factor:
//   x0' = (x0 cos - x1 sin) * attn_factor, x1' = (x0 sin + x1 cos) * attn_factor,
// where (x0, x1) = (x[i], x[i + rotary_dim/2]) when neox, else (x[2i], x[2i + 1]).
// qk: f32 [max_tokens][n_heads * head_dim]; inv_freq: f32 [rotary_dim / 2], computed on the CPU
// (Llama-3 scaling, long-rope factors included); attn_factor: 1 unless Phi-3 long-rope.
class Rope {
 public:
  Rope(KernelContext& kc, const gpu::Buffer& qk, uint32_t n_heads, uint32_t head_dim, uint32_t rotary_dim, bool neox,
       const gpu::Buffer& inv_freq, float attn_factor, uint32_t max_tokens);
  void record(gpu::Recorder& rec, const StepShape& shape);

  struct Params {
    uint32_t n_heads, head_dim, rotary_dim, neox, pos;
    float attn_factor;
    static constexpr auto fields = std::make_tuple(
        gpu::param("n_heads", &Params::n_heads), gpu::param("head_dim", &Params::head_dim),
        gpu::param("rotary_dim", &Params::rotary_dim), gpu::param("neox", &Params::neox), gpu::param("pos", &Params::pos),
        gpu::param("attn_factor", &Params::attn_factor));
  };

 private:
  KernelContext& kc_;
  const gpu::Pipeline* pipe_;
  gpu::BindGroup group_;
  gpu::UniformArena::Slot slot_;
  Params params_;
  uint32_t max_tokens_;
};

}  // namespace wgllm::kernels
