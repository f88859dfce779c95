// Rope and RopeKvWrite vs a plain CPU reference: both pair layouts, partial rotary, attn_factor,
// positions 0 and 40; RopeKvWrite also over GQA shapes, f32 and f16 caches, both variants.
#include "kernels/rope.h"

#include <gtest/gtest.h>

#include "kernels/test_support.h"

#include <cmath>
#include <cstring>

#include "kernels/attention.h"
#include "util/fp16.h"
#include "util/rng.h"

namespace wgllm::kernels {
namespace {

using testing::chunked_context;
using testing::nmse;
using testing::shared_context;

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

// Bounds: q and an f32 k cache NMSE < 1e-10 as Rope; v copied exactly (f32) or to the exact
// f16 bits; an f16 k cache NMSE < 1e-6 vs the f32 reference (f16 rounding, 2^-11 relative at
// most, ~1e-7 on average squared). Cache rows outside pos..pos+n_tokens-1 keep their contents.
TEST(RopeKvWrite, MatchesRopeAndCacheWriteReference) {
  gpu::Context& ctx = shared_context();
  const uint32_t max_tokens = 17, max_ctx = 64;
  struct Case {
    uint32_t n_heads, n_kv_heads, head_dim, rotary_dim;
    bool neox;
    float attn_factor;
  };
  const Case cases[] = {{8, 2, 128, 128, false, 1.0f}, {6, 2, 64, 64, true, 1.19f}, {5, 5, 96, 32, true, 1.0f},
                        {3, 1, 64, 40, false, 1.0f}, {3, 3, 20, 18, true, 1.0f}, {7, 1, 36, 26, false, 0.9f}};
  int ran = 0;
  for (bool sg : {false, true}) {
    if (sg && !ctx.features().subgroups) continue;
    for (bool f16_cache : {false, true})
      for (bool native_f16 : {false, true}) {
        if (native_f16 && (!f16_cache || !ctx.features().shader_f16)) continue;
        KernelContext kc(ctx);
        kc.use_subgroups = sg;
        kc.use_f16 = native_f16;
        for (const Case& c : cases) {
          const uint32_t q_row = c.n_heads * c.head_dim, kv_row = c.n_kv_heads * c.head_dim;
          Rng rng(c.head_dim * 7 + c.rotary_dim + c.n_heads);
          std::vector<float> inv_freq(c.rotary_dim / 2);
          for (uint32_t i = 0; i < inv_freq.size(); ++i)
            inv_freq[i] = float(std::pow(10000.0, -2.0 * i / c.rotary_dim) * rng.uniform(0.5f, 1.0f));
          std::vector<float> q(size_t(max_tokens) * q_row), k(size_t(max_tokens) * kv_row), v(k.size());
          for (auto& x : q) x = rng.normal();
          for (auto& x : k) x = rng.normal();
          for (auto& x : v) x = rng.normal();
          const uint64_t cache_bytes = kv_cache_bytes(max_ctx, kv_row, f16_cache);
          std::vector<uint8_t> junk(cache_bytes);  // what the caches hold before the step
          for (auto& b : junk) b = uint8_t(rng.below(256));
          gpu::Buffer qb = ctx.create_buffer(q.size() * 4, gpu::kStorage, "q");
          gpu::Buffer kb = ctx.create_buffer(k.size() * 4, gpu::kStorage, "k");
          gpu::Buffer vb = ctx.create_buffer(v.size() * 4, gpu::kStorage, "v");
          gpu::Buffer kcb = ctx.create_buffer(cache_bytes, gpu::kStorage, "k_cache");
          gpu::Buffer vcb = ctx.create_buffer(cache_bytes, gpu::kStorage, "v_cache");
          gpu::Buffer fb = ctx.create_buffer(inv_freq.size() * 4, gpu::kStorage, "inv_freq");
          ctx.write(fb, inv_freq.data(), inv_freq.size() * 4);
          ctx.write(kb, k.data(), k.size() * 4);
          ctx.write(vb, v.data(), v.size() * 4);
          RopeKvWrite op(kc, qb, kb, vb, kcb, vcb, c.n_heads, c.n_kv_heads, c.head_dim, c.rotary_dim, c.neox, fb,
                         c.attn_factor, max_ctx, f16_cache, max_tokens);
          for (uint32_t n_tokens : {1u, 5u, 17u})
            for (uint32_t pos : {0u, 40u}) {
              ctx.write(qb, q.data(), q.size() * 4);
              ctx.write(kcb, junk.data(), junk.size());
              ctx.write(vcb, junk.data(), junk.size());
              auto rec = kc.recorder();
              op.record(rec, {n_tokens, pos});
              rec.submit();
              const std::string what = ::testing::PrintToString(std::vector<uint32_t>{
                  c.n_heads, c.n_kv_heads, c.head_dim, c.rotary_dim, c.neox, n_tokens, pos, f16_cache, sg, native_f16});
              std::vector<float> got_q = ctx.read_vector<float>(qb, q.size()), ref_q = q, ref_k = k;
              rope_ref(ref_q, n_tokens, c.n_heads, c.head_dim, c.rotary_dim, c.neox, inv_freq, c.attn_factor, pos);
              rope_ref(ref_k, n_tokens, c.n_kv_heads, c.head_dim, c.rotary_dim, c.neox, inv_freq, c.attn_factor, pos);
              EXPECT_LT(nmse(got_q, ref_q), 1e-10) << what;
              const size_t q_rows = size_t(n_tokens) * q_row;  // rows past n_tokens untouched
              ASSERT_TRUE(std::equal(got_q.begin() + q_rows, got_q.end(), q.begin() + q_rows)) << what;
              ASSERT_EQ(ctx.read_vector<float>(kb, k.size()), k) << what;  // k itself unchanged
              const size_t elem = f16_cache ? 2 : 4, lo = size_t(pos) * kv_row * elem,
                           hi = size_t(pos + n_tokens) * kv_row * elem;
              std::vector<uint8_t> kc_bytes = ctx.read_vector<uint8_t>(kcb, cache_bytes);
              std::vector<uint8_t> vc_bytes = ctx.read_vector<uint8_t>(vcb, cache_bytes);
              for (const auto* bytes : {&kc_bytes, &vc_bytes}) {
                ASSERT_TRUE(std::equal(bytes->begin(), bytes->begin() + lo, junk.begin())) << what;
                ASSERT_TRUE(std::equal(bytes->begin() + hi, bytes->end(), junk.begin() + hi)) << what;
              }
              const size_t n = size_t(n_tokens) * kv_row;
              std::vector<float> got_k(n), want_k(ref_k.begin(), ref_k.begin() + n);
              if (f16_cache) {
                std::vector<uint16_t> kbits(n), vbits(n);
                std::memcpy(kbits.data(), kc_bytes.data() + lo, n * 2);
                std::memcpy(vbits.data(), vc_bytes.data() + lo, n * 2);
                for (size_t i = 0; i < n; ++i) {
                  got_k[i] = f16_to_f32(kbits[i]);
                  ASSERT_EQ(vbits[i], f32_to_f16(v[i])) << what << i;
                }
                EXPECT_LT(nmse(got_k, want_k), 1e-6) << what;
              } else {
                std::vector<float> got_v(n);
                std::memcpy(got_k.data(), kc_bytes.data() + lo, n * 4);
                std::memcpy(got_v.data(), vc_bytes.data() + lo, n * 4);
                EXPECT_LT(nmse(got_k, want_k), 1e-10) << what;
                ASSERT_TRUE(std::equal(got_v.begin(), got_v.end(), v.begin())) << what;
              }
            }
        }
        std::printf("RopeKvWrite: subgroups=%d f16_cache=%d shader_f16=%d ran\n", int(sg), int(f16_cache), int(native_f16));
        ++ran;
      }
  }
  EXPECT_GE(ran, 2);
  KernelContext kc(ctx);
  gpu::Buffer b = ctx.create_buffer(1 << 16, gpu::kStorage, "buf");
  try {
    RopeKvWrite(kc, b, b, b, b, b, 2, 1, 64, 33, true, b, 1.0f, 16, false, 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "RopeKvWrite: rotary_dim 33 must be even and in 2..head_dim (64)");
  }
  RopeKvWrite ok(kc, b, b, b, b, b, 2, 1, 64, 64, true, b, 1.0f, 16, false, 4);
  auto rec = kc.recorder();
  try {
    ok.record(rec, {4, 13});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "RopeKvWrite: positions 13..16 exceed the context of 16");
  }
}

}  // namespace
}  // namespace wgllm::kernels
