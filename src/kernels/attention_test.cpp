// KvCacheWrite and Attention vs plain CPU references: grouped heads (6/2, 3/1), head_dim
// 64/96/128/256, prefill and decode (split and unsplit), positions 0 and 40, sliding window 7,
// softcap 50, f32 and f16 caches, both reduction variants, the tiled prefill kernel and `attend`.
#include "kernels/attention.h"

#include <gtest/gtest.h>

#include "kernels/test_support.h"

#include <cmath>
#include <cstdlib>

#include "kernels/rope.h"
#include "util/fp16.h"
#include "util/rng.h"

namespace wgllm::kernels {
namespace {

using testing::chunked_context;
using testing::nmse;
using testing::shared_context;

struct Shape {
  uint32_t n_heads, n_kv_heads, head_dim;
  float softcap;
  uint32_t window;
};

// Reference: plain softmax attention in double. k, v: [ctx][n_kv_heads * head_dim].
std::vector<float> attention_ref(const Shape& s, const std::vector<float>& q, const std::vector<float>& k,
                                 const std::vector<float>& v, uint32_t n_tokens, uint32_t pos, float scale) {
  const uint32_t D = s.head_dim, kv_row = s.n_kv_heads * D, group = s.n_heads / s.n_kv_heads;
  std::vector<float> out(size_t(n_tokens) * s.n_heads * D);
  for (uint32_t t = 0; t < n_tokens; ++t)
    for (uint32_t h = 0; h < s.n_heads; ++h) {
      const uint32_t p = pos + t, kvh = h / group;
      const float* qh = &q[(size_t(t) * s.n_heads + h) * D];
      std::vector<double> logits;
      uint32_t lo = 0;
      while (s.window && p - lo >= s.window) ++lo;  // keys j with p - j < window
      double mx = -1e300;
      for (uint32_t j = lo; j <= p; ++j) {
        double dot = 0;
        for (uint32_t d = 0; d < D; ++d) dot += double(qh[d]) * k[size_t(j) * kv_row + kvh * D + d];
        dot *= scale;
        if (s.softcap > 0) dot = s.softcap * std::tanh(dot / s.softcap);
        logits.push_back(dot);
        mx = std::max(mx, dot);
      }
      double sum = 0;
      for (double& l : logits) sum += (l = std::exp(l - mx));
      for (uint32_t d = 0; d < D; ++d) {
        double acc = 0;
        for (uint32_t j = lo; j <= p; ++j) acc += logits[j - lo] * v[size_t(j) * kv_row + kvh * D + d];
        out[(size_t(t) * s.n_heads + h) * D + d] = float(acc / sum);
      }
    }
  return out;
}

std::vector<float> round_to_f16(std::vector<float> x) {
  for (auto& v : x) v = f16_to_f32(f32_to_f16(v));
  return x;
}

// Bounds: f32 cache NMSE < 1e-10 vs the double reference. f16 cache: NMSE < 1e-10 vs the
// reference on f16-rounded K/V (the kernel's own math), and < 1e-5 vs the f32 K/V (the f16
// rounding of K and V, ~2^-11 relative per element, is the only extra error).
TEST(Attention, MatchesReferenceOverShapesCachesAndVariants) {
  gpu::Context& ctx = shared_context();
  const uint32_t max_ctx = 64, max_tokens = 17, split_keys = 16;
  const Shape shapes[] = {{6, 2, 64, 0, 0}, {3, 1, 96, 50, 0}, {6, 2, 128, 0, 7}, {3, 1, 64, 50, 7}, {2, 2, 256, 0, 0}};
  bool saw_split = false;
  // Prefill kernels: the tiled one at its default tile everywhere; its 8 x 16 tile (three query
  // blocks of 17 tokens, keys over several tiles), its 32 x 16 tile (four query rows per
  // invocation, rows past the 17 tokens) and `attend` with f32 caches and no subgroups.
  struct Prefill {
    bool tiled;
    uint32_t bq, bk;
  };
  for (bool sg : {false, true}) {
    if (sg && !ctx.features().subgroups) continue;
    for (bool f16_cache : {false, true}) {
      for (bool native_f16 : {false, true}) {
        if (native_f16 && (!f16_cache || !ctx.features().shader_f16)) continue;
        std::vector<Prefill> prefills = {{true, 0, 0}};
        if (!sg && !f16_cache) prefills.insert(prefills.end(), {{true, 8, 16}, {true, 32, 16}, {false, 0, 0}});
        for (const Prefill& pf : prefills) {
          KernelContext kc(ctx);
          kc.use_subgroups = sg;
          kc.use_f16 = native_f16;
          kc.attn_tiled = pf.tiled;
          kc.attn_bq = pf.bq;
          kc.attn_bk = pf.bk;
          for (const Shape& s : shapes) {
            // A forced tile need not fit the larger heads' rows (32 KiB of workgroup memory on SwiftShader).
            if (pf.bq && s.head_dim > (pf.bq == 32 ? 64u : 128u)) continue;
            const uint32_t D = s.head_dim, kv_row = s.n_kv_heads * D, q_row = s.n_heads * D;
            Rng rng(D * 31 + s.n_heads + s.window + f16_cache);
            std::vector<float> k(size_t(max_ctx) * kv_row), v(k.size()), q(size_t(max_tokens) * q_row);
            for (auto& x : k) x = rng.normal();
            for (auto& x : v) x = rng.normal();
            for (auto& x : q) x = rng.normal() * 2.0f;
            gpu::Buffer kb = ctx.create_buffer(k.size() * 4, gpu::kStorage, "k");
            gpu::Buffer vb = ctx.create_buffer(v.size() * 4, gpu::kStorage, "v");
            gpu::Buffer qb = ctx.create_buffer(q.size() * 4, gpu::kStorage, "q");
            gpu::Buffer ob = ctx.create_buffer(q.size() * 4, gpu::kStorage, "out");
            const uint64_t cache_bytes = kv_cache_bytes(max_ctx, kv_row, f16_cache);
            gpu::Buffer kc_buf = ctx.create_buffer(cache_bytes, gpu::kStorage, "k_cache");
            gpu::Buffer vc_buf = ctx.create_buffer(cache_bytes, gpu::kStorage, "v_cache");
            ctx.write(qb, q.data(), q.size() * 4);
            // kb, vb stand for the K/V projections of a prefill of pos + 17 tokens.
            KvCacheWrite write(kc, kb, vb, kc_buf, vc_buf, kv_row, max_ctx, f16_cache, max_ctx);
            const float scale = 1.0f / std::sqrt(float(D));
            Attention attn(kc, qb, kc_buf, vc_buf, ob, s.n_heads, s.n_kv_heads, D, max_ctx, scale, s.softcap, s.window,
                           f16_cache, max_tokens, split_keys);
            for (uint32_t pos : {0u, 40u}) {
              // Cache rows 0..pos+16 <- k, v rows 0..pos+16.
              ctx.write(kb, k.data(), k.size() * 4);
              ctx.write(vb, v.data(), v.size() * 4);
              {
                auto rec = kc.recorder();
                write.record(rec, {pos + max_tokens, 0});
                rec.submit();
              }
              if (pos == 40 && s.head_dim == 64 && s.window == 0) {  // the cache holds exactly k (or its f16 bits)
                if (f16_cache) {
                  std::vector<uint16_t> bits = ctx.read_vector<uint16_t>(kc_buf, size_t(pos + max_tokens) * kv_row);
                  for (size_t i = 0; i < bits.size(); ++i) ASSERT_EQ(bits[i], f32_to_f16(k[i])) << i;
                } else {
                  std::vector<float> got = ctx.read_vector<float>(vc_buf, size_t(pos + max_tokens) * kv_row);
                  ASSERT_TRUE(std::equal(got.begin(), got.end(), v.begin()));
                }
              }
              const std::vector<float> kr = f16_cache ? round_to_f16(k) : k, vr = f16_cache ? round_to_f16(v) : v;
              for (uint32_t n_tokens : {1u, 5u, 17u}) {
                auto rec = kc.recorder();
                attn.record(rec, {n_tokens, pos});
                rec.submit();
                saw_split |= attn.last_splits() > 1;
                std::vector<float> got = ctx.read_vector<float>(ob, size_t(n_tokens) * q_row);
                const std::string what = ::testing::PrintToString(std::vector<uint32_t>{s.n_heads, s.n_kv_heads, D, s.window, uint32_t(s.softcap), n_tokens, pos, f16_cache, sg, native_f16, attn.last_splits(), pf.tiled, pf.bq, pf.bk});
                EXPECT_LT(nmse(got, attention_ref(s, q, kr, vr, n_tokens, pos, scale)), 1e-10) << what;
                if (f16_cache) EXPECT_LT(nmse(got, attention_ref(s, q, k, v, n_tokens, pos, scale)), 1e-5) << what;
              }
            }
          }
          std::printf("Attention: subgroups=%d f16_cache=%d shader_f16=%d prefill %s %ux%u ran\n", int(sg), int(f16_cache),
                      int(native_f16), pf.tiled ? "tiled" : "attend", pf.bq, pf.bk);
        }
      }
    }
  }
  EXPECT_TRUE(saw_split);  // decode at pos 40 took the flash-decoding path
}

// Writes K/V rows straight into a cache buffer (f32 or f16 bits), as KvCacheWrite would.
void write_cache(gpu::Context& ctx, const gpu::Buffer& cache, const std::vector<float>& x, bool f16_cache) {
  if (!f16_cache) return ctx.write(cache, x.data(), x.size() * 4);
  std::vector<uint16_t> bits(x.size());
  for (size_t i = 0; i < x.size(); ++i) bits[i] = f32_to_f16(x[i]);
  ctx.write(cache, bits.data(), bits.size() * 2);
}

// The decode kernel at contexts longer than its tile of 128 keys, one pass and split: query
// heads per block 4 (8/2), 7 (7/1), 1 with 5 key slices (3/3, head_dim 96, softcap 50, window
// 150). Bounds as above. Each also with the int8-quantized output (the output projection's input),
// and with 5 K / 3 V loads in flight (batches with tails) besides the defaults.
TEST(Attention, DecodeMatchesReferenceAtLongContexts) {
  gpu::Context& ctx = shared_context();
  const uint32_t max_ctx = 200;
  const Shape shapes[] = {{8, 2, 128, 0, 0}, {7, 1, 64, 0, 0}, {3, 3, 96, 50, 150}};
  for (bool sg : {false, true}) {
    if (sg && !ctx.features().subgroups) continue;
    for (bool f16_cache : {false, true}) {
      KernelContext kc(ctx);
      kc.use_subgroups = sg;
      for (const Shape& s : shapes) {
        const uint32_t D = s.head_dim, kv_row = s.n_kv_heads * D, q_row = s.n_heads * D;
        Rng rng(D * 13 + s.n_heads + f16_cache);
        std::vector<float> k(size_t(max_ctx) * kv_row), v(k.size()), q(q_row);
        for (auto& x : k) x = rng.normal();
        for (auto& x : v) x = rng.normal();
        for (auto& x : q) x = rng.normal() * 2.0f;
        if (f16_cache) k = round_to_f16(k), v = round_to_f16(v);
        const uint64_t cache_bytes = kv_cache_bytes(max_ctx, kv_row, f16_cache);
        gpu::Buffer kcb = ctx.create_buffer(cache_bytes, gpu::kStorage, "k_cache");
        gpu::Buffer vcb = ctx.create_buffer(cache_bytes, gpu::kStorage, "v_cache");
        gpu::Buffer qb = ctx.create_buffer(q.size() * 4, gpu::kStorage, "q");
        gpu::Buffer ob = ctx.create_buffer(q.size() * 4, gpu::kStorage, "out");
        write_cache(ctx, kcb, k, f16_cache);
        write_cache(ctx, vcb, v, f16_cache);
        ctx.write(qb, q.data(), q.size() * 4);
        const float scale = 1.0f / std::sqrt(float(D));
        // Loads in flight: the defaults (a whole K row, 8 V rows) and 5 / 3, which leave tails.
        for (uint32_t loads : {0u, 1u})
        for (uint32_t split_keys : {64u, 1000u})
          for (bool q8_out : {false, true}) {
            if (loads && q8_out) continue;  // the quantized output does not depend on the loads
            kc.attn_kl = loads ? 5 : 0, kc.attn_vl = loads ? 3 : 0;
            Attention attn(kc, qb, kcb, vcb, ob, s.n_heads, s.n_kv_heads, D, max_ctx, scale, s.softcap, s.window,
                           f16_cache, 1, split_keys);
            const QuantizedX* xq = q8_out ? attn.enable_quantized_output("attn_q8") : nullptr;
            if (q8_out) ASSERT_NE(xq, nullptr);  // every head_dim here is a multiple of 32
            for (uint32_t pos : {0u, 137u, 199u}) {
              if (xq) {  // poison: every word must be written
                ctx.write(xq->qs, std::vector<uint32_t>(q_row / 4, 0xDEADBEEFu).data(), q_row);
                ctx.write(xq->ds, std::vector<float>(q_row / 8, std::nanf("")).data(), q_row / 8 * 4);
              }
              auto rec = kc.recorder();
              attn.record(rec, {1, pos});
              rec.submit();
              EXPECT_EQ(attn.last_splits(), split_keys == 64 ? (std::min(pos + 1, s.window ? s.window : pos + 1) + 63) / 64 : 1);
              const std::string what =
                  ::testing::PrintToString(std::vector<uint32_t>{s.n_heads, s.n_kv_heads, D, split_keys, pos, f16_cache, sg, q8_out, loads});
              const std::vector<float> out = ctx.read_vector<float>(ob, q_row);
              EXPECT_LT(nmse(out, attention_ref(s, q, k, v, 1, pos, scale)), 1e-10) << what;
              if (xq) {
                const std::vector<float> ds = ctx.read_vector<float>(xq->ds, q_row / 8);
                testing::expect_int8_blocks(out, ctx.read_vector<uint32_t>(xq->qs, q_row / 4), ds, 1e-6, what);
                for (size_t b = 0; b < q_row / 32; ++b) EXPECT_EQ(ds[4 * b + 2], 0.0f) << what;  // no sum of squares
              }
            }
          }
      }
      std::printf("Attention decode: subgroups=%d f16_cache=%d ran\n", int(sg), int(f16_cache));
    }
  }
}

TEST(Attention, RejectsBadShapes) {
  gpu::Context& ctx = shared_context();
  KernelContext kc(ctx);
  gpu::Buffer b = ctx.create_buffer(1 << 16, gpu::kStorage, "buf");
  try {
    Attention(kc, b, b, b, b, 6, 4, 64, 16, 1.0f, 0, 0, false, 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "Attention: n_heads 6 is not a multiple of n_kv_heads 4");
  }
  EXPECT_THROW(Attention(kc, b, b, b, b, 4, 4, 66, 16, 1.0f, 0, 0, false, 1), Error);
  gpu::Buffer o = ctx.create_buffer(1 << 16, gpu::kStorage, "out");
  Attention ok(kc, b, b, b, o, 2, 1, 64, 16, 1.0f, 0, 0, false, 4);
  auto rec = kc.recorder();
  try {
    ok.record(rec, {4, 13});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "Attention: positions 13..16 exceed the context of 16");
  }
  kc.attn_bq = 12;  // no such prefill tile
  try {
    Attention(kc, b, b, b, o, 2, 1, 64, 16, 1.0f, 0, 0, false, 4);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), cat("Attention: no prefill tile of 12 query tokens x 0 keys (WGLLM_ATTN_BQ: 8, 16 or 32, ",
                               "WGLLM_ATTN_BK: 16, 32 or 64) fits head_dim 64 in ",
                               ctx.limits().max_compute_workgroup_storage_size, " bytes of workgroup memory")
                               .c_str());
  }
}

}  // namespace
}  // namespace wgllm::kernels
