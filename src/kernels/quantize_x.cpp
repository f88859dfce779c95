#include "kernels/quantize_x.h"

#include "kernels/op_helpers.h"
#include "util/error.h"

namespace wgllm::kernels {

std::map<std::string, std::string> vec_input_defines(VecInput::Kind in) {
  using Kind = VecInput::Kind;
  const bool gated = in == Kind::SwiGLU || in == Kind::GeGLU;
  return {{"IN_PLAIN", in == Kind::Plain ? "" : "//"},
          {"IN_NORM", in == Kind::RmsNorm ? "" : "//"},
          {"IN_GATED", gated ? "" : "//"},
          {"IN_AUX", in == Kind::Plain ? "//" : ""},
          {"ACT", in == Kind::GeGLU ? "gelu_tanh" : "silu"}};
}

const char* vec_input_suffix(VecInput::Kind in) {
  const char* names[] = {"", "_norm", "_swiglu", "_geglu"};
  return names[int(in)];
}

QuantizeX::QuantizeX(KernelContext& kc, const VecInput& in, uint32_t cols, const std::string& label) : kc_(kc) {
  if (cols % 32 != 0) fail("quantize_x '", label, "': ", cols, " columns are not a multiple of 32");
  if (!in.x || (in.kind != VecInput::Kind::Plain && !in.aux)) fail("quantize_x '", label, "': missing input buffers");
  require_bytes("quantize_x", *in.x, uint64_t(cols) * 4);
  if (in.aux) require_bytes("quantize_x", *in.aux, uint64_t(cols) * 4);
  out_.cols = cols;
  out_.qs = kc.ctx.create_buffer(cols, gpu::kStorage, label + ".q8");
  out_.ds = kc.ctx.create_buffer(uint64_t(cols / 32) * 16, gpu::kStorage, label + ".q8_scales");
  out_.normed = in.kind == VecInput::Kind::RmsNorm;
  out_.eps = in.eps;
  gpu::KernelSpec spec{cat("quantize_x", vec_input_suffix(in.kind)), "quantize_x.wgsl+activations.wgsl",
                       cat(kernel_source("quantize_x.wgsl"), kernel_source("activations.wgsl")), vec_input_defines(in.kind)};
  pipeline_ = &kc.pipelines.get(gpu::PipelineCache::with_params<QuantizeXParams>(spec));
  const auto slot = kc.arena.alloc(QuantizeXParams{cols, in.eps});
  std::vector<gpu::Binding> b = {*in.x, out_.qs, out_.ds, kc.arena.binding(slot)};
  if (in.kind != VecInput::Kind::Plain) b.push_back(*in.aux);
  group_ = gpu::BindGroup(kc.ctx, *pipeline_, b);
}

void QuantizeX::record(gpu::Recorder& rec) {
  rec.dispatch(*pipeline_, group_, {(out_.cols + 255) / 256}, 4.0 * out_.cols * 1.5);
}

}  // namespace wgllm::kernels
