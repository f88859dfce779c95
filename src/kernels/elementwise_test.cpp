// Elementwise ops vs plain CPU references on random data at odd sizes.
#include "kernels/elementwise.h"

#include <gtest/gtest.h>

#include "kernels/test_support.h"

#include <cmath>

#include "util/rng.h"

namespace wgllm::kernels {
namespace {

using testing::chunked_context;
using testing::nmse;
using testing::shared_context;

std::vector<float> random_vector(Rng& rng, size_t n, float sigma) {
  std::vector<float> v(n);
  for (auto& x : v) x = rng.normal() * sigma;
  return v;
}

gpu::Buffer upload(gpu::Context& ctx, const std::vector<float>& v, const char* label) {
  gpu::Buffer b = ctx.create_buffer(v.size() * 4, gpu::kStorage, label);
  ctx.write(b, v.data(), v.size() * 4);
  return b;
}

void run(KernelContext& kc, EltOp& op, uint32_t n_tokens) {
  auto rec = kc.recorder();
  op.record(rec, {n_tokens, 0});
  rec.submit();
}

double silu(double g) { return g / (1 + std::exp(-g)); }
double gelu_tanh(double g) { return 0.5 * g * (1 + std::tanh(0.7978845608028654 * (g + 0.044715 * g * g * g))); }

constexpr uint32_t kDim = 333, kMaxTokens = 17;

// Bound for every op here: NMSE < 1e-10 (one f32 rounding per element; exp/tanh of the
// driver within a few ulp).
TEST(Elementwise, AddOutOfPlaceAndInPlace) {
  gpu::Context& ctx = shared_context();
  KernelContext kc(ctx);
  Rng rng(1);
  auto a = random_vector(rng, kDim * kMaxTokens, 1), b = random_vector(rng, kDim * kMaxTokens, 1);
  gpu::Buffer ab = upload(ctx, a, "a"), bb = upload(ctx, b, "b"), ob = upload(ctx, b, "out");
  for (uint32_t n_tokens : {1u, 5u, 17u}) {
    Add add(kc, ab, bb, ob, kDim, kMaxTokens);
    run(kc, add, n_tokens);
    std::vector<float> ref(size_t(n_tokens) * kDim);
    for (size_t i = 0; i < ref.size(); ++i) ref[i] = a[i] + b[i];
    EXPECT_LT(nmse(ctx.read_vector<float>(ob, ref.size()), ref), 1e-12) << n_tokens;
  }
  Add in_place(kc, ab, bb, ab, kDim, kMaxTokens);  // a += b
  run(kc, in_place, 5);
  std::vector<float> got = ctx.read_vector<float>(ab, a.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(got[i], i < 5 * kDim ? a[i] + b[i] : a[i]) << i;
  EXPECT_THROW(Add(kc, ab, bb, bb, kDim, kMaxTokens), Error);
  // max_tokens 0: n is the whole element count, covered whatever the step's shape.
  Add whole(kc, bb, bb, ob, kDim * kMaxTokens);
  run(kc, whole, 1);
  got = ctx.read_vector<float>(ob, b.size());
  for (size_t i = 0; i < b.size(); ++i) ASSERT_EQ(got[i], b[i] + b[i]) << i;
}

TEST(Elementwise, GatedActivationsSeparateAndFused) {
  gpu::Context& ctx = shared_context();
  KernelContext kc(ctx);
  Rng rng(2);
  auto gate = random_vector(rng, kDim * kMaxTokens, 3), up = random_vector(rng, kDim * kMaxTokens, 1);
  std::vector<float> fused(2 * kDim * kMaxTokens);  // row t: [gate[t] | up[t]]
  for (uint32_t t = 0; t < kMaxTokens; ++t)
    for (uint32_t i = 0; i < kDim; ++i) fused[t * 2 * kDim + i] = gate[t * kDim + i], fused[t * 2 * kDim + kDim + i] = up[t * kDim + i];
  gpu::Buffer gb = upload(ctx, gate, "gate"), ub = upload(ctx, up, "up"), fb = upload(ctx, fused, "gate_up");
  gpu::Buffer ob = ctx.create_buffer(kDim * kMaxTokens * 4, gpu::kStorage, "out");
  for (GateKind kind : {GateKind::SwiGLU, GateKind::GeGLU}) {
    for (uint32_t n_tokens : {1u, 5u, 17u}) {
      std::vector<float> ref(size_t(n_tokens) * kDim);
      for (size_t i = 0; i < ref.size(); ++i)
        ref[i] = float((kind == GateKind::SwiGLU ? silu(gate[i]) : gelu_tanh(gate[i])) * up[i]);
      GatedActivation separate(kc, gb, ub, ob, kDim, kind, kMaxTokens);
      run(kc, separate, n_tokens);
      EXPECT_LT(nmse(ctx.read_vector<float>(ob, ref.size()), ref), 1e-10) << int(kind) << " " << n_tokens;
      GatedActivation from_fused(kc, fb, ob, kDim, kind, kMaxTokens);
      run(kc, from_fused, n_tokens);
      EXPECT_LT(nmse(ctx.read_vector<float>(ob, ref.size()), ref), 1e-10) << "fused " << int(kind) << " " << n_tokens;
    }
  }
}

TEST(Elementwise, BiasSoftcapScaleInPlace) {
  gpu::Context& ctx = shared_context();
  KernelContext kc(ctx);
  Rng rng(3);
  const uint32_t n_tokens = 5;
  auto x = random_vector(rng, kDim * kMaxTokens, 40), bias = random_vector(rng, kDim, 1);
  {
    gpu::Buffer xb = upload(ctx, x, "x"), bb = upload(ctx, bias, "bias");
    AddBias op(kc, xb, bb, kDim, kMaxTokens);
    run(kc, op, n_tokens);
    std::vector<float> ref(x.begin(), x.end());
    for (size_t i = 0; i < size_t(n_tokens) * kDim; ++i) ref[i] += bias[i % kDim];
    EXPECT_EQ(ctx.read_vector<float>(xb, x.size()), ref);  // one f32 add: exact; rows past n_tokens untouched
  }
  for (uint32_t n : {1001u, 32011u}) {  // final logits of one token
    auto logits = random_vector(rng, n, 60);
    gpu::Buffer lb = upload(ctx, logits, "logits");
    Softcap cap(kc, lb, n, 50.0f);
    run(kc, cap, 1);
    std::vector<float> ref(n);
    for (uint32_t i = 0; i < n; ++i) ref[i] = float(50.0 * std::tanh(logits[i] / 50.0));
    EXPECT_LT(nmse(ctx.read_vector<float>(lb, n), ref), 1e-10) << n;
    Scale scale(kc, lb, n, 0.37f);
    run(kc, scale, 1);
    for (auto& r : ref) r *= 0.37f;
    EXPECT_LT(nmse(ctx.read_vector<float>(lb, n), ref), 1e-10) << n;
  }
  gpu::Buffer xb = upload(ctx, x, "x");
  EXPECT_THROW(Softcap(kc, xb, kDim, 0.0f), Error);
}

}  // namespace
}  // namespace wgllm::kernels
