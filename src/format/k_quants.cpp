// K-quants: 256-element super-blocks split into sub-blocks, each with its own quantized scale.
//
// Byte layouts (little-endian, packed, as ggml defines them):
//   Q4_K (144 bytes): f16 d; f16 dmin; u8 scales[12]; u8 qs[128].
//     8 sub-blocks of 32 with a 6-bit scale sc and 6-bit min m each, packed in scales[12]:
//       j < 4: sc = scales[j] & 63,  m = scales[j+4] & 63
//       j >= 4: sc = (scales[j+4] & 15) | (scales[j-4] >> 6) << 4,
//               m  = (scales[j+4] >> 4) | (scales[j]   >> 6) << 4
//     Elements come in 4 chunks of 64: element 64c+l (l<32) is the low nibble of qs[32c+l] and
//     belongs to sub-block 2c; element 64c+32+l is the high nibble, sub-block 2c+1.
//     value = (d * sc) * q - (dmin * m).
//   Q5_K (176 bytes): f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128].
//     As Q4_K, plus a fifth bit: element 64c+l takes bit 2c of qh[l], element 64c+32+l bit 2c+1.
//   Q6_K (210 bytes): u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d.
//     Two halves of 128; in half h (ql += 64h, qh += 32h), for l < 32:
//       element 128h+l    = ql[l]    low nibble | (qh[l] bits 0-1) << 4
//       element 128h+l+32 = ql[l+32] low nibble | (qh[l] bits 2-3) << 4
//       element 128h+l+64 = ql[l]    high nibble| (qh[l] bits 4-5) << 4
//       element 128h+l+96 = ql[l+32] high nibble| (qh[l] bits 6-7) << 4
//     Sixteen sub-blocks of 16 in element order; value = (d * scales[e / 16]) * (q - 32).
#include "format/k_quants.h"

#include <cmath>
#include <cstring>

#include "util/fp16.h"

namespace wgllm::kquant {
namespace {

float load_f16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return f16_to_f32(v);
}
// Stores f16(v) and returns the value as the decoder will see it.
float store_f16(uint8_t* p, float v) {
  const uint16_t h = f32_to_f16(v);
  std::memcpy(p, &h, 2);
  return f16_to_f32(h);
}

// Round to nearest (ties to even), clamped. Written with comparisons and float arithmetic rather
// than fmin/fmax/lrintf, which are library calls without -ffast-math and made the scale searches
// ~10x slower. A NaN fails both comparisons and becomes lo; adding and subtracting 1.5 * 2^23
// rounds any |v| < 2^22 to an integer (nearest-even); the project never builds with -ffast-math,
// which could fold it away.
inline int clamp_round(float v, int lo, int hi) {
  v = v > float(lo) ? v : float(lo);
  v = v < float(hi) ? v : float(hi);
  const float r = (v + 12582912.0f) - 12582912.0f;
  return int(r);
}

// Fits x[0..n) ~= scale * L - min with L in [0, nmax] and min >= 0, minimizing squared error.
// Tries a few candidate inverse scales around nmax / (max - min); for each rounds L, then solves
// the 2x2 least-squares problem for (scale, min) given L and keeps the best.
float fit_scale_min(const float* x, int n, int nmax, float rmin, float rdelta, int nstep,
                    float* min_out) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; ++i) lo = x[i] < lo ? x[i] : lo, hi = x[i] > hi ? x[i] : hi;
  if (lo > 0) lo = 0;  // the offset only ever subtracts
  if (hi == lo) {
    *min_out = -lo;
    return 0;
  }
  float sx = 0, sx2 = 0;
  for (int i = 0; i < n; ++i) sx += x[i], sx2 += x[i] * x[i];
  float best_err = INFINITY, best_scale = (hi - lo) / float(nmax), best_off = lo;
  for (int is = -1; is <= nstep; ++is) {
    const float iscale = (is < 0 ? float(nmax) : rmin + rdelta * float(is) + float(nmax)) / (hi - lo);
    int sl = 0, sl2 = 0;  // exact in int
    float slx = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_round(iscale * (x[i] - lo), 0, nmax);
      sl += l, sl2 += l * l, slx += float(l) * x[i];
    }
    const float det = float(n) * float(sl2) - float(sl) * float(sl);
    if (det <= 0) continue;
    float scale = (float(n) * slx - float(sl) * sx) / det;
    float off = (float(sl2) * sx - float(sl) * slx) / det;
    if (off > 0) off = 0, scale = slx / float(sl2);
    // sum (scale * l + off - x)^2 expanded in the sums above: no second pass over x.
    const float err = scale * scale * float(sl2) + 2 * scale * off * float(sl) + float(n) * off * off +
                      sx2 - 2 * scale * slx - 2 * off * sx;
    if (err < best_err) best_err = err, best_scale = scale, best_off = off;
  }
  *min_out = -best_off;
  return best_scale;
}

// Fits x[0..16) ~= scale * L with L in [-32, 31]. The signed element of largest magnitude maps
// near -32 (the longer side of the range); a few nearby inverse scales are tried and the scale is
// the least-squares one for each rounding.
float fit_symmetric(const float* x, int n) {
  float amax = 0, max = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), max = x[i];
  }
  if (amax == 0) return 0;
  float best = -1, best_scale = 0;
  for (int is = -9; is <= 9; ++is) {
    const float iscale = -(32.0f + 0.1f * float(is)) / max;
    float slx = 0, sl2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_round(iscale * x[i], -32, 31);
      slx += float(l) * x[i], sl2 += float(l * l);
    }
    // Error = sum x^2 - slx^2 / sl2 at the optimal scale, so maximize slx^2 / sl2.
    if (sl2 > 0 && slx * slx / sl2 > best) best = slx * slx / sl2, best_scale = slx / sl2;
  }
  return best_scale;
}

void pack_scale_min(uint8_t* s, int j, int sc, int m) {
  if (j < 4) {
    s[j] = uint8_t((s[j] & 0xC0) | sc);
    s[j + 4] = uint8_t((s[j + 4] & 0xC0) | m);
  } else {
    s[j + 4] = uint8_t((sc & 0xF) | ((m & 0xF) << 4));
    s[j - 4] = uint8_t((s[j - 4] & 0x3F) | ((sc >> 4) << 6));
    s[j] = uint8_t((s[j] & 0x3F) | ((m >> 4) << 6));
  }
}

// Shared by Q4_K and Q5_K (nmax 15 or 31): fits each 32-element sub-block, quantizes the 8 scales
// and mins to 6 bits against the f16 super-scales, then rounds every element with the scales the
// decoder will actually use. Writes d, dmin, scales[12] to `head` and levels to L[256].
void quantize_scale_min_block(const float* x, int nmax, float rmin, int nstep, uint8_t* head,
                              uint8_t* L) {
  float scales[8], mins[8], max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    scales[j] = fit_scale_min(x + 32 * j, 32, nmax, rmin, 0.1f, nstep, &mins[j]);
    max_scale = std::fmax(max_scale, scales[j]);
    max_min = std::fmax(max_min, mins[j]);
  }
  const float d = store_f16(head, max_scale / 63.0f);
  const float dmin = store_f16(head + 2, max_min / 63.0f);
  uint8_t* packed = head + 4;
  std::memset(packed, 0, 12);
  for (int j = 0; j < 8; ++j) {
    const int ls = d > 0 ? clamp_round(scales[j] / d, 0, 63) : 0;
    const int lm = dmin > 0 ? clamp_round(mins[j] / dmin, 0, 63) : 0;
    pack_scale_min(packed, j, ls, lm);
    const float eff_scale = d * float(ls), eff_min = dmin * float(lm);
    for (int i = 0; i < 32; ++i) {
      L[32 * j + i] =
          eff_scale > 0 ? uint8_t(clamp_round((x[32 * j + i] + eff_min) / eff_scale, 0, nmax)) : 0;
    }
  }
}

}  // namespace

void unpack_scale_min(const uint8_t* s, int j, int* scale, int* min) {
  if (j < 4) {
    *scale = s[j] & 63;
    *min = s[j + 4] & 63;
  } else {
    *scale = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    *min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

namespace {
// Q4_K and Q5_K superblocks: 8 sub-blocks of 32 with 6-bit scales and mins, y = d * sc * q - dmin * m.
// quant(c, l, high) is the quant of element l of sub-block 2 c + high (bits 0-3 from the low or
// high nibble of qs[32 c + l], plus Q5_K's fifth bit).
template <typename Quant>
void dequantize_scaled_superblock(const uint8_t* b, float* y, Quant quant) {
  const float d = load_f16(b), dmin = load_f16(b + 2);
  const uint8_t* scales = b + 4;
  for (int c = 0; c < 4; ++c) {
    int sc0, m0, sc1, m1;
    unpack_scale_min(scales, 2 * c, &sc0, &m0);
    unpack_scale_min(scales, 2 * c + 1, &sc1, &m1);
    const float d0 = d * float(sc0), o0 = dmin * float(m0);
    const float d1 = d * float(sc1), o1 = dmin * float(m1);
    for (int l = 0; l < 32; ++l) {
      y[64 * c + l] = d0 * float(quant(c, l, 0)) - o0;
      y[64 * c + 32 + l] = d1 * float(quant(c, l, 1)) - o1;
    }
  }
}
}  // namespace

void dequantize_q4_k(const uint8_t* b, float* y) {
  const uint8_t* qs = b + 16;
  dequantize_scaled_superblock(b, y, [&](int c, int l, int high) { return (qs[32 * c + l] >> (4 * high)) & 0xF; });
}

void dequantize_q5_k(const uint8_t* b, float* y) {
  const uint8_t* qh = b + 16;
  const uint8_t* qs = b + 48;
  dequantize_scaled_superblock(b, y, [&](int c, int l, int high) {
    return ((qs[32 * c + l] >> (4 * high)) & 0xF) | (((qh[l] >> (2 * c + high)) & 1) << 4);
  });
}

void dequantize_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = load_f16(b + 208);
  for (int h = 0; h < 2; ++h, ql += 64, qh += 32, sc += 8, y += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * float(sc[is + 0]) * float(q1);
      y[l + 32] = d * float(sc[is + 2]) * float(q2);
      y[l + 64] = d * float(sc[is + 4]) * float(q3);
      y[l + 96] = d * float(sc[is + 6]) * float(q4);
    }
  }
}

void quantize_q4_k(const float* x, uint8_t* b) {
  uint8_t L[256];
  quantize_scale_min_block(x, 15, -1.0f, 20, b, L);
  uint8_t* qs = b + 16;
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) qs[32 * c + l] = uint8_t(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
  }
}

void quantize_q5_k(const float* x, uint8_t* b) {
  uint8_t L[256];
  quantize_scale_min_block(x, 31, -0.5f, 15, b, L);
  uint8_t* qh = b + 16;
  uint8_t* qs = b + 48;
  std::memset(qh, 0, 32);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      const int q0 = L[64 * c + l], q1 = L[64 * c + 32 + l];
      qs[32 * c + l] = uint8_t((q0 & 0xF) | ((q1 & 0xF) << 4));
      qh[l] = uint8_t(qh[l] | ((q0 >> 4) << (2 * c)) | ((q1 >> 4) << (2 * c + 1)));
    }
  }
}

void quantize_q6_k(const float* x, uint8_t* b) {
  float scales[16], max_scale = 0, amax = 0;
  for (int j = 0; j < 16; ++j) {
    scales[j] = fit_symmetric(x + 16 * j, 16);
    if (std::fabs(scales[j]) > amax) amax = std::fabs(scales[j]), max_scale = scales[j];
  }
  uint8_t* ql = b;
  uint8_t* qh = b + 128;
  auto* sc = reinterpret_cast<int8_t*>(b + 192);
  // The largest-magnitude scale maps to -128 so the int8 range is used in full.
  const float d = store_f16(b + 208, amax > 0 ? max_scale / -128.0f : 0.0f);
  uint8_t L[256];
  for (int j = 0; j < 16; ++j) {
    const int ls = d != 0 ? clamp_round(scales[j] / d, -128, 127) : 0;
    sc[j] = int8_t(ls);
    const float eff = d * float(ls);
    for (int i = 0; i < 16; ++i) {
      L[16 * j + i] = uint8_t((eff != 0 ? clamp_round(x[16 * j + i] / eff, -32, 31) : 0) + 32);
    }
  }
  std::memset(qh, 0, 64);
  for (int h = 0; h < 2; ++h) {
    const uint8_t* q = L + 128 * h;
    for (int l = 0; l < 32; ++l) {
      ql[64 * h + l] = uint8_t((q[l] & 0xF) | ((q[l + 64] & 0xF) << 4));
      ql[64 * h + l + 32] = uint8_t((q[l + 32] & 0xF) | ((q[l + 96] & 0xF) << 4));
      qh[32 * h + l] = uint8_t((q[l] >> 4) | ((q[l + 32] >> 4) << 2) | ((q[l + 64] >> 4) << 4) |
                               ((q[l + 96] >> 4) << 6));
    }
  }
}

}  // namespace wgllm::kquant
