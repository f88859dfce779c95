#include "kernels/norm.h"

namespace wgllm::kernels {
namespace {

struct NormParams {
  uint32_t dim;
  float eps;
  static constexpr auto fields = std::make_tuple(gpu::param("dim", &NormParams::dim), gpu::param("eps", &NormParams::eps));
};

}  // namespace

RmsNorm::RmsNorm(KernelContext& kc, const gpu::Buffer& x, const gpu::Buffer& weight, const gpu::Buffer& y,
                 uint32_t dim, float eps, uint32_t max_tokens)
    : kc_(kc), dim_(dim), max_tokens_(max_tokens), eps_(eps) {
  const uint64_t act = uint64_t(dim) * max_tokens * 4;
  require_bytes("RmsNorm", x, act);
  require_bytes("RmsNorm", y, act);
  require_bytes("RmsNorm", weight, uint64_t(dim) * 4);
  gpu::KernelSpec spec{"rms_norm", "norm.wgsl+block_reduce.wgsl", cat(kernel_source("norm.wgsl"), kernel_source("block_reduce.wgsl")),
                       variant_defines(kc, false)};
  spec.defines["WG"] = "256";
  pipe_ = &kc.pipelines.get(gpu::PipelineCache::with_params<NormParams>(spec));
  slot_ = kc.arena.alloc(NormParams{dim, eps});
  group_ = gpu::BindGroup(kc.ctx, *pipe_, {x, weight, y, kc.arena.binding(slot_)});
}

void RmsNorm::record(gpu::Recorder& rec, const StepShape& shape) {
  require_tokens("RmsNorm", shape, max_tokens_);
  kc_.arena.set(slot_, NormParams{dim_, eps_});
  rec.dispatch(*pipe_, group_, {shape.n_tokens}, 8.0 * dim_ * shape.n_tokens + 4.0 * dim_);
}

}  // namespace wgllm::kernels
