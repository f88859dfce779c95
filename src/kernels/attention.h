// KV cache writes and causal grouped-query attention (attention.wgsl).
#pragma once
#include <memory>

#include "kernels/op_helpers.h"
#include "kernels/quantize_x.h"

namespace wgllm::kernels {

// Bytes of one K or V cache: [max_ctx][kv_dim] of f32, or of f16 (2 per u32);
// kv_dim = n_kv_heads * head_dim.
uint64_t kv_cache_bytes(uint32_t max_ctx, uint32_t kv_dim, bool f16_cache);

// Sets KV_T (one 4-element group of a cache), KV_DECODE(x) -> vec4<f32> and KV_ENCODE(v) -> KV_T
// for a kernel that reads or writes caches: f32, f16 as packed u32 pairs, or native f16
// (native_f16: the kernel must enable f16).
void kv_cache_defines(gpu::KernelSpec& spec, bool f16_cache, bool native_f16);

struct AttentionParams {
  uint32_t n_heads, n_kv_heads, head_dim, pos;
  float scale, softcap;
  uint32_t window, split_len, n_splits;
  uint32_t n_tokens;  // query tokens of the step (prefill)
  static constexpr auto fields = std::make_tuple(
      gpu::param("n_heads", &AttentionParams::n_heads), gpu::param("n_kv_heads", &AttentionParams::n_kv_heads),
      gpu::param("head_dim", &AttentionParams::head_dim), gpu::param("pos", &AttentionParams::pos),
      gpu::param("scale", &AttentionParams::scale), gpu::param("softcap", &AttentionParams::softcap),
      gpu::param("window", &AttentionParams::window), gpu::param("split_len", &AttentionParams::split_len),
      gpu::param("n_splits", &AttentionParams::n_splits), gpu::param("n_tokens", &AttentionParams::n_tokens));
};

// Writes this step's K and V rows into the caches at rows shape.pos .. shape.pos + n_tokens - 1.
// k, v: f32 [max_tokens][kv_dim] (kv_dim = n_kv_heads * head_dim, a multiple of 4); caches as
// kv_cache_bytes() (f16_cache: f16, written with pack2x16float, or as f16 when kc.use_f16).
class KvCacheWrite {
 public:
  KvCacheWrite(KernelContext& kc, const gpu::Buffer& k, const gpu::Buffer& v, const gpu::Buffer& k_cache,
               const gpu::Buffer& v_cache, uint32_t kv_dim, uint32_t max_ctx, bool f16_cache, uint32_t max_tokens);
  void record(gpu::Recorder& rec, const StepShape& shape);

 private:
  KernelContext& kc_;
  const gpu::Pipeline* pipe_;
  gpu::BindGroup group_;
  gpu::UniformArena::Slot slot_;
  AttentionParams params_{};
  uint32_t max_ctx_, max_tokens_;
  bool f16_cache_;
};

// out[t][h] = softmax_j(cap(q[t][h] . k[j][h / (n_heads / n_kv_heads)] * scale)) v[j][...] over
// the keys j that query t (position p = shape.pos + t) sees: j <= p and, with a sliding window,
// p - j < sliding_window. cap(x) = softcap * tanh(x / softcap) when softcap > 0 (Gemma-2).
// q, out: f32 [max_tokens][n_heads * head_dim]; caches as KvCacheWrite (rows 0..pos+n_tokens-1
// written). head_dim: a multiple of 4, at most 256; n_heads a multiple of n_kv_heads.
// Decoding (n_tokens == 1) runs the `decode` kernel: one workgroup per block of query heads that
// share a kv head (K/V read once per block); a context longer than split_keys is split into runs
// of split_keys keys, one workgroup each, merged by a second pass (scratch owned by the op).
// split_keys 128 measured best on an H100 for Llama-3-8B shapes at 131..4001 keys.
// Prefill runs `prefill` (attention_prefill.wgsl): one workgroup per (block of query tokens,
// query head), each tile of K and V rows staged once for the block; with kc.attn_tiled off, or
// where no tile's workgroup memory fits the adapter, `attend`: one workgroup per (query head, token).
class Attention {
 public:
  Attention(KernelContext& kc, const gpu::Buffer& q, const gpu::Buffer& k_cache, const gpu::Buffer& v_cache,
            const gpu::Buffer& out, uint32_t n_heads, uint32_t n_kv_heads, uint32_t head_dim, uint32_t max_ctx,
            float scale, float softcap, uint32_t sliding_window, bool f16_cache, uint32_t max_tokens,
            uint32_t split_keys = 128);
  void record(gpu::Recorder& rec, const StepShape& shape);
  uint32_t last_splits() const { return params_.n_splits; }  // splits of the last record()
  // From now on decode steps also write the output int8-quantized (quantize_x.h's layout) into
  // the returned buffers, owned by this op, for the output projection's int8 matvec; nullptr
  // (and nothing changed) when head_dim is not a multiple of 32.
  const QuantizedX* enable_quantized_output(const std::string& label);

 private:
  void bind_decode(bool splits);
  KernelContext& kc_;
  const gpu::Buffer &q_, &k_cache_, &v_cache_, &out_;
  std::unique_ptr<QuantizedX> qout_;
  const gpu::Pipeline *attend_ = nullptr, *decode_ = nullptr, *combine_ = nullptr;
  uint32_t prefill_tokens_ = 0;  // query tokens per prefill workgroup; 0: attend_ is `attend`
  gpu::Buffer scratch_;
  gpu::BindGroup attend_group_, decode_group_, combine_group_;
  uint32_t heads_per_block_;
  gpu::UniformArena::Slot attend_slot_, combine_slot_;
  AttentionParams params_{};
  uint32_t max_ctx_, max_tokens_, split_keys_;
  double cache_elem_bytes_;
};

}  // namespace wgllm::kernels
