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
    uint32_t n_heads, n_kv_heads, head_dim, rotary_dim, neox, pos;
    float attn_factor;
    uint32_t first_row = 0;  // MatMul::rope_output only: the weight's first row within q | k | v
    static constexpr auto fields = std::make_tuple(
        gpu::param("n_heads", &Params::n_heads), gpu::param("n_kv_heads", &Params::n_kv_heads),
        gpu::param("head_dim", &Params::head_dim),
        gpu::param("rotary_dim", &Params::rotary_dim), gpu::param("neox", &Params::neox), gpu::param("pos", &Params::pos),
        gpu::param("attn_factor", &Params::attn_factor), gpu::param("first_row", &Params::first_row));
  };

 private:
  KernelContext& kc_;
  const gpu::Pipeline* pipe_;
  gpu::BindGroup group_;
  gpu::UniformArena::Slot slot_;
  Params params_;
  uint32_t max_tokens_;
};

// One dispatch per layer for what Rope(q), Rope(k) and KvCacheWrite do: rotates q in place
// (as Rope), and writes the rotated k and the v of tokens t < n_tokens into rows pos + t of the
// caches (as Rope on k followed by KvCacheWrite; k and v themselves are left unchanged).
// q: f32 [max_tokens][n_heads * head_dim]; k, v: f32 [max_tokens][n_kv_heads * head_dim];
// caches: kv_cache_bytes(max_ctx, n_kv_heads * head_dim, f16_cache) (attention.h), f16 written
// with pack2x16float (or as f16 when kc.use_f16). head_dim: a multiple of 4.
class RopeKvWrite {
 public:
  RopeKvWrite(KernelContext& kc, const gpu::Buffer& q, const gpu::Buffer& k, const gpu::Buffer& v,
              const gpu::Buffer& k_cache, const gpu::Buffer& v_cache, uint32_t n_heads, uint32_t n_kv_heads,
              uint32_t head_dim, uint32_t rotary_dim, bool neox, const gpu::Buffer& inv_freq, float attn_factor,
              uint32_t max_ctx, bool f16_cache, uint32_t max_tokens);
  void record(gpu::Recorder& rec, const StepShape& shape);

 private:
  KernelContext& kc_;
  const gpu::Pipeline* pipe_;
  gpu::BindGroup group_;
  gpu::UniformArena::Slot slot_;
  Rope::Params params_;
  uint32_t max_ctx_, max_tokens_;
  double cache_elem_bytes_;
};

}  // namespace wgllm::kernels
