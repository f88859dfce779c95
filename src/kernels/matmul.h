// Matrix multiplication by a GPU weight: y[t][r] = sum_c W[r][c] * x[t][c], or y += W x with
// `accumulate` (the residual add fused into the projection).
//
//   MatMul proj(kc, weight, x, y, max_tokens);    // x: f32 [max_tokens][cols], y: [max_tokens][rows]
//   proj.record(rec, shape);                       // one dispatch per weight chunk
//
// n_tokens == 1 runs a matrix-vector kernel (several rows per workgroup, each row reduced by
// subgroups or a workgroup-memory tree); n_tokens > 1 a tiled kernel that decodes each weight
// group once for a tile of tokens. Weights are dequantized in registers, never in memory.
// With kc.quantize_activations, n_tokens > 1 steps of the quant types (Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0, Q4_K, Q5_K, Q6_K) first quantize x to int8 blocks of 32 (kc.gemm_x) and run an int8 GEMM
// (DP4A); the x rounding (1/254 of each block's largest magnitude) gives an NMSE near 3e-5 on
// normal data. The float types keep the f32 tiled kernel.
#pragma once
#include <memory>
#include <optional>
#include <vector>

#include "kernels/kernel_context.h"
#include "kernels/rope.h"
#include "kernels/weights.h"

namespace wgllm::kernels {

// The kernel's uniform parameters (one slot per weight chunk).
struct MatMulParams {
  uint32_t n_tokens;
  uint32_t cols;
  uint32_t r1, r2;       // word offsets of the chunk's regions 1 and 2 (weights.h)
  uint32_t chunk_rows;   // rows in this chunk
  uint32_t row_offset;   // the chunk's first row: its column in y
  uint32_t y_stride;     // rows of the whole weight
  uint32_t seg1, seg2;   // where a stacked weight's output moves on to y2, y3 (matmul_store.wgsl)
  uint32_t wg_x;         // workgroups along x (a 2-D grid linearizes as x + y * wg_x)
  uint32_t tpr;          // matvec: threads per row (a power of two dividing the workgroup)
  uint32_t accumulate;   // 1: y += W x, 0: y = W x
  float eps;             // matvec with a fused RMSNorm input: the norm's epsilon
  static constexpr auto fields = std::make_tuple(
      gpu::param("n_tokens", &MatMulParams::n_tokens), gpu::param("cols", &MatMulParams::cols),
      gpu::param("r1", &MatMulParams::r1), gpu::param("r2", &MatMulParams::r2),
      gpu::param("chunk_rows", &MatMulParams::chunk_rows), gpu::param("row_offset", &MatMulParams::row_offset),
      gpu::param("y_stride", &MatMulParams::y_stride), gpu::param("seg1", &MatMulParams::seg1),
      gpu::param("seg2", &MatMulParams::seg2), gpu::param("wg_x", &MatMulParams::wg_x),
      gpu::param("tpr", &MatMulParams::tpr), gpu::param("accumulate", &MatMulParams::accumulate),
      gpu::param("eps", &MatMulParams::eps));
};

// The WGSL defines shared by every kernel that decodes a weight of this type (weights.wgsl).
std::map<std::string, std::string> weight_defines(TensorType type);
// Workgroup grid for `n` workgroups: x up to the per-dimension limit, the rest along y.
gpu::Groups linear_groups(const gpu::Context& ctx, uint32_t n, uint32_t z = 1);

// What a matrix-vector step (one token) multiplies with, computed on the fly from raw vectors so
// that decoding needs no separate norm or activation pass. Steps of several tokens read `x` as
// given (the caller normalizes / activates it first).
struct VecInput {
  enum class Kind { Plain, RmsNorm, SwiGLU, GeGLU };
  Kind kind = Kind::Plain;
  const gpu::Buffer* x = nullptr;    // RmsNorm: the raw vector [cols]; SwiGLU/GeGLU: the gate
  const gpu::Buffer* aux = nullptr;  // RmsNorm: the norm weight [cols]; SwiGLU/GeGLU: the up projection
  float eps = 0;                     // RmsNorm epsilon
};

struct QuantizedX;  // quantize_x.h
// The WGSL defines and profile-name suffix of a VecInput kind (shared with quantize_x).
std::map<std::string, std::string> vec_input_defines(VecInput::Kind in);
const char* vec_input_suffix(VecInput::Kind in);

// The further outputs of a weight stacked from parts (upload_weight with parts): y takes the
// first part's rows, each StackedOutput the `rows` after (at most two).
struct StackedOutput {
  const gpu::Buffer* y;
  uint32_t rows;
};

// What a decode matvec on int8 x may hand its consumer already int8-quantized (quantize_x.h's
// layout), instead of a quantize pass between them (matmul_vec_q8_qout.wgsl):
//   Gated:    act(gate) * up of a stacked gate | up weight (two parts of equal rows);
//   Residual: the accumulated y times `norm` (the next RMSNorm's weight, 1 / rms left to the
//             consumer), with the blocks' sums of squares of y.
struct QuantizedOutput {
  enum class Kind { Gated, Residual };
  Kind kind = Kind::Residual;
  const QuantizedX* out = nullptr;
  const gpu::Buffer* norm = nullptr;                   // Residual
  VecInput::Kind activation = VecInput::Kind::SwiGLU;  // Gated: SwiGLU or GeGLU
};

// A decode step's q | k | v matvec that applies RoPE itself and writes k and v straight into the
// KV caches (the ROPE mode of matmul_vec_q8_qout.wgsl), so no RopeKvWrite runs before the
// attention: q (rotated) goes to the op's y; row pos of k_cache / v_cache (attention.h's layout)
// gets the rotated k and the v. The RoPE is RopeKvWrite's (rope.h). The weight holds whole parts
// from first_row of the q | k | v rows on: all three stacked (first_row 0), or e.g. q | k (0) and
// v (n_heads + n_kv_heads heads in) as two ops where v has another type (Q4_K_M).
struct RopeOutput {
  const gpu::Buffer* k_cache = nullptr;
  const gpu::Buffer* v_cache = nullptr;
  const gpu::Buffer* inv_freq = nullptr;  // f32 [rotary_dim / 2]
  uint32_t n_heads = 0, n_kv_heads = 0, head_dim = 0, rotary_dim = 0;
  bool neox = false;
  float attn_factor = 1;
  uint32_t max_ctx = 0;
  bool f16_cache = false;
  uint32_t first_row = 0;
};

// The f16 subgroup-matrix GEMM's kernel (matmul_mat_f16_mma.wgsl) for a weight type, a tile preset
// (1 .. f16_gemm_presets()) and its arithmetic: on matrices with the weights decoded in f16 or in
// f32, or the scalar emulation any adapter runs.
enum class F16GemmVariant { Matrices, MatricesF32Decode, Emulated };
gpu::KernelSpec f16_gemm_spec(TensorType type, uint32_t preset, F16GemmVariant variant);
uint32_t f16_gemm_presets();

class MatMul {
 public:
  MatMul(KernelContext& kc, const GpuWeight& w, const gpu::Buffer& x, const gpu::Buffer& y, uint32_t max_tokens,
         bool accumulate = false, VecInput vec_input = {}, std::vector<StackedOutput> more = {});
  ~MatMul();
  void record(gpu::Recorder& rec, const StepShape& shape);
  // One-token steps of the quant types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K) read this
  // int8-quantized x instead
  // (dot4I8Packed); the caller records the QuantizeX that fills it before this op. Returns false
  // (and keeps the f32 path) for other weight types.
  bool use_quantized_input(const QuantizedX& xq);
  bool accepts_quantized_input() const;  // whether use_quantized_input can succeed (the weight type)
  // After use_quantized_input: one-token steps also write `q` (see QuantizedOutput). Returns
  // false (nothing changed) where the shapes do not allow it: one weight chunk, outputs a
  // multiple of 32; Residual needs an accumulating plain weight, Gated two equal parts.
  bool quantize_output(const QuantizedOutput& q);
  // After use_quantized_input, for a weight of whole q | k | v parts (RopeOutput::first_row on;
  // n_heads, n_kv_heads and n_kv_heads heads): one-token steps write q rotated and k, v into the
  // caches (RopeOutput) instead of q, k, v. Returns false (nothing changed) where it cannot: rows
  // not at part boundaries, one weight chunk, head_dim a multiple of 32, all dims rotated with
  // neox, an f16 cache only as packed halves.
  bool rope_output(const RopeOutput& r);
  bool can_rope_output(const RopeOutput& r) const;  // whether rope_output(r) would succeed
  bool writes_rope_output() const { return rope_slot_.has_value(); }
  // The pipeline a step of n_tokens > 1 multiplies with when it runs the int8 GEMM, e.g.
  // "matmat_q8_mma_Q4_0" (subgroup matrices) or "matmat_q8_Q6_K" (DP4A); "" for the f32 path.
  std::string gemm_kernel(uint32_t n_tokens) const;
  // Bytes one dispatch over chunk k reads and writes for n_tokens (the profiler's GB/s).
  double dispatch_bytes(size_t k, uint32_t n_tokens) const;

 private:
  // Whether the int8 matvec walks units of two groups (a K-quant sub-block pair sharing its quant
  // bytes and head): Q4_K and Q5_K.
  bool walks_pairs() const;
  KernelContext& kc_;
  const GpuWeight& w_;
  const gpu::Buffer& y_;
  // matmul_store.wgsl's further outputs y2, y3; unused ones are bound to halves of spare_
  // (WebGPU forbids two writable bindings of one buffer range in a dispatch).
  gpu::Buffer spare_;
  std::vector<gpu::Binding> more_y_;
  uint32_t seg1_, seg2_;
  uint32_t max_tokens_;
  bool accumulate_;
  VecInput vec_input_;
  uint32_t vec_rows_ = 4;  // rows per matvec workgroup
  uint32_t vec_wg_ = 128;  // threads per matvec workgroup
  uint32_t tpr_ = 1, wg_ = 128, tt_ = 8, kc_cols_ = 128;
  MatMulParams params(size_t k, uint32_t n_tokens, uint32_t wg_x) const;
  const gpu::Pipeline* matvec_ = nullptr;
  const gpu::Pipeline* matmat_ = nullptr;
  std::vector<gpu::UniformArena::Slot> slots_;          // per chunk
  std::vector<gpu::BindGroup> matvec_groups_, matmat_groups_;  // per chunk
  const gpu::Pipeline* matvec_q8_ = nullptr;                  // set by use_quantized_input
  uint32_t q8_rows_ = 4;                                      // its rows per workgroup
  std::vector<gpu::BindGroup> matvec_q8_groups_;
  gpu::KernelSpec q8_spec_;                                   // matvec_q8_'s, for quantize_output
  const gpu::Pipeline* matvec_qout_ = nullptr;                // set by quantize_output
  gpu::BindGroup matvec_qout_group_;
  uint32_t qout_blocks_ = 0;
  // The int8-output matvec's spec for a mode (quantize_output, rope_output); `gated` picks its knobs.
  gpu::KernelSpec qout_spec(const std::string& mode, bool gated, bool rope) const;
  std::optional<gpu::UniformArena::Slot> rope_slot_;  // rope_output's parameters (Rope::Params)
  Rope::Params rope_params_{};                         // pos set per step
  uint32_t rope_max_ctx_ = 0;
  const gpu::Buffer *q8_x_qs_ = nullptr, *q8_x_ds_ = nullptr;  // use_quantized_input's x
  struct Gemm;  // the int8 or f16 GEMM for n_tokens > 1 (matmul.cpp); null: f32 matmat
  std::unique_ptr<Gemm> gemm_;
  void setup_gemm_q8(const gpu::Buffer& x);
  void setup_gemm_f16(const gpu::Buffer& x);
};

}  // namespace wgllm::kernels
