// Argmax and TopK vs a CPU sort: exact ids (distinct values), ties to the smaller id, last-row
// selection, both reduction variants.
#include "kernels/sampling.h"

#include <gtest/gtest.h>

#include "kernels/test_support.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "util/rng.h"

namespace wgllm::kernels {
namespace {

using testing::chunked_context;
using testing::nmse;
using testing::shared_context;

// rows x n distinct logits: a random permutation of n values per row, spread over +-20.
std::vector<float> distinct_logits(Rng& rng, uint32_t rows, uint32_t n) {
  std::vector<float> x(size_t(rows) * n);
  for (uint32_t r = 0; r < rows; ++r) {
    std::vector<uint32_t> perm(n);
    std::iota(perm.begin(), perm.end(), 0u);
    for (uint32_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);
    for (uint32_t i = 0; i < n; ++i) x[size_t(r) * n + i] = (float(perm[i]) - n / 2.0f) * (40.0f / n);
  }
  return x;
}

// Reference: ids of the k largest of row `row`, by value descending then id ascending.
std::vector<uint32_t> top_k_ref(const std::vector<float>& x, uint32_t n, uint32_t row, uint32_t k) {
  std::vector<uint32_t> ids(n);
  std::iota(ids.begin(), ids.end(), 0u);
  const float* r = &x[size_t(row) * n];
  std::stable_sort(ids.begin(), ids.end(), [&](uint32_t a, uint32_t b) { return r[a] > r[b]; });
  ids.resize(k);
  return ids;
}

struct Pair {
  uint32_t id;
  float value;
};

TEST(Sampling, ArgmaxAndTopKExact) {
  gpu::Context& ctx = shared_context();
  for (bool sg : {false, true}) {
    if (sg && !ctx.features().subgroups) continue;
    KernelContext kc(ctx);
    kc.use_subgroups = sg;
    for (uint32_t n : {1001u, 32011u}) {
      const uint32_t rows = 5;
      Rng rng(n + sg);
      std::vector<float> x = distinct_logits(rng, rows, n);
      gpu::Buffer lb = ctx.create_buffer(x.size() * 4, gpu::kStorage, "logits");
      ctx.write(lb, x.data(), x.size() * 4);
      gpu::Buffer ob = ctx.create_buffer(64 * 8, gpu::kStorage, "out");
      gpu::Buffer id_buf = ctx.create_buffer(4, gpu::kStorage, "next_id");
      Argmax argmax(kc, lb, id_buf, n, rows);
      for (uint32_t n_tokens : {1u, 5u}) {  // the step's last token: row n_tokens - 1
        auto rec = kc.recorder();
        argmax.record(rec, {n_tokens, 0});
        rec.submit();
        uint32_t id = 0;
        ctx.read(id_buf, &id, 4);  // 4 bytes per token
        EXPECT_EQ(id, top_k_ref(x, n, n_tokens - 1, 1)[0]) << "n " << n << " sg " << sg;
      }
      for (uint32_t k : {1u, 40u, 64u}) {
        TopK top(kc, lb, ob, n, k, rows);
        auto rec = kc.recorder();
        top.record(rec, {5, 0});
        rec.submit();
        std::vector<Pair> got = ctx.read_vector<Pair>(ob, k);
        const std::vector<uint32_t> ref = top_k_ref(x, n, 4, k);
        for (uint32_t i = 0; i < k; ++i) {
          ASSERT_EQ(got[i].id, ref[i]) << "n " << n << " k " << k << " rank " << i << " sg " << sg;
          ASSERT_EQ(got[i].value, x[size_t(4) * n + ref[i]]);
        }
      }
    }
    std::printf("Sampling: subgroups=%d ran\n", int(sg));
  }
}

TEST(Sampling, TiesGoToTheSmallestIdAndShortRowsPadWithNone) {
  gpu::Context& ctx = shared_context();
  KernelContext kc(ctx);
  Rng rng(9);
  const uint32_t n = 32011;
  std::vector<float> x(n);
  for (auto& v : x) v = rng.uniform(-5, 5);
  for (uint32_t id : {31000u, 7777u, 20000u}) x[id] = 9.0f;  // a three-way tie for the max, across groups
  x[100] = 8.0f;
  gpu::Buffer lb = ctx.create_buffer(n * 4, gpu::kStorage, "logits");
  ctx.write(lb, x.data(), n * 4);
  gpu::Buffer ob = ctx.create_buffer(64 * 8, gpu::kStorage, "out");
  Argmax argmax(kc, lb, ob, n);
  TopK top(kc, lb, ob, n, 4);
  {
    auto rec = kc.recorder();
    argmax.record(rec, {3, 0});  // one logits row: row 0 whatever the step's token count
    rec.submit();
  }
  EXPECT_EQ(ctx.read_vector<uint32_t>(ob, 1)[0], 7777u);
  {
    auto rec = kc.recorder();
    top.record(rec, {1, 0});
    rec.submit();
  }
  std::vector<Pair> got = ctx.read_vector<Pair>(ob, 4);
  EXPECT_EQ(std::vector<uint32_t>({got[0].id, got[1].id, got[2].id, got[3].id}), std::vector<uint32_t>({7777, 20000, 31000, 100}));
  // Three logits, k = 5: two "none" entries.
  TopK small(kc, lb, ob, 3, 5);
  auto rec = kc.recorder();
  small.record(rec, {1, 0});
  rec.submit();
  got = ctx.read_vector<Pair>(ob, 5);
  EXPECT_EQ(got[3].id, 0xffffffffu);
  EXPECT_EQ(got[4].id, 0xffffffffu);
  EXPECT_EQ(got[0].value, std::max({x[0], x[1], x[2]}));
  try {
    TopK(kc, lb, ob, n, 65);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "TopK: k 65 must be in 1..64");
  }
}

}  // namespace
}  // namespace wgllm::kernels
