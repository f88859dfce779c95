// RmsNorm vs a plain CPU reference on random rows, both reduction variants.
#include "kernels/norm.h"

#include <gtest/gtest.h>

#include "kernels/test_support.h"

#include <cmath>

#include "util/rng.h"

namespace wgllm::kernels {
namespace {

using testing::chunked_context;
using testing::nmse;
using testing::shared_context;

// Reference: y[t][i] = x[t][i] / sqrt(mean_j x[t][j]^2 + eps) * w[i], in double.
std::vector<float> rms_norm_ref(const std::vector<float>& x, const std::vector<float>& w, uint32_t dim, float eps) {
  std::vector<float> y(x.size());
  for (size_t t = 0; t < x.size() / dim; ++t) {
    double ss = 0;
    for (uint32_t i = 0; i < dim; ++i) ss += double(x[t * dim + i]) * x[t * dim + i];
    const double r = 1.0 / std::sqrt(ss / dim + eps);
    for (uint32_t i = 0; i < dim; ++i) y[t * dim + i] = float(x[t * dim + i] * r * w[i]);
  }
  return y;
}

// NMSE bound for f32 math (sum of squares in f32 over a few hundred terms): 1e-10.
TEST(RmsNorm, MatchesReferenceAtOddShapes) {
  gpu::Context& ctx = shared_context();
  for (bool sg : {false, true}) {
    if (sg && !ctx.features().subgroups) continue;
    KernelContext kc(ctx);
    kc.use_subgroups = sg;
    for (uint32_t dim : {333u, 64u, 1000u}) {
      const uint32_t max_tokens = 17;
      Rng rng(dim * 7 + sg);
      std::vector<float> x(size_t(max_tokens) * dim), w(dim);
      for (auto& v : x) v = rng.normal() * 3.0f;
      for (auto& v : w) v = rng.uniform(-2, 2);
      gpu::Buffer xb = ctx.create_buffer(x.size() * 4, gpu::kStorage, "x");
      gpu::Buffer wb = ctx.create_buffer(w.size() * 4, gpu::kStorage, "w");
      gpu::Buffer yb = ctx.create_buffer(x.size() * 4, gpu::kStorage, "y");
      ctx.write(xb, x.data(), x.size() * 4);
      ctx.write(wb, w.data(), w.size() * 4);
      RmsNorm norm(kc, xb, wb, yb, dim, 1e-5f, max_tokens);
      for (uint32_t n_tokens : {1u, 5u, 17u}) {
        auto rec = kc.recorder();
        norm.record(rec, {n_tokens, 0});
        rec.submit();
        std::vector<float> got = ctx.read_vector<float>(yb, size_t(n_tokens) * dim);
        std::vector<float> xs(x.begin(), x.begin() + size_t(n_tokens) * dim);
        const double e = nmse(got, rms_norm_ref(xs, w, dim, 1e-5f));
        EXPECT_LT(e, 1e-10) << "dim " << dim << " n_tokens " << n_tokens << " subgroups " << sg;
      }
    }
    std::printf("RmsNorm: subgroups=%d ran\n", int(sg));
  }
}

TEST(RmsNorm, RejectsTooSmallBuffersAndTooManyTokens) {
  gpu::Context& ctx = shared_context();
  KernelContext kc(ctx);
  gpu::Buffer small = ctx.create_buffer(100 * 4, gpu::kStorage, "small-x");
  gpu::Buffer w = ctx.create_buffer(100 * 4, gpu::kStorage, "w");
  gpu::Buffer y = ctx.create_buffer(200 * 4, gpu::kStorage, "y");
  try {
    RmsNorm bad(kc, small, w, y, 100, 1e-5f, 2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "RmsNorm: buffer 'small-x' holds 400 bytes, needs 800");
  }
  RmsNorm ok(kc, y, w, small, 100, 1e-5f, 1);
  auto rec = kc.recorder();
  try {
    ok.record(rec, {2, 0});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "RmsNorm: step of 2 tokens, the op was built for 1..1");
  }
}

}  // namespace
}  // namespace wgllm::kernels
