// What every kernel launcher needs: the GPU context, a pipeline cache, a uniform arena, and the
// variant choices (f16 arithmetic, subgroup reductions) taken from the adapter's features.
//
// Conventions for every op in this folder (one .wgsl file per kernel family, a C++ launcher beside
// it):
//  - An op object is built once with its buffers (bind group made once, uniform slot reserved),
//    then `record(rec, shape)` writes its parameters for this step and records its dispatches.
//    An op is recorded at most once per submit (its uniform slot holds one value per submit).
//  - Activations are f32 buffers laid out [n_tokens][dim] (row-major, token-major).
//  - Weights are GpuWeight (weights.h): GGUF blocks repacked at load, split by rows into chunks
//    no larger than maxStorageBufferBindingSize; ops dispatch once per chunk.
#pragma once
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "gpu/context.h"
#include "gpu/pipeline.h"
#include "gpu/recorder.h"

namespace wgllm::kernels {

struct QuantizedX;  // quantize_x.h

// The WGSL source of a kernel file in src/kernels (embedded at build time).
std::string_view kernel_source(std::string_view file_name);

struct KernelContext {
  explicit KernelContext(gpu::Context& c, uint32_t uniform_slots = 8192)
      : ctx(c), pipelines(c), arena(c, uniform_slots, "kernel-params"),
        use_f16(c.features().shader_f16), use_subgroups(c.features().subgroups),
        quantize_activations(c.adapter().adapter_type != "CPU") {}
  gpu::Context& ctx;
  gpu::PipelineCache pipelines;
  gpu::UniformArena arena;
  bool use_f16;        // f16 arithmetic inside kernels (activations stay f32 in memory)
  bool use_subgroups;  // subgroup reductions instead of workgroup-memory trees
  // Matrix-vector shape: rows per workgroup and threads per workgroup; 0 = chosen for the
  // adapter. Tuning knobs, also from $WGLLM_MATVEC_ROWS / $WGLLM_MATVEC_WG.
  uint32_t matvec_rows = env_u32("WGLLM_MATVEC_ROWS");
  uint32_t matvec_wg = env_u32("WGLLM_MATVEC_WG");
  static bool env_is_zero(const char* name) {
    const char* v = std::getenv(name);
    return v && std::string_view(v) == "0";
  }
  static uint32_t env_u32(const char* name) {
    const char* v = std::getenv(name);
    return v ? uint32_t(std::strtoul(v, nullptr, 10)) : 0;
  }
  // Steps of several tokens multiply the quantized weights (every quant type: Q4_0, Q4_1, Q5_0,
  // Q5_1, Q8_0, Q4_K, Q5_K, Q6_K) by int8-quantized activations (an int8 GEMM with DP4A,
  // matmul_mat_q8.wgsl) instead of f32 ones. Off on CPU adapters (no DP4A there).
  bool quantize_activations;
  // Threads of the matvecs that write their consumer's int8 input (matmul_vec_q8_qout.wgsl);
  // 0 = the adapter's choice. Also $WGLLM_QOUT_WG.
  uint32_t qout_wg = env_u32("WGLLM_QOUT_WG");
  // The same for the gated (gate | up) one, when it should differ; 0 = as qout_wg. Also
  // $WGLLM_QOUT_WG_GATED.
  uint32_t qout_wg_gated = env_u32("WGLLM_QOUT_WG_GATED");
  // Units of K each lane of those matvecs loads per batch (0 = the adapter's choice); also
  // $WGLLM_QOUT_UN. Their reductions use subgroup operations where the adapter's subgroups hold
  // at most 32 invocations, unless $WGLLM_QOUT_SG=0 (then workgroup memory, as without subgroups).
  uint32_t qout_un = env_u32("WGLLM_QOUT_UN");
  uint32_t qout_un_gated = env_u32("WGLLM_QOUT_UN_GATED");  // the gated one's, when it should differ
  // The same two for the q | k | v matvec that applies RoPE (MatMul::rope_output); 0 = as qout_*.
  uint32_t qout_wg_rope = env_u32("WGLLM_QOUT_WG_ROPE");
  uint32_t qout_un_rope = env_u32("WGLLM_QOUT_UN_ROPE");
  // Lanes along K of those matvecs (32, 64, ...; 0 = the adapter's choice: 64 for the K-quant
  // residuals on GPUs, else 32): more lanes leave each thread more rows, so one x load serves
  // several weight loads. Per mode as above: $WGLLM_QOUT_KT, _KT_GATED, _KT_ROPE.
  uint32_t qout_kt = env_u32("WGLLM_QOUT_KT");
  uint32_t qout_kt_gated = env_u32("WGLLM_QOUT_KT_GATED");
  uint32_t qout_kt_rope = env_u32("WGLLM_QOUT_KT_ROPE");
  // The three for a residual matvec whose K is at most its rows (the attention's output
  // projection: few units of K per lane), when it should differ from the other residuals (down);
  // 0 = as qout_*. $WGLLM_QOUT_WG_SHORT, _UN_SHORT, _KT_SHORT.
  uint32_t qout_wg_short = env_u32("WGLLM_QOUT_WG_SHORT");
  uint32_t qout_un_short = env_u32("WGLLM_QOUT_UN_SHORT");
  uint32_t qout_kt_short = env_u32("WGLLM_QOUT_KT_SHORT");
  bool qout_subgroups = !env_is_zero("WGLLM_QOUT_SG");
  // Decode attention: keys per split (0 = the op's default), K and V loads in flight per
  // invocation (0 = 32, at most head_dim / 4, and 8). Tuning knobs, also from $WGLLM_ATTN_SPLIT /
  // $WGLLM_ATTN_KL / $WGLLM_ATTN_VL.
  uint32_t attn_split = env_u32("WGLLM_ATTN_SPLIT");
  uint32_t attn_kl = env_u32("WGLLM_ATTN_KL");
  uint32_t attn_vl = env_u32("WGLLM_ATTN_VL");
  // Decode attention's invocations per workgroup (= keys per tile, a power of 2; 0 = 128) and most
  // query heads per workgroup (0 = 8). Also $WGLLM_ATTN_DWG / $WGLLM_ATTN_HPW.
  uint32_t attn_dwg = env_u32("WGLLM_ATTN_DWG");
  uint32_t attn_hpw = env_u32("WGLLM_ATTN_HPW");
  // Prefill attention: the tiled kernel (attention_prefill.wgsl) wherever a tile fits the workgroup
  // memory, or (false; also $WGLLM_ATTN_TILED=0) the one-query-per-workgroup `attend`.
  // The tiled kernel's query tokens and keys per tile: 0 = chosen for the workgroup memory (16 and
  // 64 where they fit); also $WGLLM_ATTN_BQ (8, 16, 32) / $WGLLM_ATTN_BK (16, 32, 64).
  bool attn_tiled = !env_is_zero("WGLLM_ATTN_TILED");
  uint32_t attn_bq = env_u32("WGLLM_ATTN_BQ");
  uint32_t attn_bk = env_u32("WGLLM_ATTN_BK");
  // That GEMM's tile preset (matmul.cpp); 0 = chosen for the adapter. Also $WGLLM_GEMM_TILE.
  uint32_t gemm_tile = env_u32("WGLLM_GEMM_TILE");
  // Steps of at least this many tokens take the large-step tile on GPUs (0 = 512; unused when
  // gemm_tile is set). Also $WGLLM_GEMM_LARGE_TOKENS.
  uint32_t gemm_large_tokens = env_u32("WGLLM_GEMM_LARGE_TOKENS");
  // Steps of several tokens multiply on f16 subgroup matrices (matmul_mat_f16_mma.wgsl: weights
  // decoded to f16 while staging, x packed to f16, f32 accumulators) where the device has
  // shader-f16, f16 -> f32 16x16x16 subgroup matrices and subgroups of exactly 32 (NVIDIA through
  // dawn.node), in place of the int8 GEMM. Off unless $WGLLM_GEMM_F16=1: tested only in its
  // scalar emulation so far (no GPU run yet; docs/perf-notes.md #37). Its tile preset (matmul.cpp;
  // 0 = chosen for the adapter) also from $WGLLM_GEMM_F16_TILE.
  bool gemm_f16_available = ctx.features().shader_f16 && ctx.features().subgroup_matrix_f16 &&
                            ctx.features().subgroup_min_size == 32 && ctx.features().subgroup_max_size == 32;
  bool gemm_f16 = gemm_f16_available && env_u32("WGLLM_GEMM_F16") == 1;
  // The same kernel with its products taken one by one in f32 instead of by subgroup matrices, on
  // any adapter: how its staging, decoding and stores are tested where no matrices exist.
  bool gemm_f16_emulated = false;
  uint32_t gemm_f16_tile = env_u32("WGLLM_GEMM_F16_TILE");
  // Measurement: its weights decoded in f32 arithmetic (as the emulation does) instead of f16.
  bool gemm_f16_decode_f32 = env_u32("WGLLM_GEMM_F16_DECODE_F32") == 1;
  // The GEMM's quantized activations: one buffer shared by every MatMul built on this context.
  std::shared_ptr<QuantizedX> gemm_x;
  std::shared_ptr<QuantizedX> gemm_x16;  // the f16 GEMM's packed x (qs holds f16 pairs)
  // What steps of several tokens multiply quantized weights on (recorded in bench reports).
  std::string prefill_gemm() const {
    if (gemm_f16) return "f16 subgroup matrices";
    if (!quantize_activations) return "f32 tiles";
    return "int8 DP4A";
  }
  // A recorder that flushes this context's uniform arena before submitting.
  gpu::Recorder recorder(gpu::Profile* profile = nullptr) { return gpu::Recorder(ctx, profile, {&arena}); }
};

// The shape of the current step, given to every op's record().
struct StepShape {
  uint32_t n_tokens = 1;  // tokens processed in this step (1 when decoding)
  uint32_t pos = 0;       // position of the first of them in the sequence
};

}  // namespace wgllm::kernels
