#include "kernels/rope.h"

#include "kernels/attention.h"

namespace wgllm::kernels {
namespace {

constexpr uint32_t kWorkgroup = 64;

void check_rotary(const char* op, uint32_t head_dim, uint32_t rotary_dim) {
  if (rotary_dim == 0 || rotary_dim % 2 || rotary_dim > head_dim)
    fail(op, ": rotary_dim ", rotary_dim, " must be even and in 2..head_dim (", head_dim, ")");
}

// Both entry points live in rope.wgsl; `main` never touches the caches, so it takes the f32 ones.
const gpu::Pipeline& rope_pipeline(KernelContext& kc, const char* entry, bool f16_cache) {
  const bool native_f16 = f16_cache && kc.use_f16;
  gpu::KernelSpec spec{entry, "rope.wgsl+rope_math.wgsl", cat(kernel_source("rope.wgsl"), kernel_source("rope_math.wgsl")),
                       variant_defines(kc, native_f16)};
  spec.entry = entry;
  spec.defines["WG"] = std::to_string(kWorkgroup);
  kv_cache_defines(spec, f16_cache, native_f16);
  return kc.pipelines.get(gpu::PipelineCache::with_params<Rope::Params>(spec));
}

}  // namespace

Rope::Rope(KernelContext& kc, const gpu::Buffer& qk, uint32_t n_heads, uint32_t head_dim, uint32_t rotary_dim,
           bool neox, const gpu::Buffer& inv_freq, float attn_factor, uint32_t max_tokens)
    : kc_(kc), params_{n_heads, 0, head_dim, rotary_dim, neox ? 1u : 0u, 0, attn_factor}, max_tokens_(max_tokens) {
  check_rotary("Rope", head_dim, rotary_dim);
  require_bytes("Rope", qk, uint64_t(max_tokens) * n_heads * head_dim * 4);
  require_bytes("Rope", inv_freq, uint64_t(rotary_dim / 2) * 4);
  pipe_ = &rope_pipeline(kc, "main", false);
  slot_ = kc.arena.alloc(params_);
  group_ = gpu::BindGroup(kc.ctx, *pipe_, {qk, inv_freq, kc.arena.binding(slot_)});
}

void Rope::record(gpu::Recorder& rec, const StepShape& shape) {
  require_tokens("Rope", shape, max_tokens_);
  params_.pos = shape.pos;
  kc_.arena.set(slot_, params_);
  const uint32_t pairs = params_.n_heads * params_.rotary_dim / 2;
  rec.dispatch(*pipe_, group_, {(pairs + kWorkgroup - 1) / kWorkgroup, shape.n_tokens}, 16.0 * pairs * shape.n_tokens);
}

RopeKvWrite::RopeKvWrite(KernelContext& kc, const gpu::Buffer& q, const gpu::Buffer& k, const gpu::Buffer& v,
                         const gpu::Buffer& k_cache, const gpu::Buffer& v_cache, uint32_t n_heads,
                         uint32_t n_kv_heads, uint32_t head_dim, uint32_t rotary_dim, bool neox,
                         const gpu::Buffer& inv_freq, float attn_factor, uint32_t max_ctx, bool f16_cache,
                         uint32_t max_tokens)
    : kc_(kc),
      params_{n_heads, n_kv_heads, head_dim, rotary_dim, neox ? 1u : 0u, 0, attn_factor},
      max_ctx_(max_ctx),
      max_tokens_(max_tokens),
      cache_elem_bytes_(f16_cache ? 2 : 4) {
  check_rotary("RopeKvWrite", head_dim, rotary_dim);
  if (head_dim % 4) fail("RopeKvWrite: head_dim ", head_dim, " must be a multiple of 4");
  const uint32_t kv_dim = n_kv_heads * head_dim;
  require_bytes("RopeKvWrite", q, uint64_t(max_tokens) * n_heads * head_dim * 4);
  require_bytes("RopeKvWrite", k, uint64_t(max_tokens) * kv_dim * 4);
  require_bytes("RopeKvWrite", v, uint64_t(max_tokens) * kv_dim * 4);
  require_bytes("RopeKvWrite", k_cache, kv_cache_bytes(max_ctx, kv_dim, f16_cache));
  require_bytes("RopeKvWrite", v_cache, kv_cache_bytes(max_ctx, kv_dim, f16_cache));
  require_bytes("RopeKvWrite", inv_freq, uint64_t(rotary_dim / 2) * 4);
  pipe_ = &rope_pipeline(kc, "rope_kv", f16_cache);
  slot_ = kc.arena.alloc(params_);
  group_ = gpu::BindGroup(kc.ctx, *pipe_, {q, inv_freq, kc.arena.binding(slot_), k, v, k_cache, v_cache});
}

void RopeKvWrite::record(gpu::Recorder& rec, const StepShape& shape) {
  require_tokens("RopeKvWrite", shape, max_tokens_);
  if (uint64_t(shape.pos) + shape.n_tokens > max_ctx_)
    fail("RopeKvWrite: positions ", shape.pos, "..", shape.pos + shape.n_tokens - 1, " exceed the context of ", max_ctx_);
  params_.pos = shape.pos;
  kc_.arena.set(slot_, params_);
  const uint32_t q_pairs = params_.n_heads * params_.rotary_dim / 2;
  const uint32_t kv4 = params_.n_kv_heads * params_.head_dim / 4;
  const double q_bytes = 8.0 * params_.n_heads * params_.head_dim;
  const double kv_bytes = 2.0 * params_.n_kv_heads * params_.head_dim * (4 + cache_elem_bytes_);
  rec.dispatch(*pipe_, group_, {(q_pairs + kv4 + kWorkgroup - 1) / kWorkgroup, shape.n_tokens},
               shape.n_tokens * (q_bytes + kv_bytes));
}

}  // namespace wgllm::kernels
