// Properties of the reference ops: RoPE's relative-position invariance, RMSNorm scale, matvec
// on quantized weights, activations at known points.
#include "reference/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "util/rng.h"

namespace wgllm::ref {
namespace {

std::vector<float> random_vec(int n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = rng.normal();
  return v;
}

double dot(const std::vector<float>& a, const std::vector<float>& b, int off, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += double(a[off + i]) * b[off + i];
  return s;
}

TEST(Rope, DotProductDependsOnlyOnRelativePosition) {
  const int heads = 3, hd = 64;
  const std::vector<float> factors = random_vec(24, 3);  // partial rotary: 48 of 64 dims
  std::vector<float> f(24);
  for (int i = 0; i < 24; i++) f[i] = 1.f + std::fabs(factors[i]);
  for (RopeOrder order : {RopeOrder::Normal, RopeOrder::NeoX}) {
    const std::vector<float> q0 = random_vec(heads * hd, 1), k0 = random_vec(heads * hd, 2);
    auto rotated_dot = [&](int m, int n, int head) {
      std::vector<float> q = q0, k = k0;
      rope(q.data(), heads, hd, 48, m, 10000.f, 0.5f, f.data(), 1.f, order);
      rope(k.data(), heads, hd, 48, n, 10000.f, 0.5f, f.data(), 1.f, order);
      return dot(q, k, head * hd, hd);
    };
    for (int head = 0; head < heads; head++) {
      const double d = rotated_dot(7, 3, head);
      EXPECT_NEAR(rotated_dot(104, 100, head), d, 1e-3 * std::fabs(d) + 1e-3);
      EXPECT_NEAR(rotated_dot(4, 0, head), d, 1e-3 * std::fabs(d) + 1e-3);
      // And it does depend on the distance.
      EXPECT_GT(std::fabs(rotated_dot(9, 3, head) - d), 1e-3);
    }
  }
}

TEST(Rope, PreservesNormsScalesByAttnFactorAndIsIdentityAtZero) {
  const std::vector<float> v0 = random_vec(128, 5);
  for (RopeOrder order : {RopeOrder::Normal, RopeOrder::NeoX}) {
    std::vector<float> v = v0;
    rope(v.data(), 2, 64, 64, 0, 10000.f, 1.f, nullptr, 1.f, order);
    EXPECT_EQ(v, v0);
    v = v0;
    rope(v.data(), 2, 64, 64, 37, 500000.f, 1.f, nullptr, 1.5f, order);
    EXPECT_NEAR(std::sqrt(dot(v, v, 0, 128)), 1.5 * std::sqrt(dot(v0, v0, 0, 128)), 1e-3);
  }
  // Pairs: Normal turns (0,1) together, NeoX turns (0,32) together (head_dim 64).
  std::vector<float> e(64, 0.f);
  e[0] = 1.f;
  std::vector<float> n = e;
  rope(n.data(), 1, 64, 64, 1, 10000.f, 1.f, nullptr, 1.f, RopeOrder::Normal);
  EXPECT_NEAR(n[0], std::cos(1.f), 1e-6);
  EXPECT_NEAR(n[1], std::sin(1.f), 1e-6);
  std::vector<float> x = e;
  rope(x.data(), 1, 64, 64, 1, 10000.f, 1.f, nullptr, 1.f, RopeOrder::NeoX);
  EXPECT_NEAR(x[0], std::cos(1.f), 1e-6);
  EXPECT_NEAR(x[32], std::sin(1.f), 1e-6);
  EXPECT_EQ(x[1], 0.f);
}

TEST(Ops, RmsNormHasUnitRms) {
  const std::vector<float> x = random_vec(300, 8);
  std::vector<float> w(300, 1.f), y(300);
  rmsnorm(y.data(), x.data(), w.data(), 300, 1e-6f);
  EXPECT_NEAR(std::sqrt(dot(y, y, 0, 300) / 300), 1.0, 1e-4);
  EXPECT_NEAR(y[17] / x[17], y[200] / x[200], 1e-5);
}

TEST(Ops, MatvecOnQuantizedRowsMatchesDequantizedProduct) {
  const int rows = 40, cols = 256;
  const std::vector<float> w = random_vec(rows * cols, 4), x = random_vec(cols, 6);
  for (TensorType type : {TensorType::Q4_0, TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0, TensorType::Q4_K, TensorType::Q6_K}) {
    const size_t rb = row_bytes(type, cols);
    std::vector<uint8_t> bytes(rb * rows);
    for (int r = 0; r < rows; r++) quantize_row(type, w.data() + r * cols, bytes.data() + r * rb, cols);
    GgufTensor t;
    t.name = "w";
    t.type = type;
    t.shape = {cols, rows};
    t.data = bytes.data();
    std::vector<float> y(rows), part(10);
    matvec(y.data(), t, x.data());
    matvec(part.data(), t, x.data(), 25, 10);
    std::vector<float> deq(cols);
    for (int r = 0; r < rows; r++) {
      dequantize_row(type, bytes.data() + r * rb, deq.data(), cols);
      double s = 0;
      for (int c = 0; c < cols; c++) s += double(deq[c]) * x[c];
      EXPECT_NEAR(y[r], s, 1e-4 * (1 + std::fabs(s)));
      if (r >= 25 && r < 35) {
        EXPECT_EQ(part[r - 25], y[r]);
      }
    }
  }
}

TEST(Ops, ActivationsAndSoftcap) {
  EXPECT_EQ(silu(0.f), 0.f);
  EXPECT_NEAR(silu(2.f), 2.f / (1.f + std::exp(-2.f)), 1e-6);
  EXPECT_NEAR(gelu_tanh(1.f), 0.841192f, 1e-5);  // gelu_pytorch_tanh(1.0)
  EXPECT_NEAR(gelu_tanh(-3.f), -0.003637f, 1e-5);
  EXPECT_NEAR(softcap(10.f, 30.f), 30.f * std::tanh(1.f / 3.f), 1e-5);
  EXPECT_LT(softcap(1000.f, 30.f), 30.0001f);
  std::vector<float> s = {1.f, 2.f, 3.f};
  softmax(s.data(), 3);
  const double e = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(s[2], std::exp(3.0) / e, 1e-6);
  EXPECT_NEAR(s[0] + s[1] + s[2], 1.0, 1e-6);
}

}  // namespace
}  // namespace wgllm::ref
