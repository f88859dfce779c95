#include "kernels/elementwise.h"

#include <algorithm>

namespace wgllm::kernels {
namespace {
constexpr uint32_t kWorkgroup = 256;
}

EltOp::EltOp(KernelContext& kc, const char* name, const char* entry, const std::string& act, EltParams params,
             uint32_t max_tokens, double bytes_per_element)
    : kc_(kc), params_(params), max_tokens_(max_tokens), bytes_per_element_(bytes_per_element), name_(name) {
  gpu::KernelSpec spec{entry, "elementwise.wgsl+activations.wgsl",
                       cat(kernel_source("elementwise.wgsl"), kernel_source("activations.wgsl")), variant_defines(kc, false)};
  spec.defines["WG"] = std::to_string(kWorkgroup);
  spec.defines["ACT"] = act;
  spec.entry = entry;
  pipe_ = &kc.pipelines.get(gpu::PipelineCache::with_params<EltParams>(spec));
  if ((params.n + kWorkgroup - 1) / kWorkgroup > kc.ctx.limits().max_compute_workgroups_per_dimension)
    fail(name, ": ", params.n, " elements per row exceed one dispatch (", kc.ctx.limits().max_compute_workgroups_per_dimension, " x ", kWorkgroup, ")");
  slot_ = kc.arena.alloc(params_);
}

void EltOp::bind(const std::vector<gpu::Binding>& buffers) {
  std::vector<gpu::Binding> all = buffers;
  all.push_back(kc_.arena.binding(slot_));
  group_ = gpu::BindGroup(kc_.ctx, *pipe_, all);
}

void EltOp::record(gpu::Recorder& rec, const StepShape& shape) {
  if (max_tokens_) require_tokens(name_, shape, max_tokens_);
  const uint32_t rows = max_tokens_ ? shape.n_tokens : 1;
  kc_.arena.set(slot_, params_);
  rec.dispatch(*pipe_, group_, {(params_.n + kWorkgroup - 1) / kWorkgroup, rows}, bytes_per_element_ * params_.n * rows);
}

Add::Add(KernelContext& kc, const gpu::Buffer& a, const gpu::Buffer& b, const gpu::Buffer& out, uint32_t n,
         uint32_t max_tokens)
    : EltOp(kc, "Add", a.handle() == out.handle() ? "add_in_place" : "add", "silu", {n, n, 0, n, 0, 1.0f}, max_tokens, 12) {
  for (const gpu::Buffer* buf : {&a, &b, &out}) require_bytes("Add", *buf, uint64_t(n) * std::max(1u, max_tokens) * 4);
  if (b.handle() == out.handle()) fail("Add: out '", out.label(), "' may alias a but not b");
  if (a.handle() == out.handle()) bind({out, b});
  else bind({a, b, out});
}

static const char* act_name(GateKind kind) { return kind == GateKind::SwiGLU ? "silu" : "gelu_tanh"; }

GatedActivation::GatedActivation(KernelContext& kc, const gpu::Buffer& gate, const gpu::Buffer& up,
                                 const gpu::Buffer& out, uint32_t dim, GateKind kind, uint32_t max_tokens)
    : EltOp(kc, "GatedActivation", "gated", act_name(kind), {dim, dim, 0, dim, 0, 1.0f}, max_tokens, 12) {
  for (const gpu::Buffer* buf : {&gate, &up, &out}) require_bytes("GatedActivation", *buf, uint64_t(dim) * max_tokens * 4);
  bind({gate, up, out});
}

GatedActivation::GatedActivation(KernelContext& kc, const gpu::Buffer& gate_up, const gpu::Buffer& out, uint32_t dim,
                                 GateKind kind, uint32_t max_tokens)
    : EltOp(kc, "GatedActivation", "gated", act_name(kind), {dim, 2 * dim, 0, 2 * dim, dim, 1.0f}, max_tokens, 12) {
  require_bytes("GatedActivation", gate_up, uint64_t(dim) * 2 * max_tokens * 4);
  require_bytes("GatedActivation", out, uint64_t(dim) * max_tokens * 4);
  bind({gate_up, gate_up, out});  // both read-only: one buffer may be bound twice
}

AddBias::AddBias(KernelContext& kc, const gpu::Buffer& x, const gpu::Buffer& bias, uint32_t dim, uint32_t max_tokens)
    : EltOp(kc, "AddBias", "add_in_place", "silu", {dim, 0, 0, 0, 0, 1.0f}, max_tokens, 8) {
  require_bytes("AddBias", x, uint64_t(dim) * max_tokens * 4);
  require_bytes("AddBias", bias, uint64_t(dim) * 4);
  bind({x, bias});
}

Softcap::Softcap(KernelContext& kc, const gpu::Buffer& x, uint32_t n, float cap, uint32_t max_tokens)
    : EltOp(kc, "Softcap", "softcap", "silu", {n, 0, 0, 0, 0, cap}, max_tokens, 8) {
  if (!(cap > 0)) fail("Softcap: the cap must be positive, got ", cap);
  require_bytes("Softcap", x, uint64_t(n) * std::max(1u, max_tokens) * 4);
  bind({x});
}

Scale::Scale(KernelContext& kc, const gpu::Buffer& x, uint32_t n, float s, uint32_t max_tokens)
    : EltOp(kc, "Scale", "scale", "silu", {n, 0, 0, 0, 0, s}, max_tokens, 8) {
  require_bytes("Scale", x, uint64_t(n) * std::max(1u, max_tokens) * 4);
  bind({x});
}

}  // namespace wgllm::kernels
