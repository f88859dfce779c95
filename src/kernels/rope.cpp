#include "kernels/rope.h"

namespace wgllm::kernels {
namespace {
constexpr uint32_t kWorkgroup = 64;
}

Rope::Rope(KernelContext& kc, const gpu::Buffer& qk, uint32_t n_heads, uint32_t head_dim, uint32_t rotary_dim,
           bool neox, const gpu::Buffer& inv_freq, float attn_factor, uint32_t max_tokens)
    : kc_(kc), params_{n_heads, head_dim, rotary_dim, neox ? 1u : 0u, 0, attn_factor}, max_tokens_(max_tokens) {
  if (rotary_dim == 0 || rotary_dim % 2 || rotary_dim > head_dim)
    fail("Rope: rotary_dim ", rotary_dim, " must be even and in 2..head_dim (", head_dim, ")");
  require_bytes("Rope", qk, uint64_t(max_tokens) * n_heads * head_dim * 4);
  require_bytes("Rope", inv_freq, uint64_t(rotary_dim / 2) * 4);
  gpu::KernelSpec spec{"rope", "rope.wgsl", std::string(kernel_source("rope.wgsl")), variant_defines(kc, false)};
  spec.defines["WG"] = std::to_string(kWorkgroup);
  pipe_ = &kc.pipelines.get(gpu::PipelineCache::with_params<Params>(spec));
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

}  // namespace wgllm::kernels
