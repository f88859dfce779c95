// Tensor types: round-trip error bounds on random data, hand-built blocks decoded against values
// computed by hand from the layout spec, and re-quantization stability.
#include "format/tensor_types.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "format/k_quants.h"
#include "util/error.h"
#include "util/fp16.h"
#include "util/rng.h"

namespace wgllm {
namespace {

std::vector<float> random_normal(size_t n, uint64_t seed, float scale = 1.0f) {
  Rng rng(seed);
  std::vector<float> x(n);
  for (auto& v : x) v = rng.normal() * scale;
  return x;
}

double nmse(const std::vector<float>& ref, const std::vector<float>& got) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    num += double(ref[i] - got[i]) * double(ref[i] - got[i]);
    den += double(ref[i]) * double(ref[i]);
  }
  return num / den;
}

std::vector<float> round_trip(TensorType t, const std::vector<float>& x, int64_t row_len) {
  const int64_t rows = int64_t(x.size()) / row_len;
  std::vector<uint8_t> q(row_bytes(t, row_len) * size_t(rows));
  std::vector<float> y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    quantize_row(t, x.data() + r * row_len, q.data() + r * row_bytes(t, row_len), row_len);
    dequantize_row(t, q.data() + r * row_bytes(t, row_len), y.data() + r * row_len, row_len);
  }
  return y;
}

TEST(TensorTypes, TableMatchesGgml) {
  EXPECT_EQ(tensor_type_info(TensorType::Q4_0).type_size, 18u);
  EXPECT_EQ(tensor_type_info(TensorType::Q4_1).type_size, 20u);
  EXPECT_EQ(tensor_type_info(TensorType::Q8_0).type_size, 34u);
  EXPECT_EQ(tensor_type_info(TensorType::Q4_K).type_size, 144u);
  EXPECT_EQ(tensor_type_info(TensorType::Q5_K).type_size, 176u);
  EXPECT_EQ(tensor_type_info(TensorType::Q6_K).type_size, 210u);
  EXPECT_EQ(tensor_type_info(TensorType::Q6_K).block_size, 256u);
  EXPECT_EQ(tensor_type_info(TensorType::BF16).type_size, 2u);
  EXPECT_EQ(tensor_type_info(TensorType::Q5_0).type_size, 22u);
  EXPECT_EQ(tensor_type_info(TensorType::Q5_1).type_size, 24u);
  EXPECT_EQ(tensor_type_info(TensorType::Q5_1).block_size, 32u);
  EXPECT_EQ(tensor_type_info(6)->type, TensorType::Q5_0);  // ggml type ids
  EXPECT_EQ(tensor_type_info(7)->type, TensorType::Q5_1);
  EXPECT_FALSE(tensor_type_info(10).has_value());  // Q2_K: not supported
  EXPECT_EQ(tensor_type_from_name("q5_0"), TensorType::Q5_0);
  EXPECT_EQ(row_bytes(TensorType::Q5_0, 896), 616u);  // 28 blocks: Qwen2.5-0.5B's rows
  EXPECT_EQ(row_bytes(TensorType::Q5_1, 4864), 3648u);
  try {
    row_bytes(TensorType::Q5_0, 48);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a multiple of the Q5_0 block size 32"), std::string::npos);
  }
  EXPECT_EQ(tensor_type_from_name("q4_k"), TensorType::Q4_K);
  EXPECT_EQ(tensor_type_from_name("bf16"), TensorType::BF16);
  EXPECT_FALSE(tensor_type_from_name("q4_k_m").has_value());
  EXPECT_EQ(row_bytes(TensorType::Q4_K, 512), 288u);
  EXPECT_EQ(row_bytes(TensorType::F16, 7), 14u);
  try {
    row_bytes(TensorType::Q8_0, 33);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a multiple of the Q8_0 block size 32"), std::string::npos);
  }
}

// Measured NMSE on N(0,1) rows of 768: Q8_0 2.89e-5, Q6_K 3.01e-4, Q5_K 1.32e-3, Q5_1 1.45e-3,
// Q5_0 1.81e-3, Q4_K 5.15e-3, Q4_1 6.18e-3, Q4_0 7.46e-3. Bounds sit ~15% above the measurement.
struct Bound {
  TensorType type;
  double max_nmse;
};
class RoundTrip : public ::testing::TestWithParam<Bound> {};

TEST_P(RoundTrip, ErrorBelowBoundAtOddRowCounts) {
  const auto [type, bound] = GetParam();
  const int64_t row_len = 768, rows = 37;  // odd row count, 3 super-blocks per row
  const auto x = random_normal(size_t(row_len * rows), 1234 + uint64_t(type));
  const double e = nmse(x, round_trip(type, x, row_len));
  std::printf("%s NMSE %.3g (bound %.3g)\n", std::string(tensor_type_name(type)).c_str(), e, bound);
  EXPECT_LT(e, bound) << tensor_type_name(type);
  // Scaled data: quantization is scale-invariant up to f16 rounding of the scales.
  const auto xs = random_normal(size_t(row_len * rows), 99, 1e-3f);
  EXPECT_LT(nmse(xs, round_trip(type, xs, row_len)), bound * 1.05) << tensor_type_name(type);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, RoundTrip,
                         ::testing::Values(Bound{TensorType::Q8_0, 3.3e-5}, Bound{TensorType::Q6_K, 3.5e-4},
                                           Bound{TensorType::Q5_K, 1.5e-3}, Bound{TensorType::Q5_1, 1.7e-3},
                                           Bound{TensorType::Q5_0, 2.1e-3}, Bound{TensorType::Q4_K, 6.0e-3},
                                           Bound{TensorType::Q4_1, 7.1e-3}, Bound{TensorType::Q4_0, 8.6e-3}),
                         [](const auto& info) { return std::string(tensor_type_name(info.param.type)); });

TEST(TensorTypes, F16AndBF16AreExactForRepresentableValues) {
  Rng rng(7);
  std::vector<float> x(333);
  for (auto& v : x) v = f16_to_f32(f32_to_f16(rng.normal() * 100));
  EXPECT_EQ(round_trip(TensorType::F16, x, 333), x);
  for (auto& v : x) v = bf16_to_f32(f32_to_bf16(rng.normal() * 1e20f));
  EXPECT_EQ(round_trip(TensorType::BF16, x, 333), x);
  // Non-representable values round to nearest, same as the scalar conversion.
  const auto r = random_normal(64, 8);
  const auto y = round_trip(TensorType::F16, r, 64);
  for (size_t i = 0; i < r.size(); ++i) EXPECT_EQ(y[i], f16_to_f32(f32_to_f16(r[i])));
}

TEST(TensorTypes, RequantizingIsStableForSymmetricTypes) {
  for (TensorType t : {TensorType::Q8_0, TensorType::Q4_0, TensorType::Q5_0}) {
    const auto x = random_normal(32 * 41, 55);
    std::vector<uint8_t> q1(row_bytes(t, int64_t(x.size()))), q2(q1.size());
    std::vector<float> y(x.size());
    quantize_row(t, x.data(), q1.data(), int64_t(x.size()));
    dequantize_row(t, q1.data(), y.data(), int64_t(x.size()));
    quantize_row(t, y.data(), q2.data(), int64_t(x.size()));
    EXPECT_EQ(q1, q2) << tensor_type_name(t);
  }
}

// ---- hand-built blocks: bytes chosen here, values computed from the spec ---------------------

void put_f16(uint8_t* p, float v) {
  const uint16_t h = f32_to_f16(v);
  std::memcpy(p, &h, 2);
}

TEST(HandBuilt, Q4_0AndQ4_1AndQ8_0) {
  Rng rng(3);
  uint8_t b0[18], b1[20], b8[34];
  put_f16(b0, 0.25f);
  put_f16(b1, 0.5f);
  put_f16(b1 + 2, -1.5f);
  put_f16(b8, 0.125f);
  for (int i = 0; i < 16; ++i) b0[2 + i] = uint8_t(rng.below(256)), b1[4 + i] = uint8_t(rng.below(256));
  for (int i = 0; i < 32; ++i) b8[2 + i] = uint8_t(rng.below(256));
  float y0[32], y1[32], y8[32];
  dequantize_row(TensorType::Q4_0, b0, y0, 32);
  dequantize_row(TensorType::Q4_1, b1, y1, 32);
  dequantize_row(TensorType::Q8_0, b8, y8, 32);
  for (int i = 0; i < 32; ++i) {
    const int nib0 = i < 16 ? b0[2 + i] % 16 : b0[2 + i - 16] / 16;
    const int nib1 = i < 16 ? b1[4 + i] % 16 : b1[4 + i - 16] / 16;
    EXPECT_EQ(y0[i], (nib0 - 8) * 0.25f) << i;
    EXPECT_EQ(y1[i], nib1 * 0.5f - 1.5f) << i;
    EXPECT_EQ(y8[i], float(int8_t(b8[2 + i])) * 0.125f) << i;
  }
}

// Q5_0 / Q5_1: random qs and qh bytes; element i < 16 takes the low nibble of qs[i], element
// i >= 16 the high nibble of qs[i - 16], and its fifth bit is bit i of qh read as a
// little-endian u32 (bit i % 8 of qh byte i / 8).
TEST(HandBuilt, Q5_0AndQ5_1) {
  Rng rng(5);
  for (int trial = 0; trial < 20; ++trial) {
    uint8_t b0[22], b1[24];
    const float d0 = float(int(rng.below(64)) - 32) / 64.0f, d1 = float(rng.below(64) + 1) / 128.0f;
    const float m1 = float(int(rng.below(200)) - 100) / 16.0f;
    put_f16(b0, d0);
    put_f16(b1, d1);
    put_f16(b1 + 2, m1);
    for (int i = 2; i < 22; ++i) b0[i] = uint8_t(rng.below(256));
    for (int i = 4; i < 24; ++i) b1[i] = uint8_t(rng.below(256));
    float y0[32], y1[32];
    dequantize_row(TensorType::Q5_0, b0, y0, 32);
    dequantize_row(TensorType::Q5_1, b1, y1, 32);
    for (int i = 0; i < 32; ++i) {
      const int j = i % 16;
      const int lo0 = i < 16 ? b0[6 + j] % 16 : b0[6 + j] / 16, hi0 = (b0[2 + i / 8] >> (i % 8)) & 1;
      const int lo1 = i < 16 ? b1[8 + j] % 16 : b1[8 + j] / 16, hi1 = (b1[4 + i / 8] >> (i % 8)) & 1;
      EXPECT_EQ(y0[i], float(lo0 + 16 * hi0 - 16) * d0) << i;
      EXPECT_EQ(y1[i], float(lo1 + 16 * hi1) * d1 + m1) << i;
    }
  }
  // The element of largest magnitude maps to -16 exactly (Q5_0), the extremes to 0 and 31 (Q5_1).
  std::vector<float> x = random_normal(32, 6);
  x[9] = -5.0f;
  x[20] = 4.0f;
  std::vector<uint8_t> q0(22), q1(24);
  quantize_row(TensorType::Q5_0, x.data(), q0.data(), 32);
  quantize_row(TensorType::Q5_1, x.data(), q1.data(), 32);
  std::vector<float> y0(32), y1(32);
  dequantize_row(TensorType::Q5_0, q0.data(), y0.data(), 32);
  dequantize_row(TensorType::Q5_1, q1.data(), y1.data(), 32);
  EXPECT_EQ(y0[9], -5.0f);
  EXPECT_EQ(q0[6 + 9] & 15, 0);
  EXPECT_EQ(q0[2 + 1] >> 1 & 1, 0);  // bit 9 of qh
  EXPECT_NEAR(y1[9], -5.0f, 1e-3);
  EXPECT_NEAR(y1[20], 4.0f, 1e-2);
  EXPECT_EQ(q1[8 + 4] >> 4, 15);     // element 20: high nibble of qs[4] ...
  EXPECT_EQ(q1[4 + 2] >> 4 & 1, 1);  // ... and bit 20 of qh: q = 31
}

// Q4_K/Q5_K: sub-block j has scale 3 + 7j (mod 64) and min 60 - 5j; the 12 scale bytes are
// written out by hand from the table in the spec: bytes 0-3 hold sc0..3 (low 6 bits) and the top
// 2 bits of sc4..7; bytes 4-7 hold m0..3 and the top bits of m4..7; bytes 8-11 hold the low
// nibbles of sc4..7 (low half) and m4..7 (high half).
void build_scales(uint8_t* s, int* sc, int* m) {
  for (int j = 0; j < 8; ++j) sc[j] = (3 + 7 * j + 20 * (j >= 4)) % 64, m[j] = 60 - 5 * j;
  for (int j = 0; j < 4; ++j) {
    s[j] = uint8_t(sc[j] | ((sc[j + 4] / 16) * 64));
    s[j + 4] = uint8_t(m[j] | ((m[j + 4] / 16) * 64));
    s[j + 8] = uint8_t((sc[j + 4] % 16) | ((m[j + 4] % 16) * 16));
  }
}

TEST(HandBuilt, Q4_K) {
  uint8_t b[144];
  int sc[8], m[8];
  put_f16(b, 0.0625f);
  put_f16(b + 2, 0.03125f);
  build_scales(b + 4, sc, m);
  Rng rng(11);
  for (int i = 0; i < 128; ++i) b[16 + i] = uint8_t(rng.below(256));
  float y[256];
  dequantize_row(TensorType::Q4_K, b, y, 256);
  for (int e = 0; e < 256; ++e) {
    const int chunk = e / 64, l = e % 32, high = (e % 64) >= 32;
    const int sub = 2 * chunk + high;
    const int q = high ? b[16 + 32 * chunk + l] >> 4 : b[16 + 32 * chunk + l] & 15;
    EXPECT_EQ(y[e], 0.0625f * float(sc[sub]) * float(q) - 0.03125f * float(m[sub])) << e;
  }
  // The unpacking helper agrees with the table above for every sub-block.
  for (int j = 0; j < 8; ++j) {
    int s, mm;
    kquant::unpack_scale_min(b + 4, j, &s, &mm);
    EXPECT_EQ(s, sc[j]);
    EXPECT_EQ(mm, m[j]);
  }
}

TEST(HandBuilt, Q5_K) {
  uint8_t b[176];
  int sc[8], m[8];
  put_f16(b, 0.125f);
  put_f16(b + 2, 0.25f);
  build_scales(b + 4, sc, m);
  Rng rng(12);
  for (int i = 0; i < 160; ++i) b[16 + i] = uint8_t(rng.below(256));  // qh[32] then qs[128]
  float y[256];
  dequantize_row(TensorType::Q5_K, b, y, 256);
  for (int e = 0; e < 256; ++e) {
    const int chunk = e / 64, l = e % 32, high = (e % 64) >= 32;
    const int sub = 2 * chunk + high;
    const uint8_t byte = b[48 + 32 * chunk + l];
    const int bit5 = (b[16 + l] >> sub) & 1;  // qh bit index = sub-block index
    const int q = (high ? byte >> 4 : byte & 15) + 16 * bit5;
    EXPECT_EQ(y[e], 0.125f * float(sc[sub]) * float(q) - 0.25f * float(m[sub])) << e;
  }
}

TEST(HandBuilt, Q6_K) {
  uint8_t b[210];
  Rng rng(13);
  for (int i = 0; i < 192; ++i) b[i] = uint8_t(rng.below(256));  // ql[128], qh[64]
  int8_t sc[16];
  for (int j = 0; j < 16; ++j) sc[j] = int8_t(j * 17 - 120), b[192 + j] = uint8_t(sc[j]);
  put_f16(b + 208, 0.0078125f);
  float y[256];
  dequantize_row(TensorType::Q6_K, b, y, 256);
  for (int e = 0; e < 256; ++e) {
    const int half = e / 128, k = e % 128, l = k % 32, quarter = k / 32;  // quarter 0..3
    const uint8_t* ql = b + 64 * half;
    const uint8_t* qh = b + 128 + 32 * half;
    const int low = quarter == 0 ? ql[l] & 15 : quarter == 1 ? ql[l + 32] & 15
                  : quarter == 2 ? ql[l] >> 4 : ql[l + 32] >> 4;
    const int hi = (qh[l] >> (2 * quarter)) & 3;
    const int q = low + 16 * hi - 32;
    EXPECT_EQ(y[e], 0.0078125f * float(sc[e / 16]) * float(q)) << e;
  }
}

TEST(TensorTypes, QuantizeRejectsPartialBlocks) {
  std::vector<float> x(300, 1.0f);
  std::vector<uint8_t> q(2000);
  EXPECT_THROW(quantize_row(TensorType::Q4_K, x.data(), q.data(), 300), Error);
  EXPECT_THROW(dequantize_row(TensorType::Q6_K, q.data(), x.data(), 300), Error);
}

TEST(TensorTypes, NonFiniteInputDoesNotCrash) {
  auto x = random_normal(256, 4);
  x[5] = INFINITY;
  x[77] = NAN;
  std::vector<uint8_t> q(row_bytes(TensorType::Q8_0, 256));  // the largest of the types below
  for (TensorType t : {TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0,
                       TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K})
    quantize_row(t, x.data(), q.data(), 256);
}

}  // namespace
}  // namespace wgllm
