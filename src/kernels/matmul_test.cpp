// MatMul against a double-precision CPU reference (dequantize_row + dot), for every weight type,
// odd shapes, 1 / 3 / 17 tokens, overwrite and accumulate, every variant the adapter has; and
// chunked weights (a 4 KiB binding limit) matching the unchunked result bit for bit.
#include "kernels/matmul.h"
#include "kernels/attention.h"
#include "kernels/quantize_x.h"
#include "kernels/rope.h"

#include <gtest/gtest.h>

#include "kernels/test_support.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "util/fp16.h"
#include "util/rng.h"

namespace wgllm::kernels {
namespace {

using testing::chunked_context;
using testing::nmse;
using testing::shared_context;

KernelContext& shared_kernels() {  // one pipeline cache for all tests: variants share what they can
  static KernelContext kc(shared_context());
  return kc;
}

const auto& kTypes = testing::kAllTypes;

// Odd multiples of each type's block: 4-element GPU blocks for the float types.
std::vector<uint32_t> test_cols(TensorType t) {
  const uint32_t b = tensor_type_info(t).block_size;
  if (b == 1) return {36, 100};
  if (b == 32) return {96, 288};
  return {256, 768};
}

struct Matrix {
  uint32_t rows, cols;
  std::vector<uint8_t> gguf;   // rows x row_bytes
  std::vector<float> dequant;  // rows x cols, what the GPU must multiply by
};

Matrix random_matrix(TensorType t, uint32_t rows, uint32_t cols, uint64_t seed) {
  Rng rng(seed);
  Matrix m{rows, cols, std::vector<uint8_t>(rows * row_bytes(t, cols)), std::vector<float>(size_t(rows) * cols)};
  std::vector<float> row(cols);
  for (uint32_t r = 0; r < rows; ++r) {
    const float offset = rng.uniform(-0.5f, 0.5f);  // rows with a mean exercise the Q4_1/K mins
    for (auto& v : row) v = rng.normal() + offset;
    quantize_row(t, row.data(), m.gguf.data() + r * row_bytes(t, cols), cols);
    dequantize_row(t, m.gguf.data() + r * row_bytes(t, cols), m.dequant.data() + size_t(r) * cols, cols);
  }
  return m;
}

std::vector<float> random_vector(size_t n, Rng& rng) {
  std::vector<float> v(n);
  for (auto& x : v) x = rng.normal();
  return v;
}

// A storage buffer holding v.
gpu::Buffer buffer_of(gpu::Context& ctx, const std::vector<float>& v, const char* label) {
  gpu::Buffer b = ctx.create_buffer(v.size() * 4, gpu::kStorage, label);
  ctx.write(b, v.data(), v.size() * 4);
  return b;
}

// Runs MatMul once per n_tokens value; returns y after each run (y starts as y0 each time).
std::vector<std::vector<float>> run_matmul(KernelContext& kc, const Matrix& m, TensorType t, const std::vector<float>& x,
                                           const std::vector<float>& y0, const std::vector<uint32_t>& n_tokens,
                                           uint32_t max_tokens, bool accumulate, std::vector<std::string>* gemm_kernels = nullptr) {
  gpu::Context& ctx = kc.ctx;
  GpuWeight w = upload_weight(ctx, "w", t, m.rows, m.cols, m.gguf.data());
  gpu::Buffer xb = ctx.create_buffer(x.size() * 4, gpu::kStorage, "x");
  gpu::Buffer yb = ctx.create_buffer(y0.size() * 4, gpu::kStorage, "y");
  ctx.write(xb, x.data(), x.size() * 4);
  MatMul mm(kc, w, xb, yb, max_tokens, accumulate);
  std::vector<std::vector<float>> out;
  for (uint32_t n : n_tokens) {
    ctx.write(yb, y0.data(), y0.size() * 4);
    auto rec = kc.recorder();
    mm.record(rec, StepShape{n, 0});
    rec.submit();
    out.push_back(ctx.read_vector<float>(yb, y0.size()));
    if (gemm_kernels) gemm_kernels->push_back(mm.gemm_kernel(n));
  }
  kc.arena.reset();
  return out;
}

// NMSE of y - y0 against W x over the first n tokens.
double nmse(const Matrix& m, const std::vector<float>& x, const std::vector<float>& y0, const std::vector<float>& y,
            uint32_t n, bool accumulate) {
  double err = 0, ref2 = 0;
  for (uint32_t t = 0; t < n; ++t) {
    for (uint32_t r = 0; r < m.rows; ++r) {
      double ref = 0;
      for (uint32_t c = 0; c < m.cols; ++c) ref += double(m.dequant[size_t(r) * m.cols + c]) * x[size_t(t) * m.cols + c];
      const size_t i = size_t(t) * m.rows + r;
      const double got = double(y[i]) - (accumulate ? y0[i] : 0.0);
      err += (got - ref) * (got - ref);
      ref2 += ref * ref;
    }
  }
  return err / ref2;
}

struct Variant {
  bool f16, subgroups;
  uint32_t matvec_rows = 0;  // 0: the adapter's choice
  std::string name() const {
    return std::string(f16 ? "f16" : "f32") + (subgroups ? "+subgroups" : "+workgroup") +
           (matvec_rows ? "+rows" + std::to_string(matvec_rows) : "");
  }
};
// Every arithmetic/reduction pair the adapter has, at the adapter's matvec rows per workgroup,
// plus 1 and 4 rows per workgroup (the CPU and GPU choices) with f32 so both run everywhere.
std::vector<Variant> variants(const gpu::Context& ctx) {
  std::vector<Variant> v;
  for (bool f16 : {false, true})
    for (bool sg : {false, true})
      if ((!f16 || ctx.features().shader_f16) && (!sg || ctx.features().subgroups)) v.push_back({f16, sg});
  for (uint32_t rows : {1u, 4u})
    for (bool sg : {false, true})
      if (!sg || ctx.features().subgroups) v.push_back({false, sg, rows});
  return v;
}

// f32 arithmetic: dequantization is exact, only the f32 sums round. f16 arithmetic rounds each
// weight and x to 11 bits and sums groups of up to 32 products in f16.
double bound(const Variant& v) { return v.f16 ? 2e-5 : 1e-10; }

TEST(MatMul, EveryTypeMatchesTheCpuReference) {
  gpu::Context& ctx = shared_context();
  KernelContext& kc = shared_kernels();
  for (const Variant& var : variants(ctx)) {
    std::printf("variant %s\n", var.name().c_str());
    kc.use_f16 = var.f16;
    kc.use_subgroups = var.subgroups;
    kc.matvec_rows = var.matvec_rows;
    kc.quantize_activations = false;  // f32 activations: the int8 GEMM has its own test below
    uint64_t seed = 1;
    for (TensorType t : kTypes) {
      const auto cols = test_cols(t);
      // (rows, cols, accumulate): odd rows, odd block counts, both write modes.
      const std::tuple<uint32_t, uint32_t, bool> shapes[] = {{37, cols[1], false}, {131, cols[0], true}};
      for (auto [rows, c, acc] : shapes) {
        const Matrix m = random_matrix(t, rows, c, ++seed);
        Rng rng(seed * 7);
        const uint32_t max_tokens = 17;
        const auto x = random_vector(size_t(max_tokens) * c, rng);
        const auto y0 = random_vector(size_t(max_tokens) * rows, rng);
        const std::vector<uint32_t> ns = {1, 3, 17};
        const auto ys = run_matmul(kc, m, t, x, y0, ns, max_tokens, acc);
        for (size_t i = 0; i < ns.size(); ++i) {
          const double e = nmse(m, x, y0, ys[i], ns[i], acc);
          EXPECT_LT(e, bound(var)) << tensor_type_name(t) << " " << rows << "x" << c << " n_tokens " << ns[i]
                                   << (acc ? " accumulate " : " ") << var.name();
          // Rows of tokens past n_tokens are untouched.
          for (size_t j = size_t(ns[i]) * rows; j < y0.size(); ++j) ASSERT_EQ(ys[i][j], y0[j]) << tensor_type_name(t);
        }
      }
    }
  }
  kc.matvec_rows = 0;
  kc.quantize_activations = ctx.adapter().adapter_type != "CPU";
}

TEST(MatMul, ChunkedWeightsMatchUnchunkedExactly) {
  gpu::Context& split = chunked_context();
  ASSERT_EQ(split.limits().max_storage_buffer_binding_size, 4096u);
  KernelContext& kw = shared_kernels();
  KernelContext ks(split);
  // The adapter's preferred variant only: chunking changes parameters and bindings, not the
  // arithmetic, and the variants are covered above (SwiftShader compiles slowly).
  for (const Variant& var : {Variant{ks.use_f16, ks.use_subgroups}}) {
    kw.use_f16 = ks.use_f16 = var.f16;
    kw.use_subgroups = ks.use_subgroups = var.subgroups;
    uint64_t seed = 100;
    for (TensorType t : kTypes) {
      const uint32_t rows = 131, c = test_cols(t)[0], max_tokens = 3;  // x, y within 4 KiB
      const Matrix m = random_matrix(t, rows, c, ++seed);
      const GpuWeight probe = upload_weight(split, "probe", t, rows, c, m.gguf.data());
      ASSERT_GE(probe.chunks.size(), 2u) << tensor_type_name(t);
      Rng rng(seed);
      const auto x = random_vector(size_t(max_tokens) * c, rng);
      const auto y0 = random_vector(size_t(max_tokens) * rows, rng);
      for (bool q8 : {false, true})  // f32 activations, then int8 ones (the GEMM for the quant types)
        for (bool acc : {false, true}) {
          kw.quantize_activations = ks.quantize_activations = q8;
          const auto a = run_matmul(kw, m, t, x, y0, {1, 3}, max_tokens, acc);
          const auto b = run_matmul(ks, m, t, x, y0, {1, 3}, max_tokens, acc);
          EXPECT_EQ(a, b) << tensor_type_name(t) << " in " << probe.chunks.size() << " chunks, " << var.name()
                          << (q8 ? " int8 x" : "");
          EXPECT_LT(nmse(m, x, y0, b[1], 3, acc), q8 ? 2e-4 : bound(var)) << tensor_type_name(t);
        }
    }
  }
  kw.quantize_activations = split.adapter().adapter_type != "CPU";
}

// x quantized as quantize_x_batch.wgsl does, per token and block of 32: d = max|x| / 127, round(x / d) * d.
std::vector<float> quantize_blocks(const std::vector<float>& x) {
  std::vector<float> q(x.size());
  for (size_t b = 0; b < x.size(); b += 32) {
    float amax = 0;
    for (size_t j = b; j < b + 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f, inv = d > 0 ? 1.0f / d : 0.0f;
    for (size_t j = b; j < b + 32; ++j) q[j] = std::nearbyint(x[j] * inv) * d;
  }
  return q;
}

// One GEMM case of for_each_gemm_case: a random weight of a quant type, x and y0, and y after
// steps of 3 and 70 tokens (one partial tile of tokens; several, the last partial).
struct GemmCase {
  TensorType type;
  uint32_t rows, cols;
  bool accumulate;
  Matrix m;
  std::vector<float> x, y0;
  std::vector<uint32_t> ns = {3, 70};
  std::vector<std::vector<float>> ys;
  std::vector<std::string> kernels;  // the GEMM each step ran
  std::string what(size_t i) const {
    return cat(tensor_type_name(type), " ", rows, "x", cols, " n_tokens ", ns[i], accumulate ? " accumulate" : "", " kernel ",
               kernels[i]);
  }
  // Rows of tokens past the step must keep y0's values.
  void expect_untouched_past_the_step(size_t i, const std::string& ctx) const {
    for (size_t j = size_t(ns[i]) * rows; j < y0.size(); ++j) ASSERT_EQ(ys[i][j], y0[j]) << what(i) << ctx;
  }
};

// Every quant type at two shapes (37 rows over 9 groups of 32 columns, 24 for the K-quants; 131
// rows over 3 / 8, accumulating), each run through the GEMM kc chooses, then `check(case)`.
template <class Check>
void for_each_gemm_case(KernelContext& kc, uint64_t& seed, Check check) {
  for (TensorType t : {TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0,
                       TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K}) {
    const std::vector<uint32_t> cols = test_cols(t);
    const std::tuple<uint32_t, uint32_t, bool> shapes[] = {{37, cols[1], false}, {131, cols[0], true}};
    for (auto [rows, c, acc] : shapes) {
      GemmCase g{t, rows, c, acc, random_matrix(t, rows, c, ++seed), {}, {}};
      Rng rng(seed * 3);
      const uint32_t max_tokens = 70;
      g.x = random_vector(size_t(max_tokens) * c, rng);
      g.y0 = random_vector(size_t(max_tokens) * rows, rng);
      g.ys = run_matmul(kc, g.m, t, g.x, g.y0, g.ns, max_tokens, acc, &g.kernels);
      check(g);
    }
  }
}

// Steps of several tokens with int8-quantized activations (quantize_x_batch + the DP4A GEMM), for
// every type the GEMM takes (each form of a group product: one scale, scale and min, two halves)
// and tile preset (and the choice between a small-step and a large-step tile), at odd row / block /
// token counts (3 tokens: one partial tile; 70: several tiles, the last partial), by kernel name.
// Against the reference on x quantized the same way on the CPU, the integer path is exact up to
// f32 sums (~5e-15 here; a rare rounding tie resolved differently adds ~5e-10): NMSE < 1e-8.
// Against the exact reference the activation rounding (1/254 of each block's largest magnitude)
// gives ~3e-5: bound 2e-4.
TEST(MatMul, Int8GemmMatchesTheReference) {
  gpu::Context& ctx = shared_context();
  KernelContext& kc = shared_kernels();
  kc.quantize_activations = true;
  const uint32_t tile = kc.gemm_tile;
  const bool f16_default = kc.gemm_f16;
  kc.gemm_f16 = false;  // the f16 GEMM would take these steps: it has its own test below
  uint64_t seed = 300;
  // Presets 1-4 forced, then preset 0: the adapter's small-step tile for 3 tokens and the
  // large-step one (preset 2) from 16 tokens on, so that 70 tokens take it.
  for (uint32_t preset : {1u, 2u, 3u, 4u, 0u}) {
    kc.gemm_tile = preset;
    kc.gemm_large_tokens = preset ? 0 : 16;
    for_each_gemm_case(kc, seed, [&](const GemmCase& g) {
      const auto xq = quantize_blocks(g.x);
      for (size_t i = 0; i < g.ns.size(); ++i) {
        const std::string tile_preset = cat(" tile preset ", preset);
        EXPECT_EQ(g.kernels[i], cat("matmat_q8_", tensor_type_name(g.type))) << g.what(i) << tile_preset;
        EXPECT_LT(nmse(g.m, xq, g.y0, g.ys[i], g.ns[i], g.accumulate), 1e-8) << g.what(i) << tile_preset;
        EXPECT_LT(nmse(g.m, g.x, g.y0, g.ys[i], g.ns[i], g.accumulate), 2e-4) << g.what(i) << tile_preset;
        g.expect_untouched_past_the_step(i, tile_preset);
      }
    });
  }
  kc.gemm_f16 = f16_default;
  kc.gemm_tile = tile;
  kc.gemm_large_tokens = 0;
  kc.quantize_activations = ctx.adapter().adapter_type != "CPU";
}

// The matrix variants of the f16 GEMM compile only where the device has f16 subgroup matrices; their
// source must at least expand (every placeholder filled, each value on one line: a multi-line
// value once kept every f16 GEMM pipeline from being built on the H100) for every type and tile.
TEST(MatMul, F16GemmSourcesExpandForEveryVariant) {
  for (TensorType t : {TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0,
                       TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K})
    for (uint32_t preset = 1; preset <= f16_gemm_presets(); ++preset)
      for (F16GemmVariant v : {F16GemmVariant::Matrices, F16GemmVariant::MatricesF32Decode, F16GemmVariant::Emulated}) {
        const gpu::KernelSpec spec = gpu::PipelineCache::with_params<MatMulParams>(f16_gemm_spec(t, preset, v));
        std::string text;
        ASSERT_NO_THROW(text = gpu::expand_template(spec)) << spec.name;
        EXPECT_EQ(text.find("{{"), std::string::npos) << spec.name;
        const bool matrices = v != F16GemmVariant::Emulated;
        EXPECT_EQ(text.rfind("enable f16, chromium_experimental_subgroup_matrix", 0) == 0, matrices) << spec.name;
        // The products on matrices, or commented out for the emulation's scalar loop.
        EXPECT_EQ(text.find("//          acc[mt * NT + nt] = subgroupMatrixMultiplyAccumulate") == std::string::npos, matrices)
            << spec.name;
      }
  EXPECT_THROW(f16_gemm_spec(TensorType::Q4_0, f16_gemm_presets() + 1, F16GemmVariant::Matrices), Error);
}

// The f16 subgroup-matrix GEMM (matmul_mat_f16_mma.wgsl) for every quant type, each tile preset:
// on every adapter in its scalar emulation (weights staged in f32, products one by one), and on
// subgroup matrices where the device has them. x is rounded to f16 (and on matrices the decoded
// weights too): relative errors up to 2^-11 per operand give an NMSE near 1e-7 against the exact
// reference; bound 1e-6 (a wrong index or a lost group gives ~1).
TEST(MatMul, F16GemmMatchesTheReference) {
  gpu::Context& ctx = shared_context();
  KernelContext& kc = shared_kernels();
  const bool f16_default = kc.gemm_f16;
  const uint32_t tile_default = kc.gemm_f16_tile;
  uint64_t seed = 700;
  for (const bool matrices : {false, true}) {
    if (matrices && !kc.gemm_f16_available) {
      std::printf("note: %s has no f16 subgroup matrices; the f16 GEMM ran only in its emulation\n", ctx.adapter().device.c_str());
      continue;
    }
    kc.gemm_f16 = matrices;
    kc.gemm_f16_emulated = !matrices;
    // The emulation is slow on CPU adapters: its two small presets (one group, several groups).
    const std::vector<uint32_t> presets = matrices ? std::vector<uint32_t>{1, 2, 3, 4, 5, 6, 7} : std::vector<uint32_t>{1, 7};
    for (uint32_t preset : presets) {
      kc.gemm_f16_tile = preset;
      for_each_gemm_case(kc, seed, [&](const GemmCase& g) {
        for (size_t i = 0; i < g.ns.size(); ++i) {
          const std::string tile = cat(" f16 tile ", preset);
          EXPECT_EQ(g.kernels[i], cat("matmat_f16_mma_", tensor_type_name(g.type), matrices ? "" : "_emulated", "_t", preset,
                                      matrices && kc.gemm_f16_decode_f32 ? "_d32" : ""))
              << g.what(i) << tile;
          EXPECT_LT(nmse(g.m, g.x, g.y0, g.ys[i], g.ns[i], g.accumulate), 1e-6) << g.what(i) << tile;
          g.expect_untouched_past_the_step(i, tile);
        }
      });
    }
  }
  kc.gemm_f16 = f16_default;
  kc.gemm_f16_emulated = false;
  kc.gemm_f16_tile = tile_default;
}

// Decode steps read their x as RMSNorm(x) * weight or act(gate) * up computed inside the matvec.
TEST(MatMul, FusedNormAndGatedInputsMatchTheReference) {
  gpu::Context& ctx = shared_context();
  KernelContext& kc = shared_kernels();
  using Kind = VecInput::Kind;
  Rng rng(99);
  for (TensorType t : {TensorType::Q4_0, TensorType::Q6_K, TensorType::F16}) {
    const uint32_t rows = 37, cols = test_cols(t)[1];
    const Matrix m = random_matrix(t, rows, cols, 5);
    GpuWeight w = upload_weight(ctx, "w", t, rows, cols, m.gguf.data());
    const std::vector<float> a = random_vector(cols, rng), b = random_vector(cols, rng);
    gpu::Buffer ab = buffer_of(ctx, a, "a"), bb = buffer_of(ctx, b, "b");
    gpu::Buffer unused_x = ctx.create_buffer(cols * 4, gpu::kStorage, "x");
    gpu::Buffer yb = ctx.create_buffer(rows * 4, gpu::kStorage, "y");
    for (Kind kind : {Kind::RmsNorm, Kind::SwiGLU, Kind::GeGLU}) {
      const float eps = 1e-5f;
      std::vector<float> xin(cols);  // the input the fused matvec must use, in double precision
      double ss = 0;
      for (float v : a) ss += double(v) * v;
      for (uint32_t c = 0; c < cols; ++c) {
        const double g = a[c];
        if (kind == Kind::RmsNorm) xin[c] = float(g / std::sqrt(ss / cols + eps) * b[c]);
        if (kind == Kind::SwiGLU) xin[c] = float(g / (1 + std::exp(-g)) * b[c]);
        if (kind == Kind::GeGLU) xin[c] = float(0.5 * g * (1 + std::tanh(0.7978845608028654 * (g + 0.044715 * g * g * g))) * b[c]);
      }
      for (uint32_t mrows : {1u, 4u})
        for (bool sg : {false, true}) {
          if (sg && !ctx.features().subgroups) continue;
          kc.use_subgroups = sg;
          kc.use_f16 = false;
          kc.matvec_rows = mrows;
          MatMul mm(kc, w, unused_x, yb, 1, false, VecInput{kind, &ab, &bb, eps});
          auto rec = kc.recorder();
          mm.record(rec, StepShape{1, 0});
          rec.submit();
          const std::vector<float> y = ctx.read_vector<float>(yb, rows);
          const std::vector<float> y0(rows, 0.0f);
          EXPECT_LT(nmse(m, xin, y0, y, 1, false), 1e-10)
              << tensor_type_name(t) << " input " << int(kind) << " rows/wg " << mrows << (sg ? " subgroups" : "");
          kc.arena.reset();
        }
    }
  }
  kc.matvec_rows = 0;
  kc.use_subgroups = ctx.features().subgroups;
}

// Q4_0 / Q5_0 / Q5_1 / Q8_0 / Q4_K / Q6_K x int8 activations (dot4I8Packed): the only error is x's rounding to
// 1/254 of each block's largest magnitude, an NMSE near 3e-5 for normal data; bound 2e-4. Every
// reduction the adapter has: workgroup memory, subgroups, and rows owned by single subgroups
// (where subgroups have a fixed size; on the H100 this checks the layout of subgroups in a
// workgroup). The column counts give the subgroup-owned rows both full steps (4 groups per
// lane) and a partial one.
TEST(MatMul, QuantizedWeightsWithQuantizedActivationsMatchTheReference) {
  gpu::Context& ctx = shared_context();
  KernelContext& kc = shared_kernels();
  using Kind = VecInput::Kind;
  Rng rng(7);
  const uint32_t s = std::max(4u, ctx.features().subgroup_max_size), c32 = 32 * (5 * s + 3);
  const uint32_t c256 = 256 * (s * 5 / 8 + 1);
  for (auto [type, cols] : {std::pair{TensorType::Q4_0, c32}, std::pair{TensorType::Q4_1, c32}, std::pair{TensorType::Q5_0, c32},
                            std::pair{TensorType::Q5_1, c32}, std::pair{TensorType::Q8_0, c32}, std::pair{TensorType::Q4_K, c256},
                            std::pair{TensorType::Q5_K, c256}, std::pair{TensorType::Q6_K, c256}}) {
  const uint32_t rows = 131;
  const Matrix m = random_matrix(type, rows, cols, 3);
  GpuWeight w = upload_weight(ctx, "w", type, rows, cols, m.gguf.data());
  const std::vector<float> a = random_vector(cols, rng), b = random_vector(cols, rng);
  gpu::Buffer ab = ctx.create_buffer(cols * 4, gpu::kStorage, "a");
  gpu::Buffer bb = ctx.create_buffer(cols * 4, gpu::kStorage, "b");
  gpu::Buffer yb = ctx.create_buffer(rows * 4, gpu::kStorage, "y");
  ctx.write(ab, a.data(), cols * 4);
  ctx.write(bb, b.data(), cols * 4);
  for (Kind kind : {Kind::Plain, Kind::RmsNorm, Kind::SwiGLU}) {
    const float eps = 1e-6f;
    std::vector<float> xin(cols);
    double ss = 0;
    for (float v : a) ss += double(v) * v;
    for (uint32_t c = 0; c < cols; ++c) {
      const double g = a[c];
      xin[c] = kind == Kind::Plain     ? a[c]
               : kind == Kind::RmsNorm ? float(g / std::sqrt(ss / cols + eps) * b[c])
                                       : float(g / (1 + std::exp(-g)) * b[c]);
    }
    for (uint32_t mrows : {1u, 4u})
      for (int reduce : {0, 1}) {  // workgroup memory, subgroups
        const bool sg = reduce > 0;
        if (sg && !ctx.features().subgroups) continue;
        kc.use_subgroups = sg;
        kc.matvec_rows = mrows;
        QuantizeX quant(kc, VecInput{kind, &ab, kind == Kind::Plain ? nullptr : &bb, eps}, cols, "xq");
        MatMul mm(kc, w, ab, yb, 1, /*accumulate=*/true);
        ASSERT_TRUE(mm.use_quantized_input(quant.output()));
        const std::vector<float> y0 = random_vector(rows, rng);
        ctx.write(yb, y0.data(), rows * 4);
        auto rec = kc.recorder();
        quant.record(rec);
        mm.record(rec, StepShape{1, 0});
        rec.submit();
        const std::vector<float> y = ctx.read_vector<float>(yb, rows);
        EXPECT_LT(nmse(m, xin, y0, y, 1, true), 2e-4) << tensor_type_name(type) << " " << cols << " columns, input "
                                                      << int(kind) << " rows " << mrows << " reduction " << reduce;
        kc.arena.reset();
      }
  }
  }
  kc.matvec_rows = 0;
  kc.use_subgroups = ctx.features().subgroups;
}

// A weight stacked from three matrices (q | k | v) or two (gate | up) writes each part's rows to
// its own buffer in one dispatch, exactly as separate MatMuls would: one token (f32 and int8 x)
// and several (f32 and int8 GEMM), overwrite and accumulate.
TEST(MatMul, StackedWeightWritesEachPartLikeSeparateWeights) {
  gpu::Context& ctx = shared_context();
  KernelContext& kc = shared_kernels();
  const uint32_t cols = 288, max_tokens = 3;
  const uint32_t part_rows[3] = {38, 12, 20};
  for (uint32_t np : {3u, 2u})
  for (TensorType t : {TensorType::Q4_0, TensorType::Q8_0, TensorType::F16}) {
    std::vector<Matrix> m;
    std::vector<WeightPart> parts;
    for (uint32_t i = 0; i < np; ++i) m.push_back(random_matrix(t, part_rows[i], cols, 40 + i));
    for (uint32_t i = 0; i < np; ++i) parts.push_back({m[i].gguf.data(), part_rows[i]});
    GpuWeight stacked = upload_weight(ctx, "qkv", t, cols, parts);
    ASSERT_EQ(stacked.rows, np == 3 ? 70u : 50u);
    Rng rng(11);
    const auto x = random_vector(size_t(max_tokens) * cols, rng);
    gpu::Buffer xb = ctx.create_buffer(x.size() * 4, gpu::kStorage, "x");
    ctx.write(xb, x.data(), x.size() * 4);
    std::vector<std::vector<float>> y0;
    std::vector<gpu::Buffer> yb;
    for (uint32_t i = 0; i < np; ++i) {
      y0.push_back(random_vector(size_t(max_tokens) * part_rows[i], rng));
      yb.push_back(ctx.create_buffer(y0[i].size() * 4, gpu::kStorage, cat("y", i)));
    }
    for (bool q8 : {false, true})
      for (bool acc : {false, true})
        for (uint32_t n : {1u, 3u}) {
          kc.quantize_activations = q8;
          QuantizeX quant(kc, VecInput{VecInput::Kind::Plain, &xb}, cols, "xq");
          std::vector<StackedOutput> more = {{&yb[1], 12}, {&yb[2], 20}};
          more.resize(np - 1);
          MatMul mm(kc, stacked, xb, yb[0], max_tokens, acc, {}, more);
          const bool q8_vec = q8 && n == 1 && mm.use_quantized_input(quant.output());
          for (uint32_t i = 0; i < np; ++i) ctx.write(yb[i], y0[i].data(), y0[i].size() * 4);
          auto rec = kc.recorder();
          if (q8_vec) quant.record(rec);
          mm.record(rec, StepShape{n, 0});
          rec.submit();
          for (uint32_t i = 0; i < np; ++i) {
            const std::vector<float> got = ctx.read_vector<float>(yb[i], y0[i].size());
            // The same part alone, through the same path.
            GpuWeight alone = upload_weight(ctx, "part", t, part_rows[i], cols, m[i].gguf.data());
            MatMul ma(kc, alone, xb, yb[i], max_tokens, acc);
            if (q8_vec) {
              ASSERT_TRUE(ma.use_quantized_input(quant.output()));
            }
            ctx.write(yb[i], y0[i].data(), y0[i].size() * 4);
            auto r2 = kc.recorder();
            if (q8_vec) quant.record(r2);
            ma.record(r2, StepShape{n, 0});
            r2.submit();
            EXPECT_EQ(got, ctx.read_vector<float>(yb[i], y0[i].size()))
                << tensor_type_name(t) << " part " << i << " n_tokens " << n << (acc ? " accumulate" : "") << (q8 ? " int8 x" : "");
            EXPECT_LT(nmse(m[i], x, y0[i], got, n, acc), q8 ? 2e-4 : 2e-5) << tensor_type_name(t) << " part " << i;
          }
          kc.arena.reset();
        }
  }
  kc.quantize_activations = ctx.adapter().adapter_type != "CPU";
}

// A shape of the int8-output matvecs (matmul_vec_q8_qout.wgsl) for the tests below: set on the
// shared context's knobs, and put back to the adapter's defaults after.
struct QoutVariant {
  uint32_t wg, un;
  bool subgroups;
  uint32_t kt = 32;  // lanes along K
  void apply(KernelContext& kc) const {
    kc.qout_wg = wg, kc.qout_un = un, kc.qout_subgroups = subgroups, kc.qout_kt = kt;
  }
  static void reset(KernelContext& kc) { QoutVariant{0, 0, true, 0}.apply(kc); }
};

// The decode matvec that writes its consumer's int8 input itself (quantize_output,
// matmul_vec_q8_qout.wgsl), against the same op without it, x plain and RMSNorm-quantized:
// Residual: y += W x as the plain int8 path computes it (NMSE 1e-10: only the summation order
// differs), and y * norm quantized (expect_int8_blocks) with each block's sum of y^2;
// Gated: act(gate) * up of a stacked gate | up weight, from the plain path's f32 gate and up.
// Every word of the quantized output is poisoned first. Q4_0, Q4_K, Q6_K; 96 rows = 3 blocks;
// 64 and 256 threads per workgroup (the H100 runs its default, 1,024, too), 1 to 3 units per
// batch (rows long enough that lanes run full batches and a remainder), reductions by subgroup
// operations and by workgroup memory.
TEST(MatMul, QuantizedOutputMatchesThePlainPathAndQuantizesIt) {
  gpu::Context& ctx = shared_context();
  KernelContext& kc = shared_kernels();
  using Kind = VecInput::Kind;
  using Q = QuantizedOutput;
  const float eps = 1e-5f;
  Rng rng(21);
  using Variant = QoutVariant;
  for (auto [type, cols] : {std::pair{TensorType::Q4_0, 32u * 101}, std::pair{TensorType::Q4_K, 256u * 17},
                            std::pair{TensorType::Q5_K, 256u * 3}, std::pair{TensorType::Q6_K, 256u * 5}}) {
    const uint32_t rows = 96;
    const std::vector<float> a = random_vector(cols, rng), nx = random_vector(cols, rng), y0 = random_vector(rows, rng),
                             ny = random_vector(rows, rng);
    gpu::Buffer ab = buffer_of(ctx, a, "a"), nxb = buffer_of(ctx, nx, "x_norm"), nyb = buffer_of(ctx, ny, "y_norm");
    gpu::Buffer yb = buffer_of(ctx, y0, "y"), gb = buffer_of(ctx, y0, "gate"), ub = buffer_of(ctx, y0, "up");
    const Matrix m = random_matrix(type, rows, cols, 30);
    const Matrix mg = random_matrix(type, rows, cols, 31), mu = random_matrix(type, rows, cols, 32);
    GpuWeight w = upload_weight(ctx, "w", type, rows, cols, m.gguf.data());
    GpuWeight gu = upload_weight(ctx, "gate_up", type, cols, {{mg.gguf.data(), rows}, {mu.gguf.data(), rows}});
    // 64 threads: 16 rows per thread (2 row slices); 256: 4 (8 slices).
    for (Variant var : {Variant{64, 1, true}, Variant{256, 3, true, 64}, Variant{64, 2, false}, Variant{256, 1, false, 64}})
    for (Kind in : {Kind::Plain, Kind::RmsNorm}) {
      var.apply(kc);
      const std::string what = cat(tensor_type_name(type), in == Kind::Plain ? " plain x" : " normed x", " ", var.wg,
                                   " threads, ", var.kt, " lanes along K, ", var.un, " units per batch",
                                   var.subgroups ? ", subgroups" : "");
      QuantizeX xq(kc, VecInput{in, &ab, in == Kind::Plain ? nullptr : &nxb, eps}, cols, "xq");
      // Residual.
      QuantizeX next(kc, VecInput{Kind::RmsNorm, &yb, &nyb, eps}, rows, "next");  // its buffers only
      auto poison = [&](const QuantizedX& q) {  // every word must be written
        ctx.write(q.qs, std::vector<uint32_t>(q.cols / 4, 0xDEADBEEFu).data(), q.cols);
        ctx.write(q.ds, std::vector<float>(q.cols / 8, std::nanf("")).data(), q.cols / 8 * 4);
      };
      auto step = [&](MatMul& mm) {  // x quantized, then the matvec
        auto rec = kc.recorder();
        xq.record(rec);
        mm.record(rec, StepShape{1, 0});
        rec.submit();
      };
      auto run = [&](MatMul& mm) {
        ctx.write(yb, y0.data(), rows * 4);
        poison(next.output());
        step(mm);
        return ctx.read_vector<float>(yb, rows);
      };
      MatMul plain(kc, w, ab, yb, 1, /*accumulate=*/true);
      ASSERT_TRUE(plain.use_quantized_input(xq.output()));
      const std::vector<float> y_plain = run(plain);
      MatMul fused(kc, w, ab, yb, 1, /*accumulate=*/true);
      ASSERT_TRUE(fused.use_quantized_input(xq.output()));
      ASSERT_TRUE(fused.quantize_output({Q::Kind::Residual, &next.output(), &nyb}));
      const std::vector<float> y = run(fused);
      EXPECT_LT(testing::nmse(y, y_plain), 1e-10) << what;
      std::vector<float> v(rows);
      for (uint32_t i = 0; i < rows; ++i) v[i] = y[i] * ny[i];
      const std::vector<float> ds = ctx.read_vector<float>(next.output().ds, rows / 8);
      testing::expect_int8_blocks(v, ctx.read_vector<uint32_t>(next.output().qs, rows / 4), ds, 1e-6, what + " residual");
      for (uint32_t b = 0; b < rows / 32; ++b) {
        double s2 = 0;
        for (uint32_t i = 0; i < 32; ++i) s2 += double(y[32 * b + i]) * y[32 * b + i];
        EXPECT_NEAR(ds[4 * b + 2], s2, 1e-5 * s2) << what << " block " << b;
      }
      // Gated, SwiGLU and GeGLU.
      for (Kind act : {Kind::SwiGLU, Kind::GeGLU}) {
        QuantizeX actq(kc, VecInput{act, &gb, &ub}, rows, "act");  // its buffers only
        MatMul plain_gu(kc, gu, ab, gb, 1, false, {}, {{&ub, rows}});
        ASSERT_TRUE(plain_gu.use_quantized_input(xq.output()));
        step(plain_gu);
        const std::vector<float> g = ctx.read_vector<float>(gb, rows), u = ctx.read_vector<float>(ub, rows);
        MatMul fused_gu(kc, gu, ab, gb, 1, false, {}, {{&ub, rows}});
        ASSERT_TRUE(fused_gu.use_quantized_input(xq.output()));
        ASSERT_TRUE(fused_gu.quantize_output({Q::Kind::Gated, &actq.output(), nullptr, act}));
        poison(actq.output());
        step(fused_gu);
        std::vector<float> va(rows);
        for (uint32_t i = 0; i < rows; ++i) {
          const double x = g[i];
          const double f = act == Kind::SwiGLU ? x / (1 + std::exp(-x))
                                               : 0.5 * x * (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
          va[i] = float(f * u[i]);
        }
        const std::vector<float> dsa = ctx.read_vector<float>(actq.output().ds, rows / 8);
        testing::expect_int8_blocks(va, ctx.read_vector<uint32_t>(actq.output().qs, rows / 4), dsa, 1e-4,
                                    what + (act == Kind::SwiGLU ? " swiglu" : " geglu"));
        for (uint32_t b = 0; b < rows / 32; ++b) EXPECT_EQ(dsa[4 * b + 2], 0.0f) << what;
      }
      kc.arena.reset();
    }
  }
  QoutVariant::reset(kc);
}

// The q | k | v matvec that applies RoPE and writes the KV caches itself (rope_output) against the
// same matvec writing q, k and v followed by RopeKvWrite (checked against the CPU in rope_test):
// q NMSE < 1e-10 (only the sums' order differs); cache row pos: f32 NMSE < 1e-10, f16 within one
// f16 ulp (its f32 inputs differ by that rounding); every other cache row keeps its poison. Both
// pair layouts, partial rotary (original layout), attn_factor != 1, Q4_0 / Q4_K / Q6_K (Q4_K_M's
// v) / Q8_0, 64 / 256 threads, 1 / 2 units per batch, 32 / 64 lanes along K, subgroup and
// workgroup-memory reductions; the weight whole or as q | k and v ops (first_row); and what
// rope_output refuses.
TEST(MatMul, RopeOutputMatchesTheMatvecThenRopeKvWrite) {
  gpu::Context& ctx = shared_context();
  KernelContext& kc = shared_kernels();
  using Kind = VecInput::Kind;
  struct Case {
    uint32_t n_heads, n_kv_heads, head_dim, rotary_dim;
    bool neox;
    float attn_factor;
    TensorType type;
    uint32_t cols;
  };
  const Case cases[] = {{4, 2, 64, 64, true, 1.0f, TensorType::Q4_0, 32 * 101},
                        {3, 1, 32, 20, false, 0.9f, TensorType::Q4_K, 256 * 5},
                        {2, 1, 64, 64, false, 1.0f, TensorType::Q6_K, 256 * 3},
                        {2, 2, 64, 64, false, 1.0f, TensorType::Q8_0, 32 * 40}};
  using Variant = QoutVariant;
  const uint32_t max_ctx = 24, pos = 13;
  Rng rng(77);
  for (const Case& c : cases) {
    const uint32_t qd = c.n_heads * c.head_dim, kvd = c.n_kv_heads * c.head_dim;
    const Matrix mq = random_matrix(c.type, qd, c.cols, 40), mk = random_matrix(c.type, kvd, c.cols, 41),
                 mv = random_matrix(c.type, kvd, c.cols, 42);
    GpuWeight w = upload_weight(ctx, "qkv", c.type, c.cols, {{mq.gguf.data(), qd}, {mk.gguf.data(), kvd}, {mv.gguf.data(), kvd}});
    GpuWeight wqk = upload_weight(ctx, "qk", c.type, c.cols, {{mq.gguf.data(), qd}, {mk.gguf.data(), kvd}});
    GpuWeight wv = upload_weight(ctx, "v", c.type, kvd, c.cols, mv.gguf.data());
    std::vector<float> inv_freq(c.rotary_dim / 2);
    for (uint32_t i = 0; i < inv_freq.size(); ++i)
      inv_freq[i] = float(std::pow(10000.0, -2.0 * i / c.rotary_dim) * rng.uniform(0.5f, 1.0f));
    const std::vector<float> x = random_vector(c.cols, rng), nw = random_vector(c.cols, rng);
    gpu::Buffer xb = buffer_of(ctx, x, "x"), nwb = buffer_of(ctx, nw, "norm"), fb = buffer_of(ctx, inv_freq, "inv_freq");
    gpu::Buffer qb = buffer_of(ctx, std::vector<float>(qd), "q"), q2b = buffer_of(ctx, std::vector<float>(qd), "q2");
    gpu::Buffer kb = buffer_of(ctx, std::vector<float>(kvd), "k"), vb = buffer_of(ctx, std::vector<float>(kvd), "v");
    QuantizeX xq(kc, VecInput{Kind::RmsNorm, &xb, &nwb, 1e-5f}, c.cols, "xq");
    for (bool f16_cache : {false, true}) {
      const uint64_t cache_bytes = kv_cache_bytes(max_ctx, kvd, f16_cache);
      std::vector<uint32_t> poison(cache_bytes / 4);
      for (auto& p : poison) p = uint32_t(rng.next_u64());
      gpu::Buffer caches[4];  // k, v: RopeKvWrite's, then rope_output's
      for (auto& cb : caches) cb = ctx.create_buffer(cache_bytes, gpu::kStorage, "cache");
      auto submit = [&](auto&& ops) {
        for (auto& cb : caches) ctx.write(cb, poison.data(), cache_bytes);
        auto rec = kc.recorder();
        xq.record(rec);
        ops(rec);
        rec.submit();
      };
      MatMul plain(kc, w, xb, qb, 1, false, {}, {{&kb, kvd}, {&vb, kvd}});
      ASSERT_TRUE(plain.use_quantized_input(xq.output()));
      RopeKvWrite rope(kc, qb, kb, vb, caches[0], caches[1], c.n_heads, c.n_kv_heads, c.head_dim, c.rotary_dim, c.neox, fb,
                       c.attn_factor, max_ctx, f16_cache, 1);
      submit([&](gpu::Recorder& rec) {
        plain.record(rec, {1, pos});
        rope.record(rec, {1, pos});
      });
      const std::vector<float> q_ref = ctx.read_vector<float>(qb, qd);
      const std::vector<uint32_t> k_ref = ctx.read_vector<uint32_t>(caches[0], cache_bytes / 4),
                                  v_ref = ctx.read_vector<uint32_t>(caches[1], cache_bytes / 4);
      const RopeOutput out{&caches[2], &caches[3], &fb, c.n_heads, c.n_kv_heads, c.head_dim, c.rotary_dim,
                           c.neox, c.attn_factor, max_ctx, f16_cache};
      RopeOutput v_out = out;
      v_out.first_row = qd + kvd;
      for (Variant var : {Variant{64, 1, true}, Variant{256, 2, true, 64}, Variant{64, 2, false}})
      for (bool split : {false, true}) {
        var.apply(kc);
        const std::string what = cat(tensor_type_name(c.type), c.neox ? " neox" : " original", " rotary ", c.rotary_dim,
                                     f16_cache ? " f16" : " f32", " cache, ", var.wg, " threads, ", var.kt, " lanes, ", var.un, " units",
                                     var.subgroups ? ", subgroups" : "", split ? ", q | k and v apart" : "");
        MatMul fused(kc, w, xb, q2b, 1, false, {}, {{&kb, kvd}, {&vb, kvd}});
        MatMul fused_qk(kc, wqk, xb, q2b, 1, false, {}, {{&kb, kvd}}), fused_v(kc, wv, xb, vb, 1, false);
        for (MatMul* mm : {&fused, &fused_qk, &fused_v}) ASSERT_TRUE(mm->use_quantized_input(xq.output()));
        if (split) {
          ASSERT_TRUE(fused_qk.rope_output(out)) << what;
          ASSERT_TRUE(fused_v.rope_output(v_out)) << what;
        } else {
          ASSERT_TRUE(fused.rope_output(out)) << what;
        }
        submit([&](gpu::Recorder& rec) {
          if (split) {
            fused_qk.record(rec, {1, pos});
            fused_v.record(rec, {1, pos});
          } else {
            fused.record(rec, {1, pos});
          }
        });
        EXPECT_LT(nmse(ctx.read_vector<float>(q2b, qd), q_ref), 1e-10) << what;
        for (int part = 0; part < 2; ++part) {
          const std::vector<uint32_t>& ref = part == 0 ? k_ref : v_ref;
          const std::vector<uint32_t> got = ctx.read_vector<uint32_t>(caches[2 + part], cache_bytes / 4);
          const size_t row_words = f16_cache ? kvd / 2 : kvd, first = pos * row_words;
          for (size_t i = 0; i < got.size(); ++i)
            if (i < first || i >= first + row_words) ASSERT_EQ(got[i], poison[i]) << what << " word " << i;
          std::vector<float> a(kvd), b(kvd);
          for (uint32_t e = 0; e < kvd; ++e) {
            if (f16_cache) {
              a[e] = f16_to_f32(uint16_t(got[first + e / 2] >> (16 * (e % 2))));
              b[e] = f16_to_f32(uint16_t(ref[first + e / 2] >> (16 * (e % 2))));
              ASSERT_LE(std::fabs(a[e] - b[e]), std::ldexp(std::fabs(b[e]), -10) + 6e-8) << what << " element " << e;
            } else {
              std::memcpy(&a[e], &got[first + e], 4);
              std::memcpy(&b[e], &ref[first + e], 4);
            }
          }
          EXPECT_LT(nmse(a, b), f16_cache ? 1e-6 : 1e-10) << what << (part == 0 ? " k" : " v");
        }
      }
      // Refused, nothing changed: rows off the part boundaries (q | k said to start a head in, or
      // at v so that it runs past v's end), neox with partial rotary, no int8 input yet.
      MatMul two(kc, wqk, xb, q2b, 1, false, {}, {{&kb, kvd}});
      ASSERT_TRUE(two.use_quantized_input(xq.output()));
      RopeOutput off = out;
      for (uint32_t first : {c.head_dim, qd + kvd}) {
        off.first_row = first;
        EXPECT_FALSE(two.can_rope_output(off)) << first;
        EXPECT_FALSE(two.rope_output(off)) << first;
      }
      EXPECT_FALSE(two.writes_rope_output());
      MatMul no_q8(kc, w, xb, q2b, 1, false, {}, {{&kb, kvd}, {&vb, kvd}});
      EXPECT_FALSE(no_q8.rope_output(out));
      RopeOutput partial = out;
      partial.neox = true;
      partial.rotary_dim = c.head_dim / 2;
      MatMul fused(kc, w, xb, q2b, 1, false, {}, {{&kb, kvd}, {&vb, kvd}});
      ASSERT_TRUE(fused.use_quantized_input(xq.output()));
      EXPECT_FALSE(fused.rope_output(partial));
      EXPECT_FALSE(fused.writes_rope_output());
    }
    kc.arena.reset();  // every op of the case is done (each holds its uniform slot until then)
  }
  QoutVariant::reset(kc);
}

// quantize_output refuses what it cannot do, changing nothing: no int8 input yet, a weight that
// does not accumulate (Residual), parts of unequal rows (Gated), a row count not a multiple of 32.
TEST(MatMul, QuantizedOutputRefusesUnsupportedShapes) {
  gpu::Context& ctx = shared_context();
  KernelContext& kc = shared_kernels();
  using Q = QuantizedOutput;
  const uint32_t cols = 256;
  const Matrix m = random_matrix(TensorType::Q4_0, 64, cols, 40), m2 = random_matrix(TensorType::Q4_0, 32, cols, 41);
  GpuWeight w = upload_weight(ctx, "w", TensorType::Q4_0, 64, cols, m.gguf.data());
  GpuWeight w40 = upload_weight(ctx, "w40", TensorType::Q4_0, 40, cols, m.gguf.data());
  GpuWeight uneven = upload_weight(ctx, "gu", TensorType::Q4_0, cols, {{m.gguf.data(), 64}, {m2.gguf.data(), 32}});
  gpu::Buffer xb = ctx.create_buffer(cols * 4, gpu::kStorage, "x");
  gpu::Buffer yb = ctx.create_buffer(96 * 4, gpu::kStorage, "y");
  gpu::Buffer y2 = ctx.create_buffer(96 * 4, gpu::kStorage, "y2");
  QuantizeX xq(kc, VecInput{VecInput::Kind::Plain, &xb}, cols, "xq");
  QuantizeX out64(kc, VecInput{VecInput::Kind::RmsNorm, &yb, &yb, 1e-5f}, 64, "out64");
  QuantizeX out32(kc, VecInput{VecInput::Kind::Plain, &yb}, 32, "out32");
  MatMul no_input(kc, w, xb, yb, 1, true);
  EXPECT_FALSE(no_input.quantize_output({Q::Kind::Residual, &out64.output(), &yb}));
  MatMul overwrite(kc, w, xb, yb, 1, false);
  ASSERT_TRUE(overwrite.use_quantized_input(xq.output()));
  EXPECT_FALSE(overwrite.quantize_output({Q::Kind::Residual, &out64.output(), &yb}));
  MatMul odd(kc, w40, xb, yb, 1, true);
  ASSERT_TRUE(odd.use_quantized_input(xq.output()));
  EXPECT_FALSE(odd.quantize_output({Q::Kind::Residual, &out64.output(), &yb}));
  MatMul gated(kc, uneven, xb, yb, 1, false, {}, {{&y2, 32}});
  ASSERT_TRUE(gated.use_quantized_input(xq.output()));
  EXPECT_FALSE(gated.quantize_output({Q::Kind::Gated, &out32.output()}));
  kc.arena.reset();
}

TEST(MatMul, RejectsTooSmallBuffersNamingThem) {
  gpu::Context& ctx = shared_context();
  KernelContext kc(ctx);
  const Matrix m = random_matrix(TensorType::Q8_0, 5, 64, 9);
  GpuWeight w = upload_weight(ctx, "blk.0.ffn_up.weight", TensorType::Q8_0, 5, 64, m.gguf.data());
  gpu::Buffer x = ctx.create_buffer(64 * 4, gpu::kStorage, "x");
  gpu::Buffer y = ctx.create_buffer(5 * 4, gpu::kStorage, "y");
  try {
    MatMul mm(kc, w, x, y, 2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "matmul 'blk.0.ffn_up.weight': x buffer 'x' holds 256 bytes, needs 2 x 64 floats");
  }
}

}  // namespace
}  // namespace wgllm::kernels
