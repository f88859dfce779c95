// Elementwise ops on activations [n_tokens][n] (elementwise.wgsl). Each works on the first
// shape.n_tokens rows of its buffers; buffers hold max_tokens rows. Add, Softcap and Scale also
// take max_tokens = 0 (their default): then n is the whole element count, covered by every
// record() whatever the step's shape.
#pragma once
#include "kernels/op_helpers.h"

namespace wgllm::kernels {

// The uniform parameters of every elementwise kernel (one struct: one WGSL module).
struct EltParams {
  uint32_t n;                  // elements per token row (of the output)
  uint32_t a_stride, a_off;    // gated: gate element i of row t is a[t * a_stride + a_off + i]
  uint32_t b_stride, b_off;    // gated: up element i of row t is b[t * b_stride + b_off + i];
                               // add_in_place: b_stride 0 adds one bias row to every row
  float s;                     // softcap: the cap; scale: the factor
  static constexpr auto fields = std::make_tuple(
      gpu::param("n", &EltParams::n), gpu::param("a_stride", &EltParams::a_stride), gpu::param("a_off", &EltParams::a_off),
      gpu::param("b_stride", &EltParams::b_stride), gpu::param("b_off", &EltParams::b_off), gpu::param("s", &EltParams::s));
};

// One dispatch of one entry point of elementwise.wgsl over shape.n_tokens rows of n elements.
class EltOp {
 public:
  void record(gpu::Recorder& rec, const StepShape& shape);

 protected:
  EltOp(KernelContext& kc, const char* name, const char* entry, const std::string& act, EltParams params,
        uint32_t max_tokens, double bytes_per_element);
  void bind(const std::vector<gpu::Binding>& buffers);  // the op's buffers; params are appended
  KernelContext& kc_;
  const gpu::Pipeline* pipe_;
  gpu::BindGroup group_;
  gpu::UniformArena::Slot slot_;
  EltParams params_;
  uint32_t max_tokens_;  // 0: n is the whole buffer, one row, whatever the step
  double bytes_per_element_;
  const char* name_;
};

// out = a + b (residual add). a, b, out: f32 [max_tokens][n]; out may be a (x += b in place).
class Add : public EltOp {
 public:
  Add(KernelContext& kc, const gpu::Buffer& a, const gpu::Buffer& b, const gpu::Buffer& out, uint32_t n,
      uint32_t max_tokens = 0);
};

enum class GateKind { SwiGLU /* silu(gate) * up */, GeGLU /* gelu_tanh(gate) * up */ };

// out[t] = act(gate[t]) * up[t]; out: f32 [max_tokens][dim].
class GatedActivation : public EltOp {
 public:
  // gate, up: f32 [max_tokens][dim].
  GatedActivation(KernelContext& kc, const gpu::Buffer& gate, const gpu::Buffer& up, const gpu::Buffer& out,
                  uint32_t dim, GateKind kind, uint32_t max_tokens);
  // gate_up: f32 [max_tokens][2 * dim], gate in the first half of each row, up in the second
  // (Phi-3's fused ffn_up).
  GatedActivation(KernelContext& kc, const gpu::Buffer& gate_up, const gpu::Buffer& out, uint32_t dim,
                  GateKind kind, uint32_t max_tokens);
};

// x[t] += bias, in place. x: f32 [max_tokens][dim]; bias: f32 [dim].
class AddBias : public EltOp {
 public:
  AddBias(KernelContext& kc, const gpu::Buffer& x, const gpu::Buffer& bias, uint32_t dim, uint32_t max_tokens);
};

// x = cap * tanh(x / cap), in place (Gemma-2's final logits). x: f32 [max_tokens][n].
class Softcap : public EltOp {
 public:
  Softcap(KernelContext& kc, const gpu::Buffer& x, uint32_t n, float cap, uint32_t max_tokens = 0);
};

// x *= s, in place. x: f32 [max_tokens][n].
class Scale : public EltOp {
 public:
  Scale(KernelContext& kc, const gpu::Buffer& x, uint32_t n, float s, uint32_t max_tokens = 0);
};

}  // namespace wgllm::kernels
