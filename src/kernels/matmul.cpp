#include "kernels/matmul.h"

#include <algorithm>
#include <cmath>

#include "kernels/op_helpers.h"
#include "kernels/attention.h"
#include "kernels/quantize_x.h"
#include "util/error.h"

namespace wgllm::kernels {
namespace {

// Tile presets of the int8 GEMM (matmul_mat_q8.wgsl), kc.gemm_tile = index + 1: rows x tokens
// per workgroup, the per-thread register tile, blocks of 32 columns staged per K step.
struct GemmTile {
  uint32_t bm, bn, tm, tn, kb;
};
constexpr GemmTile kGemmTiles[] = {
    {16, 8, 2, 2, 2},    // 1: CPU adapters: 32 threads, small and quick to compile
    {64, 64, 4, 4, 4},   // 2: 256 threads, 20 KiB of workgroup memory
    {128, 64, 8, 4, 2},  // 3: a larger register tile: 256 threads, 14 KiB
    {64, 32, 4, 4, 4},   // 4: GPUs: twice the workgroups of 2, 128 threads. With the next K step
                         //    prefetched into registers it beat 2 on the H200 (8B prefill at 512:
                         //    Q4_0 3,128 vs 3,071 tok/s, Q4_K_M 2,802 vs 2,704; docs/perf-notes.md #25)
};
// Steps of at least this many tokens take preset 2 on GPUs: with 512-token steps it prefilled
// llama3-8b 3.6 % faster than 4 on the H200 (Q4_0 3,961 vs 3,825 tok/s, Q4_K_M +5.5 %), where 4
// won at 256-token steps of llama3.2-1b (-1.3 % with 2) and 128-token ones (docs/perf-notes.md
// #25, #34). Also $WGLLM_GEMM_LARGE_TOKENS.
constexpr uint32_t kGemmLargeTokens = 512;
// The f16 subgroup-matrix GEMM's tiles (matmul_mat_f16_mma.wgsl), kc.gemm_f16_tile = index + 1:
// rows x tokens per workgroup, groups of 32 invocations (tm; each owns rows / tm of the tile),
// groups of 32 columns per K step. Accumulators per invocation: 8 floats per 16 x 16 result.
constexpr GemmTile kF16GemmTiles[] = {
    {16, 16, 1, 0, 1},   // 1: CPU adapters (the scalar emulation): small and quick
    {64, 64, 1, 0, 2},   // 2: one group, 16 results, 18 KiB of staging
    {128, 64, 4, 0, 2},  // 3: four groups of 32 rows x 64 tokens, 27 KiB
    {128, 128, 4, 0, 1}, // 4: four groups of 32 rows x 128 tokens, 20 KiB
    {128, 64, 2, 0, 2},  // 5: two groups of 64 rows x 64 tokens, 27 KiB
    {32, 128, 1, 0, 2},  // 6: one group of 32 rows x 128 tokens, 23 KiB
    {32, 16, 2, 0, 2},   // 7: two groups, small (tests of the several-group path)
};

// The defines of matmul_q8_groups.wgsl for a weight type: the form of a group's product (one scale,
// a scale and a min, or a scale per half of 16), shared by the int8 and f16 GEMMs.
std::map<std::string, std::string> group_form_defines(TensorType ty) {
  const bool mins = ty == TensorType::Q4_1 || ty == TensorType::Q5_1 || ty == TensorType::Q4_K || ty == TensorType::Q5_K;
  const bool halves = ty == TensorType::Q6_K;
  std::map<std::string, std::string> defines = weight_defines(ty);
  defines.insert({{"WS", mins || halves ? "vec2<f32>" : "f32"}, {"ONE", mins || halves ? "//" : ""},
                  {"TWO", mins || halves ? "" : "//"}, {"MINS", mins ? "" : "//"}, {"HALVES", halves ? "" : "//"}});
  return defines;
}

}  // namespace

struct MatMul::Gemm {
  bool f16 = false;  // the f16 matrix GEMM (x packed to f16, token tiles along x), else int8
  struct Variant {
    GemmTile tile;
    const gpu::Pipeline* gemm = nullptr;
    std::vector<gpu::BindGroup> groups;  // per chunk
  };
  Variant small, large;         // large: steps of at least large_tokens (large.gemm null: none)
  uint32_t large_tokens = 0;
  const gpu::Pipeline* quantize;  // the x pass: quantize_x_batch or pack_x_f16
  std::shared_ptr<QuantizedX> x;  // kc.gemm_x when this op was built (f16: qs holds the packed x)
  gpu::BindGroup quantize_group;
  const Variant& variant(uint32_t n_tokens) const { return large.gemm && n_tokens >= large_tokens ? large : small; }
};

MatMul::~MatMul() = default;

std::map<std::string, std::string> weight_defines(TensorType type) {
  const GpuLayout& l = gpu_layout(type);
  // Groups of 32 elements (4 for the float types); a K-quant block is 8 of them.
  const uint32_t gs = std::min<uint32_t>(l.block_elems, 32);
  return {{"TYPE", std::string(tensor_type_name(type))},
          {"GS", std::to_string(gs)},
          {"GPB", std::to_string(l.block_elems / gs)}};
}

gpu::Groups linear_groups(const gpu::Context& ctx, uint32_t n, uint32_t z) {
  const uint32_t max_x = ctx.limits().max_compute_workgroups_per_dimension;
  const uint32_t x = std::max<uint32_t>(1, std::min(n, max_x));
  return {x, (n + x - 1) / x, z};
}

MatMul::MatMul(KernelContext& kc, const GpuWeight& w, const gpu::Buffer& x, const gpu::Buffer& y,
               uint32_t max_tokens, bool accumulate, VecInput vec_input, std::vector<StackedOutput> more)
    : kc_(kc), w_(w), y_(y), seg1_(w.rows), seg2_(w.rows), max_tokens_(max_tokens),
      accumulate_(accumulate), vec_input_(vec_input) {
  using Kind = VecInput::Kind;
  if (more.size() > 2) fail("matmul '", w.name, "': ", more.size() + 1, " stacked outputs, at most 3");
  uint32_t first_rows = w.rows;
  for (const StackedOutput& o : more) {
    if (o.rows >= first_rows) fail("matmul '", w.name, "': stacked outputs of more rows than the weight's ", w.rows);
    first_rows -= o.rows;
  }
  if (more.size() >= 1) seg1_ = first_rows;  // one further output: rows [seg1, rows) go to y2
  if (more.size() == 2) seg2_ = first_rows + more[0].rows;
  const uint64_t align = std::max<uint64_t>(kc.ctx.limits().min_storage_buffer_offset_alignment, 16);
  if (more.size() < 2) spare_ = kc.ctx.create_buffer(2 * align, gpu::kStorage, cat(w.name, ".spare_outputs"));
  for (size_t i = 0; i < 2; ++i)
    more_y_.push_back(i < more.size() ? gpu::Binding(*more[i].y) : gpu::Binding(spare_, i * align, align));
  for (const StackedOutput& o : more)
    if (o.y->size() < uint64_t(max_tokens) * o.rows * 4)
      fail("matmul '", w.name, "': y buffer '", o.y->label(), "' holds ", o.y->size(), " bytes, needs ", max_tokens, " x ",
           o.rows, " floats");
  if (vec_input.kind != Kind::Plain) {
    if (!vec_input.x || !vec_input.aux) fail("matmul '", w.name, "': a fused input needs its x and aux buffers");
    if (vec_input.x->size() < uint64_t(w.cols) * 4 || vec_input.aux->size() < uint64_t(w.cols) * 4)
      fail("matmul '", w.name, "': fused input buffers '", vec_input.x->label(), "' / '", vec_input.aux->label(),
           "' hold fewer than ", w.cols, " floats");
  }
  if (x.size() < uint64_t(max_tokens) * w.cols * 4)
    fail("matmul '", w.name, "': x buffer '", x.label(), "' holds ", x.size(), " bytes, needs ", max_tokens, " x ", w.cols,
         " floats");
  if (y.size() < uint64_t(max_tokens) * seg1_ * 4)
    fail("matmul '", w.name, "': y buffer '", y.label(), "' holds ", y.size(), " bytes, needs ", max_tokens, " x ", seg1_,
         " floats");
  auto defines = weight_defines(w.type);
  // Matrix-vector: a workgroup of vec_wg_ threads owns vec_rows_ rows (see matmul_vec.wgsl).
  const bool cpu = kc.ctx.adapter().adapter_type == "CPU";
  // Measured: SwiftShader (2 cores) decodes tiny-llama 40x faster with 16 threads x 8 rows than
  // with 128 threads x 1 row (its workgroups run as loops, and barriers are costly). On the H100,
  // 64 threads x 2 rows beat 128 x 4 by 5 % (8B) and 12 % (1B) once the decode's int8 inputs
  // were in place (docs/perf-notes.md #11: a sweep of 14 shapes).
  vec_rows_ = kc.matvec_rows ? kc.matvec_rows : cpu ? 8 : 2;
  vec_wg_ = kc.matvec_wg ? kc.matvec_wg : cpu ? 16 : 64;
  tpr_ = vec_wg_;
  // A CPU adapter (SwiftShader) gains nothing from big token tiles and compiles them slowly.
  if (cpu) tt_ = 2;
  defines["FT"] = kc.use_f16 ? "f16" : "f32";
  defines["WG"] = std::to_string(vec_wg_);
  defines["ROWS"] = std::to_string(vec_rows_);
  const std::string suffix = cat("_", tensor_type_name(w.type), kc.use_f16 ? "_f16" : "");
  for (auto& [k, v] : variant_defines(kc, kc.use_f16)) defines[k] = v;
  defines["ENABLES"] = defines["ENABLE"];
  const Kind in = vec_input.kind;
  for (auto& [k, v] : vec_input_defines(in)) defines[k] = v;
  defines["Y2"] = in == Kind::Plain ? "5" : "6";  // after the aux input, if any
  defines["Y3"] = in == Kind::Plain ? "6" : "7";
  gpu::KernelSpec vec{"matvec" + suffix + vec_input_suffix(in), "weights.wgsl+matmul_vec.wgsl+matvec_reduce.wgsl+activations.wgsl+matmul_store.wgsl",
                      cat(kernel_source("weights.wgsl"), kernel_source("matmul_vec.wgsl"), kernel_source("matvec_reduce.wgsl"),
                          kernel_source("activations.wgsl"), kernel_source("matmul_store.wgsl")),
                      defines};
  matvec_ = &kc.pipelines.get(gpu::PipelineCache::with_params<MatMulParams>(vec));
  for (const char* key : {"IN_PLAIN", "IN_NORM", "IN_GATED", "IN_AUX", "ACT", "ROWS", "SG", "NOSG", "SG_ARGS", "ENABLE"})
    defines.erase(key);  // matvec-only choices: one matmat pipeline serves every input kind
  defines["WG"] = std::to_string(wg_);
  defines["Y2"] = "5";
  defines["Y3"] = "6";
  defines["ENABLES"] = kc.use_f16 ? "enable f16;" : "";
  defines["TT"] = std::to_string(tt_);
  defines["KC"] = std::to_string(kc_cols_);
  gpu::KernelSpec mat{"matmat" + suffix, "weights.wgsl+matmul_mat.wgsl+matmul_store.wgsl",
                      cat(kernel_source("weights.wgsl"), kernel_source("matmul_mat.wgsl"), kernel_source("matmul_store.wgsl")),
                      defines};
  matmat_ = &kc.pipelines.get(gpu::PipelineCache::with_params<MatMulParams>(mat));

  for (size_t k = 0; k < w.chunks.size(); ++k) {
    slots_.push_back(kc.arena.alloc(params(k, 1, 1)));
    const std::vector<gpu::Binding> b = {w.chunks[k], w.chunks[k], x, y, kc.arena.binding(slots_.back()), more_y_[0], more_y_[1]};
    std::vector<gpu::Binding> bv = b;
    if (in != Kind::Plain) {  // the aux input before y2, y3
      bv[2] = gpu::Binding(*vec_input.x);
      bv.insert(bv.begin() + 5, gpu::Binding(*vec_input.aux));
    }
    matvec_groups_.emplace_back(kc.ctx, *matvec_, bv);
    matmat_groups_.emplace_back(kc.ctx, *matmat_, b);
  }
  if (max_tokens > 1 && accepts_quantized_input()) {
    if (kc.gemm_f16 || kc.gemm_f16_emulated) setup_gemm_f16(x);
    else if (kc.quantize_activations) setup_gemm_q8(x);
  }
}

gpu::KernelSpec f16_gemm_spec(TensorType ty, uint32_t preset, F16GemmVariant variant) {
  if (preset == 0 || preset > std::size(kF16GemmTiles)) fail("no f16 GEMM tile preset ", preset);
  const GemmTile t = kF16GemmTiles[preset - 1];
  const bool emulated = variant == F16GemmVariant::Emulated;
  const bool d16 = variant == F16GemmVariant::Matrices;
  std::map<std::string, std::string> defines = group_form_defines(ty);
  const bool several = t.tm > 1;
  defines.insert({{"BM", std::to_string(t.bm)}, {"BN", std::to_string(t.bn)}, {"NSG", std::to_string(t.tm)},
                  {"KB", std::to_string(t.kb)}, {"Y2", "6"}, {"Y3", "7"}, {"ST", emulated ? "f32" : "f16"},
                  {"MMA", emulated ? "//" : ""}, {"EMU", emulated ? "" : "//"}, {"SG1", several ? "//" : ""},
                  {"SGN", several ? "" : "//"}, {"D16", d16 ? "" : "//"}, {"D32", d16 ? "//" : ""}});
  // Several groups of one workgroup load matrices at offsets of their own: WGSL's uniformity
  // analysis is workgroup-wide, so its subgroup-matrix rule is turned off there (each group's
  // offsets are uniform across its own invocations, which is what the hardware needs).
  defines["ENABLES"] = emulated ? ""
                       : cat("enable f16, chromium_experimental_subgroup_matrix, subgroups;",
                             several ? " diagnostic(off, chromium.subgroup_matrix_uniformity);" : "");
  return {cat("matmat_f16_mma_", tensor_type_name(ty), emulated ? "_emulated" : "", "_t", preset, d16 || emulated ? "" : "_d32"),
          "weights.wgsl+matmul_q8_groups.wgsl+matmul_mat_f16_mma.wgsl+matmul_store.wgsl",
          cat(kernel_source("weights.wgsl"), kernel_source("matmul_q8_groups.wgsl"), kernel_source("matmul_mat_f16_mma.wgsl"),
              kernel_source("matmul_store.wgsl")),
          defines};
}

uint32_t f16_gemm_presets() { return uint32_t(std::size(kF16GemmTiles)); }

void MatMul::setup_gemm_f16(const gpu::Buffer& x) {
  const bool cpu = kc_.ctx.adapter().adapter_type == "CPU";
  const uint32_t preset = kc_.gemm_f16_tile ? kc_.gemm_f16_tile : cpu ? 1 : 2;
  if (preset == 0 || preset > std::size(kF16GemmTiles)) fail("matmul '", w_.name, "': no f16 GEMM tile preset ", preset);
  const GemmTile t = kF16GemmTiles[preset - 1];
  if (t.tm * 32 > kc_.ctx.limits().max_compute_invocations_per_workgroup)
    fail("matmul '", w_.name, "': f16 GEMM tile ", preset, " needs ", t.tm * 32, " invocations a workgroup");
  gemm_ = std::make_unique<Gemm>();
  gemm_->f16 = true;
  // One packed x serves every op of the context, as the int8 one does (setup_gemm_q8). Whole tiles
  // of tokens (the largest tile's 128): the kernel loads x matrices straight from it.
  const uint64_t bytes = uint64_t((max_tokens_ + 127) / 128 * 128) * w_.cols * 2;
  if (!kc_.gemm_x16 || kc_.gemm_x16->qs.size() < bytes) {
    kc_.gemm_x16 = std::make_shared<QuantizedX>();
    kc_.gemm_x16->cols = w_.cols;
    kc_.gemm_x16->qs = kc_.ctx.create_buffer(bytes, gpu::kStorage, "gemm_x.f16");
  }
  gemm_->x = kc_.gemm_x16;
  gpu::KernelSpec q{"pack_x_f16", "pack_x_f16.wgsl", cat(kernel_source("pack_x_f16.wgsl")), {}};
  gemm_->quantize = &kc_.pipelines.get(gpu::PipelineCache::with_params<MatMulParams>(q));
  const F16GemmVariant variant = !kc_.gemm_f16           ? F16GemmVariant::Emulated
                                 : kc_.gemm_f16_decode_f32 ? F16GemmVariant::MatricesF32Decode
                                                           : F16GemmVariant::Matrices;
  const gpu::KernelSpec g = f16_gemm_spec(w_.type, preset, variant);
  Gemm::Variant& v = gemm_->small;
  v.tile = t;
  v.gemm = &kc_.pipelines.get(gpu::PipelineCache::with_params<MatMulParams>(g));
  // The int8 x bindings of matmul_q8_groups.wgsl (2, 5) go unused; the packed x is binding 8.
  for (size_t k = 0; k < w_.chunks.size(); ++k)
    v.groups.emplace_back(kc_.ctx, *v.gemm,
                          std::vector<std::pair<uint32_t, gpu::Binding>>{{0, w_.chunks[k]}, {1, w_.chunks[k]}, {3, y_},
                                                                         {4, kc_.arena.binding(slots_[k])}, {6, more_y_[0]},
                                                                         {7, more_y_[1]}, {8, gemm_->x->qs}});
  gemm_->quantize_group = gpu::BindGroup(kc_.ctx, *gemm_->quantize, {x, gemm_->x->qs, kc_.arena.binding(slots_[0])});
}

void MatMul::setup_gemm_q8(const gpu::Buffer& x) {
  const bool cpu = kc_.ctx.adapter().adapter_type == "CPU";
  const uint32_t preset = kc_.gemm_tile ? kc_.gemm_tile : cpu ? 1 : 4;
  if (preset > std::size(kGemmTiles)) fail("matmul '", w_.name, "': no GEMM tile preset ", preset);
  gemm_ = std::make_unique<Gemm>();
  gemm_->large_tokens = kc_.gemm_large_tokens ? kc_.gemm_large_tokens : kGemmLargeTokens;
  const TensorType ty = w_.type;
  // A forced preset takes every step; CPU adapters keep theirs unless a threshold is set (tests).
  const bool large = !kc_.gemm_tile && (!cpu || kc_.gemm_large_tokens) && max_tokens_ >= gemm_->large_tokens;
  // One quantized x serves every op of the context: an op quantizes its x right before its GEMM
  // in the same command stream, and WebGPU orders dispatches, so no two ops need it at once. A
  // larger op replaces the context's buffer; ops built before keep theirs.
  const uint64_t elems = uint64_t(max_tokens_) * w_.cols;
  if (!kc_.gemm_x || kc_.gemm_x->qs.size() < elems) {
    kc_.gemm_x = std::make_shared<QuantizedX>();
    kc_.gemm_x->cols = w_.cols;
    kc_.gemm_x->qs = kc_.ctx.create_buffer(elems, gpu::kStorage, "gemm_x.q8");
    kc_.gemm_x->ds = kc_.ctx.create_buffer(elems / 32 * 8, gpu::kStorage, "gemm_x.q8_scales");
  }
  gemm_->x = kc_.gemm_x;
  gpu::KernelSpec q{"quantize_x_batch", "quantize_x_batch.wgsl", cat(kernel_source("quantize_x_batch.wgsl")), {}};
  gemm_->quantize = &kc_.pipelines.get(gpu::PipelineCache::with_params<MatMulParams>(q));
  auto build = [&](Gemm::Variant& v, const GemmTile t) {
    v.tile = t;
    std::map<std::string, std::string> defines = group_form_defines(ty);
    defines.insert({{"BM", std::to_string(t.bm)}, {"BN", std::to_string(t.bn)}, {"TM", std::to_string(t.tm)},
                    {"TN", std::to_string(t.tn)}, {"KB", std::to_string(t.kb)}, {"Y2", "6"}, {"Y3", "7"}, {"ENABLES", ""}});
    gpu::KernelSpec g{cat("matmat_q8_", tensor_type_name(ty)), "weights.wgsl+matmul_q8_groups.wgsl+matmul_mat_q8.wgsl+matmul_store.wgsl",
                      cat(kernel_source("weights.wgsl"), kernel_source("matmul_q8_groups.wgsl"), kernel_source("matmul_mat_q8.wgsl"),
                          kernel_source("matmul_store.wgsl")),
                      defines};
    v.gemm = &kc_.pipelines.get(gpu::PipelineCache::with_params<MatMulParams>(g));
    for (size_t k = 0; k < w_.chunks.size(); ++k)
      v.groups.emplace_back(kc_.ctx, *v.gemm,
                            std::vector<gpu::Binding>{w_.chunks[k], w_.chunks[k], gemm_->x->qs, y_,
                                                      kc_.arena.binding(slots_[k]), gemm_->x->ds, more_y_[0], more_y_[1]});
  };
  build(gemm_->small, kGemmTiles[preset - 1]);
  if (large) build(gemm_->large, kGemmTiles[1]);
  // The quantize pass reads n_tokens and cols from chunk 0's parameters.
  gemm_->quantize_group = gpu::BindGroup(kc_.ctx, *gemm_->quantize,
                                         {x, gemm_->x->qs, gemm_->x->ds, kc_.arena.binding(slots_[0])});
}

std::string MatMul::gemm_kernel(uint32_t n_tokens) const {
  return gemm_ && n_tokens > 1 ? gemm_->variant(n_tokens).gemm->name() : "";
}

bool MatMul::accepts_quantized_input() const {
  switch (w_.type) {
    case TensorType::Q4_0: case TensorType::Q4_1: case TensorType::Q5_0: case TensorType::Q5_1: case TensorType::Q8_0:
    case TensorType::Q4_K: case TensorType::Q5_K: case TensorType::Q6_K: return true;
    default: return false;
  }
}

bool MatMul::walks_pairs() const {
  return w_.type == TensorType::Q4_K || w_.type == TensorType::Q5_K;
}

bool MatMul::use_quantized_input(const QuantizedX& xq) {
  if (!accepts_quantized_input() || xq.cols != w_.cols) return false;
  std::map<std::string, std::string> defines = weight_defines(w_.type);
  defines["NORM"] = xq.normed ? "" : "//";
  const bool pairs = walks_pairs();  // group_pair_dot_TYPE (matmul_vec_q8.wgsl)
  defines["GU"] = pairs ? "2" : "1";
  defines["GU1"] = pairs ? "//" : "";
  defines["GU2"] = pairs ? "" : "//";
  if (xq.normed) vec_input_.eps = xq.eps;  // the q8 input is the normed x
  for (auto& [k, v] : variant_defines(kc_, false)) defines[k] = v;
  defines["ENABLES"] = defines["ENABLE"];
  defines["WG"] = std::to_string(vec_wg_);
  defines["ROWS"] = std::to_string(vec_rows_);
  defines["Y2"] = "6";
  defines["Y3"] = "7";
  gpu::KernelSpec spec{cat("matvec_", tensor_type_name(w_.type), "_q8", xq.normed ? "_norm" : ""),
                       "weights.wgsl+matmul_vec_q8.wgsl+matvec_reduce.wgsl+matmul_store.wgsl",
                       cat(kernel_source("weights.wgsl"), kernel_source("matmul_vec_q8.wgsl"), kernel_source("matvec_reduce.wgsl"),
                           kernel_source("matmul_store.wgsl")),
                       defines};
  q8_rows_ = vec_rows_;
  matvec_q8_ = &kc_.pipelines.get(gpu::PipelineCache::with_params<MatMulParams>(spec));
  q8_spec_ = spec;
  q8_x_qs_ = &xq.qs;
  q8_x_ds_ = &xq.ds;
  matvec_qout_ = nullptr;
  matvec_q8_groups_.clear();
  for (size_t k = 0; k < w_.chunks.size(); ++k)
    matvec_q8_groups_.emplace_back(kc_.ctx, *matvec_q8_,
                                   std::vector<gpu::Binding>{w_.chunks[k], w_.chunks[k], xq.qs, y_, kc_.arena.binding(slots_[k]),
                                                             xq.ds, more_y_[0], more_y_[1]});
  return true;
}

gpu::KernelSpec MatMul::qout_spec(const std::string& mode, bool gated, bool rope) const {
  gpu::KernelSpec spec = q8_spec_;
  // A workgroup owns one block (32 rows, 64 when gated) and reads whole rows, so it wants many
  // loads in flight. Measured on the H100 (docs/perf-notes.md #12, #16): 1,024 threads with one
  // unit per batch for o, down and q | k | v (they have few blocks: 128 for the 8B's o and down);
  // the gated gate | up (448 blocks) 256 threads with 4 units per batch, +1 % over 1,024 x 1 and
  // clearly ahead on the H200 (419 vs 409 tok/s). CPU adapters run workgroups as loops: few threads.
  const bool cpu = kc_.ctx.adapter().adapter_type == "CPU";
  // A knob's mode-specific setting (ROPE, GATED, a residual of short K) where set, else its plain
  // one; 0 is unset.
  const bool short_k = !gated && !rope && w_.cols <= w_.rows;
  auto pick = [&](uint32_t plain, uint32_t gated_knob, uint32_t rope_knob, uint32_t short_knob) {
    return rope && rope_knob ? rope_knob : gated && gated_knob ? gated_knob : short_k && short_knob ? short_knob : plain;
  };
  const uint32_t wg_knob = pick(kc_.qout_wg, kc_.qout_wg_gated, kc_.qout_wg_rope, kc_.qout_wg_short);
  const uint32_t un_knob = pick(kc_.qout_un, kc_.qout_un_gated, kc_.qout_un_rope, kc_.qout_un_short);
  const uint32_t kt_knob = pick(kc_.qout_kt, kc_.qout_kt_gated, kc_.qout_kt_rope, kc_.qout_kt_short);
  // Q4_K and Q5_K walk sub-block pairs (two x groups per unit): four units per batch is too many
  // registers there (H100: Q4_K_M 8B 250 -> 239 tok/s), so their gate | up takes 256 threads x 1
  // unit, their q | k | v 512 threads, and the K-quant residuals 64 lanes along K (2 rows per
  // thread per x load). H200, 8B Q4_K_M, -p 16 -n 64: 341.5 tok/s with 1,024 x 1 everywhere ->
  // 377.5 (gated 256) -> 383.2 (KT 64) -> 387.4 (rope 512); the same shapes cost Q4_0 2-9 %
  // (docs/perf-notes.md #21).
  // KT 64 for the K-quant q | k | v too (its Q4_K rows and Q6_K v): 395 -> 402 tok/s (#29). Q5_K
  // walks pairs too and takes Q4_K's shapes: 8B Q5_K_M 255 -> 347 tok/s at p16 (#31).
  const bool pairs = walks_pairs(), kquant = pairs || w_.type == TensorType::Q6_K;
  const bool narrow = gated && !pairs;
  uint32_t wg = wg_knob ? wg_knob : cpu ? 64 : gated ? 256 : rope && pairs ? 512 : 1024;
  const uint32_t nr = gated ? 64 : 32;
  const uint32_t kt = kt_knob ? kt_knob : !cpu && kquant && !gated ? 64 : 32;
  if (!wg_knob)
    while (wg > kt && wg > kc_.ctx.limits().max_compute_invocations_per_workgroup) wg /= 2;
  if (kt % 32 != 0 || wg % kt != 0 || nr % (wg / kt) != 0)
    fail("matmul '", w_.name, "': ", wg, " threads and ", kt, " lanes along K for the int8-output matvec: the lanes must be ",
         "a multiple of 32 and the threads that many times a divisor of ", nr);
  const uint32_t un = un_knob ? un_knob : !cpu && narrow ? 4 : 1;
  if (un > 8) fail("matmul '", w_.name, "': ", un, " units per batch for the int8-output matvec: at most 8");
  // Subgroup reductions need a slice's 32 lanes to be whole subgroups.
  const gpu::DeviceFeatures& f = kc_.ctx.features();
  const bool sg = kc_.use_subgroups && kc_.qout_subgroups && f.subgroup_min_size >= 1 && f.subgroup_max_size <= 32;
  spec.defines["WG"] = std::to_string(wg);
  spec.defines["NR"] = std::to_string(nr);
  spec.defines["UN"] = std::to_string(un);
  spec.defines["KT"] = std::to_string(kt);
  spec.defines["QSG"] = sg ? "" : "//";
  spec.defines["QNOSG"] = sg ? "//" : "";
  spec.defines["QOUT_GATED"] = gated ? "" : "//";
  spec.defines["QOUT_RESIDUAL"] = !gated && !rope ? "" : "//";
  spec.defines["QOUT_Q8"] = rope ? "//" : "";
  spec.defines["QOUT_ROPE"] = rope ? "" : "//";
  spec.defines["QOUT_NEOX"] = "//";
  spec.defines["ACT"] = "silu";
  spec.defines["ROPE_PARAMS"] = gpu::wgsl_struct<Rope::Params>("RopeParams");
  kv_cache_defines(spec, false, false);  // ROPE sets the cache's own
  spec.name += cat("_", wg, "u", un, kt == 32 ? "" : cat("k", kt), sg ? "sg" : "", "_", mode);
  spec.file += "+matmul_vec_q8_qout.wgsl+activations.wgsl+rope_math.wgsl";
  spec.source += cat(kernel_source("matmul_vec_q8_qout.wgsl"), kernel_source("activations.wgsl"), kernel_source("rope_math.wgsl"));
  spec.entry = "main_qout";
  gpu::check_params_layout<Rope::Params>("RopeParams");
  return spec;
}

bool MatMul::quantize_output(const QuantizedOutput& q) {
  using Kind = QuantizedOutput::Kind;
  const bool gated = q.kind == Kind::Gated;
  const uint32_t outputs = gated ? seg1_ : w_.rows;
  if (!matvec_q8_ || w_.chunks.size() != 1 || !q.out || outputs % 32 != 0 ||
      q.out->cols != outputs || rope_slot_)
    return false;
  if (gated ? (seg1_ * 2 != w_.rows || seg2_ != w_.rows) : (!accumulate_ || seg1_ != w_.rows || !q.norm)) return false;
  const bool geglu = q.activation == VecInput::Kind::GeGLU;
  gpu::KernelSpec spec = qout_spec(gated ? (geglu ? "geglu_q8out" : "swiglu_q8out") : "add_norm_q8out", gated, false);
  spec.defines["ACT"] = geglu ? "gelu_tanh" : "silu";
  matvec_qout_ = &kc_.pipelines.get(gpu::PipelineCache::with_params<MatMulParams>(spec));
  // The q8 bind group's bindings minus the unused f32 outputs, plus the quantized output's.
  std::vector<std::pair<uint32_t, gpu::Binding>> b = {{0, w_.chunks[0]}, {1, w_.chunks[0]}, {2, *q8_x_qs_},
                                                       {4, kc_.arena.binding(slots_[0])}, {5, *q8_x_ds_},
                                                       {8, q.out->qs}, {9, q.out->ds}};
  if (!gated) {
    b.emplace_back(3, y_);
    b.emplace_back(10, *q.norm);
  }
  matvec_qout_group_ = gpu::BindGroup(kc_.ctx, *matvec_qout_, b);
  qout_blocks_ = outputs / 32;
  return true;
}

bool MatMul::can_rope_output(const RopeOutput& r) const {
  const uint32_t q_rows = r.n_heads * r.head_dim, kv_dim = r.n_kv_heads * r.head_dim;
  // The weight's rows [first_row, end) of q | k | v start and end at part boundaries; where it
  // holds q and more, its first stacked output (y) is exactly q.
  const uint32_t bounds[] = {0, q_rows, q_rows + kv_dim, q_rows + 2 * kv_dim};
  const auto boundary = [&](uint64_t row) { return std::find(std::begin(bounds), std::end(bounds), row) != std::end(bounds); };
  const uint64_t end_row = uint64_t(r.first_row) + w_.rows;
  return boundary(r.first_row) && boundary(end_row) && (r.first_row != 0 || seg1_ == std::min(w_.rows, q_rows)) &&
         matvec_q8_ && w_.chunks.size() == 1 && !matvec_qout_ && !accumulate_ && r.k_cache &&
         r.v_cache && r.inv_freq && r.head_dim % 32 == 0 && r.rotary_dim != 0 && r.rotary_dim % 2 == 0 &&
         r.rotary_dim <= r.head_dim && (!r.neox || r.rotary_dim == r.head_dim) && !(r.f16_cache && kc_.use_f16) &&
         kc_.ctx.limits().max_storage_buffers_per_shader_stage >= 8;
}

bool MatMul::rope_output(const RopeOutput& r) {
  if (!can_rope_output(r)) return false;
  const uint32_t kv_dim = r.n_kv_heads * r.head_dim;
  require_bytes("MatMul rope_output", *r.k_cache, kv_cache_bytes(r.max_ctx, kv_dim, r.f16_cache));
  require_bytes("MatMul rope_output", *r.v_cache, kv_cache_bytes(r.max_ctx, kv_dim, r.f16_cache));
  require_bytes("MatMul rope_output", *r.inv_freq, uint64_t(r.rotary_dim / 2) * 4);
  gpu::KernelSpec spec = qout_spec(r.neox ? "rope_neox" : "rope", false, true);
  spec.defines["QOUT_NEOX"] = r.neox ? "" : "//";
  kv_cache_defines(spec, r.f16_cache, false);
  matvec_qout_ = &kc_.pipelines.get(gpu::PipelineCache::with_params<MatMulParams>(spec));
  rope_params_ = {r.n_heads, r.n_kv_heads, r.head_dim, r.rotary_dim, r.neox ? 1u : 0u, 0, r.attn_factor, r.first_row};
  rope_max_ctx_ = r.max_ctx;
  rope_slot_ = kc_.arena.alloc(rope_params_);
  const std::vector<std::pair<uint32_t, gpu::Binding>> b = {
      {0, w_.chunks[0]}, {1, w_.chunks[0]}, {2, *q8_x_qs_}, {3, y_}, {4, kc_.arena.binding(slots_[0])}, {5, *q8_x_ds_},
      {11, *r.k_cache}, {12, *r.v_cache}, {13, *r.inv_freq}, {14, kc_.arena.binding(*rope_slot_)}};
  matvec_qout_group_ = gpu::BindGroup(kc_.ctx, *matvec_qout_, b);
  qout_blocks_ = w_.rows / 32;
  return true;
}

MatMulParams MatMul::params(size_t k, uint32_t n_tokens, uint32_t wg_x) const {
  const uint32_t rows = w_.chunk_rows(k);
  const auto r = region_offsets(w_.type, rows, w_.cols);
  return {n_tokens, w_.cols, r[0], r[1], rows, w_.chunk_first_row(k), w_.rows, seg1_, seg2_, wg_x, tpr_,
          accumulate_ ? 1u : 0u, vec_input_.eps};
}

double MatMul::dispatch_bytes(size_t k, uint32_t n_tokens) const {
  const double rows = w_.chunk_rows(k), weight = double(w_.chunks[k].size());
  const double y_bytes = 4.0 * n_tokens * rows * (accumulate_ ? 2 : 1);
  if (n_tokens == 1) return weight + 4.0 * w_.cols + y_bytes;
  if (gemm_) {  // weights once per token tile, x (1 byte + 8 bytes per 32) once per row tile
    const GemmTile& t = gemm_->variant(n_tokens).tile;
    const double token_tiles = (n_tokens + t.bn - 1) / t.bn, row_tiles = std::ceil(rows / t.bm);
    return weight * token_tiles + (gemm_->f16 ? 2.0 : 1.25) * n_tokens * w_.cols * row_tiles + y_bytes;
  }
  const double token_tiles = (n_tokens + tt_ - 1) / tt_, row_tiles = std::ceil(rows / wg_);
  return weight * token_tiles + 4.0 * n_tokens * w_.cols * row_tiles + y_bytes;
}

void MatMul::record(gpu::Recorder& rec, const StepShape& shape) {
  if (shape.n_tokens == 0 || shape.n_tokens > max_tokens_)
    fail("matmul '", w_.name, "': ", shape.n_tokens, " tokens, built for at most ", max_tokens_);
  const bool vec = shape.n_tokens == 1;
  if (!vec && gemm_) {
    const uint32_t n = shape.n_tokens, nb = w_.cols / 32;
    const Gemm::Variant& v = gemm_->variant(n);
    const GemmTile t = v.tile;
    if (gemm_->f16)
      rec.dispatch(*gemm_->quantize, gemm_->quantize_group, {(w_.cols / 4 + 63) / 64, n}, 6.0 * n * w_.cols);
    else
      rec.dispatch(*gemm_->quantize, gemm_->quantize_group, {(nb + 63) / 64, n}, 4.0 * n * w_.cols * (1 + 1.25 / 4));
    for (size_t k = 0; k < w_.chunks.size(); ++k) {
      const uint32_t row_tiles = (w_.chunk_rows(k) + t.bm - 1) / t.bm, token_tiles = (n + t.bn - 1) / t.bn;
      // The f16 GEMM runs token tiles along x (workgroups sharing a weight tile run together).
      const gpu::Groups g = gemm_->f16 ? gpu::Groups{token_tiles, row_tiles, 1}
                                       : linear_groups(kc_.ctx, row_tiles, token_tiles);
      if (g.y > kc_.ctx.limits().max_compute_workgroups_per_dimension)
        fail("matmul '", w_.name, "': ", row_tiles, " row tiles, more than a dispatch's ",
             kc_.ctx.limits().max_compute_workgroups_per_dimension);
      kc_.arena.set(slots_[k], params(k, n, g.x));
      rec.dispatch(*v.gemm, v.groups[k], g, dispatch_bytes(k, n));
    }
    return;
  }
  for (size_t k = 0; k < w_.chunks.size(); ++k) {
    const uint32_t rows = w_.chunk_rows(k);
    const uint32_t per_wg = matvec_q8_ ? q8_rows_ : vec_rows_;
    const bool qout = vec && matvec_qout_;  // one chunk (quantize_output checked): a workgroup per output block
    const gpu::Groups g = qout  ? linear_groups(kc_.ctx, qout_blocks_)
                          : vec ? linear_groups(kc_.ctx, (rows + per_wg - 1) / per_wg)
                                : linear_groups(kc_.ctx, (rows + wg_ - 1) / wg_, (shape.n_tokens + tt_ - 1) / tt_);
    kc_.arena.set(slots_[k], params(k, shape.n_tokens, g.x));
    if (qout && rope_slot_) {
      if (shape.pos >= rope_max_ctx_)
        fail("matmul '", w_.name, "': position ", shape.pos, " is past the KV cache's ", rope_max_ctx_, " rows");
      rope_params_.pos = shape.pos;
      kc_.arena.set(*rope_slot_, rope_params_);
    }
    if (qout) rec.dispatch(*matvec_qout_, matvec_qout_group_, g, dispatch_bytes(k, 1));
    else if (vec && matvec_q8_) rec.dispatch(*matvec_q8_, matvec_q8_groups_[k], g, dispatch_bytes(k, 1));
    else rec.dispatch(vec ? *matvec_ : *matmat_, vec ? matvec_groups_[k] : matmat_groups_[k], g, dispatch_bytes(k, shape.n_tokens));
  }
}

}  // namespace wgllm::kernels
