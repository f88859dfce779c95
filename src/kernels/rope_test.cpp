// Rope vs a plain CPU reference: both pair layouts, partial rotary, attn_factor, positions 0 and 40.
#include "kernels/rope.h"

#include <gtest/gtest.h>

#include <cmath>

#include "util/rng.h"

namespace wgllm::kernels {
namespace {

gpu::Context& shared_context() {
  static std::unique_ptr<gpu::Context> ctx = gpu::Context::create({});
  return *ctx;
}

double nmse(const std::vector<float>& got, const std::vector<float>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) num += double(got[i] - ref[i]) * (got[i] - ref[i]), den += double(ref[i]) * ref[i];
  return num / den;
}

// Reference in double (the angle from the f32 inv_freq the kernel also reads).
void rope_ref(std::vector<float>& x, uint32_t n_tokens, uint32_t n_heads, uint32_t head_dim, uint32_t rotary_dim,
              bool neox, const std::vector<float>& inv_freq, float attn_factor, uint32_t pos) {
  const uint32_t half = rotary_dim / 2;
  for (uint32_t t = 0; t < n_tokens; ++t)
    for (uint32_t h = 0; h < n_heads; ++h)
      for (uint32_t i = 0; i < half; ++i) {
        float* row = &x[(size_t(t) * n_heads + h) * head_dim];
        float& a = neox ? row[i] : row[2 * i];
        float& b = neox ? row[i + half] : row[2 * i + 1];
        const double angle = double(pos + t) * inv_freq[i];
        const double c = std::cos(angle) * attn_factor, s = std::sin(angle) * attn_factor;
        const double a0 = a, b0 = b;
        a = float(a0 * c - b0 * s);
        b = float(a0 * s + b0 * c);
      }
}

// Bound: NMSE < 1e-10 (f32 angle = pos * inv_freq rounds to ~4e-6 rad at pos 56; squared
// that is ~1e-11).
TEST(Rope, MatchesReferenceForBothLayouts) {
  gpu::Context& ctx = shared_context();
  KernelContext kc(ctx);
  const uint32_t max_tokens = 17;
  struct Case {
    uint32_t n_heads, head_dim, rotary_dim;
    bool neox;
    float attn_factor;
  };
  for (Case c : {Case{6, 64, 64, false, 1.0f}, Case{3, 96, 96, true, 1.0f}, Case{2, 128, 128, true, 1.19f},
                 Case{5, 96, 32, true, 1.0f} /* partial rotary (Phi-2 style) */, Case{3, 64, 40, false, 1.0f}}) {
    Rng rng(c.head_dim + c.rotary_dim);
    std::vector<float> inv_freq(c.rotary_dim / 2);
    for (uint32_t i = 0; i < inv_freq.size(); ++i)  // theta 10000 with a random factor per pair
      inv_freq[i] = float(std::pow(10000.0, -2.0 * i / c.rotary_dim) * rng.uniform(0.5f, 1.0f));
    std::vector<float> x(size_t(max_tokens) * c.n_heads * c.head_dim);
    for (auto& v : x) v = rng.normal();
    gpu::Buffer xb = ctx.create_buffer(x.size() * 4, gpu::kStorage, "qk");
    gpu::Buffer fb = ctx.create_buffer(inv_freq.size() * 4, gpu::kStorage, "inv_freq");
    ctx.write(fb, inv_freq.data(), inv_freq.size() * 4);
    Rope rope(kc, xb, c.n_heads, c.head_dim, c.rotary_dim, c.neox, fb, c.attn_factor, max_tokens);
    for (uint32_t n_tokens : {1u, 5u, 17u})
      for (uint32_t pos : {0u, 40u}) {
        ctx.write(xb, x.data(), x.size() * 4);
        auto rec = kc.recorder();
        rope.record(rec, {n_tokens, pos});
        rec.submit();
        std::vector<float> got = ctx.read_vector<float>(xb, x.size());
        std::vector<float> ref = x;
        rope_ref(ref, n_tokens, c.n_heads, c.head_dim, c.rotary_dim, c.neox, inv_freq, c.attn_factor, pos);
        EXPECT_LT(nmse(got, ref), 1e-10) << c.head_dim << "/" << c.rotary_dim << " neox " << c.neox << " t " << n_tokens << " pos " << pos;
        const size_t rows = size_t(n_tokens) * c.n_heads * c.head_dim;  // rows past n_tokens untouched
        ASSERT_TRUE(std::equal(got.begin() + rows, got.end(), x.begin() + rows));
        if (c.rotary_dim < c.head_dim)  // dims past rotary_dim untouched
          for (size_t r = 0; r < size_t(n_tokens) * c.n_heads; ++r)
            for (uint32_t d = c.rotary_dim; d < c.head_dim; ++d) ASSERT_EQ(got[r * c.head_dim + d], x[r * c.head_dim + d]);
      }
  }
  gpu::Buffer xb = ctx.create_buffer(64 * 4, gpu::kStorage, "qk");
  EXPECT_THROW(Rope(kc, xb, 1, 64, 33, true, xb, 1.0f, 1), Error);
}

}  // namespace
}  // namespace wgllm::kernels
