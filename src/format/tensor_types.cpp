// The tensor type table and the simple formats: F32, F16, BF16 and the 32-element block formats
// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0. The 256-element K-quants live in k_quants.cpp.
//
// Block layouts (little-endian, packed, as ggml defines them):
//   Q4_0 (18 bytes / 32): f16 d; u8 qs[16]. Element i<16 is low nibble of qs[i], element i+16 the
//                         high nibble; value = (q - 8) * d.
//   Q4_1 (20 bytes / 32): f16 d; f16 m; u8 qs[16] (nibbles as Q4_0); value = q * d + m.
//   Q5_0 (22 bytes / 32): f16 d; u32 qh (little-endian); u8 qs[16]. Element i's low 4 bits are
//                         the nibbles as Q4_0, its fifth bit is bit i of qh; value = (q - 16) * d.
//   Q5_1 (24 bytes / 32): f16 d; f16 m; u32 qh; u8 qs[16] (bits as Q5_0); value = q * d + m.
//   Q8_0 (34 bytes / 32): f16 d; i8 qs[32]; value = q * d.
#include "format/tensor_types.h"

#include <cctype>
#include <cmath>
#include <cstring>

#include "format/k_quants.h"
#include "util/error.h"
#include "util/fp16.h"

namespace wgllm {
namespace {

const TensorTypeInfo kTypes[] = {
    {TensorType::F32, "F32", 1, 4},      {TensorType::F16, "F16", 1, 2},
    {TensorType::Q4_0, "Q4_0", 32, 18},  {TensorType::Q4_1, "Q4_1", 32, 20},
    {TensorType::Q5_0, "Q5_0", 32, 22},  {TensorType::Q5_1, "Q5_1", 32, 24},
    {TensorType::Q8_0, "Q8_0", 32, 34},  {TensorType::Q4_K, "Q4_K", 256, 144},
    {TensorType::Q5_K, "Q5_K", 256, 176}, {TensorType::Q6_K, "Q6_K", 256, 210},
    {TensorType::BF16, "BF16", 1, 2},
};

// Truncates toward zero after clamping in float, so NaN or inf input stays defined behaviour.
// (Comparisons, not fmin/fmax: those are library calls without -ffast-math.)
int clamp_int(float v, int lo, int hi) {
  v = v > float(lo) ? v : float(lo);  // NaN -> lo
  return int(v < float(hi) ? v : float(hi));
}

// Round half away from zero, clamped to [-lim, lim]; NaN -> -lim.
int round_clamped(float v, int lim) {
  v = v > float(-lim) ? v : float(-lim);
  v = v < float(lim) ? v : float(lim);
  return int(v + std::copysign(0.5f, v));
}

uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
void store_u16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
void store_u32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

// ---- 32-element blocks -------------------------------------------------------------------------

void dequantize_q4_0(const uint8_t* b, float* y) {
  const float d = f16_to_f32(load_u16(b));
  const uint8_t* qs = b + 2;
  for (int i = 0; i < 16; ++i) {
    y[i] = float(int(qs[i] & 0xF) - 8) * d;
    y[i + 16] = float(int(qs[i] >> 4) - 8) * d;
  }
}

void dequantize_q4_1(const uint8_t* b, float* y) {
  const float d = f16_to_f32(load_u16(b));
  const float m = f16_to_f32(load_u16(b + 2));
  const uint8_t* qs = b + 4;
  for (int i = 0; i < 16; ++i) {
    y[i] = float(qs[i] & 0xF) * d + m;
    y[i + 16] = float(qs[i] >> 4) * d + m;
  }
}

// The 5-bit quants of a Q5_0 / Q5_1 block: nibbles as Q4_0, fifth bit i of qh for element i.
void unpack_q5(const uint8_t* qh_at, const uint8_t* qs, int* q) {
  const uint32_t qh = load_u32(qh_at);
  for (int i = 0; i < 16; ++i) {
    q[i] = (qs[i] & 0xF) | int((qh >> i) & 1) << 4;
    q[i + 16] = (qs[i] >> 4) | int((qh >> (i + 16)) & 1) << 4;
  }
}
void pack_q5(const int* q, uint8_t* qh_at, uint8_t* qs) {
  uint32_t qh = 0;
  for (int i = 0; i < 16; ++i) {
    qs[i] = uint8_t((q[i] & 0xF) | (q[i + 16] & 0xF) << 4);
    qh |= uint32_t(q[i] >> 4) << i | uint32_t(q[i + 16] >> 4) << (i + 16);
  }
  store_u32(qh_at, qh);
}

void dequantize_q5_0(const uint8_t* b, float* y) {
  const float d = f16_to_f32(load_u16(b));
  int q[32];
  unpack_q5(b + 2, b + 6, q);
  for (int i = 0; i < 32; ++i) y[i] = float(q[i] - 16) * d;
}

void dequantize_q5_1(const uint8_t* b, float* y) {
  const float d = f16_to_f32(load_u16(b));
  const float m = f16_to_f32(load_u16(b + 2));
  int q[32];
  unpack_q5(b + 4, b + 8, q);
  for (int i = 0; i < 32; ++i) y[i] = float(q[i]) * d + m;
}

void dequantize_q8_0(const uint8_t* b, float* y) {
  const float d = f16_to_f32(load_u16(b));
  for (int i = 0; i < 32; ++i) y[i] = float(int8_t(b[2 + i])) * d;
}

// Symmetric 4-bit: the element of largest magnitude maps to -8 exactly, so the scale keeps its
// sign and the full range [-8, 7] is used on the side that needs it.
void quantize_q4_0(const float* x, uint8_t* b) {
  float amax = 0, max = 0;
  for (int i = 0; i < 32; ++i) {
    if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), max = x[i];
  }
  const float d = max / -8.0f;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  store_u16(b, f32_to_f16(d));
  auto q = [&](float v) {
    return uint8_t(clamp_int(v * id + 8.5f, 0, 15));  // truncation of a value >= 0
  };
  for (int i = 0; i < 16; ++i) b[2 + i] = uint8_t(q(x[i]) | (q(x[i + 16]) << 4));
}

void quantize_q4_1(const float* x, uint8_t* b) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < 32; ++i) lo = x[i] < lo ? x[i] : lo, hi = x[i] > hi ? x[i] : hi;
  const float d = (hi - lo) / 15.0f;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  store_u16(b, f32_to_f16(d));
  store_u16(b + 2, f32_to_f16(lo));
  auto q = [&](float v) {
    return uint8_t(clamp_int((v - lo) * id + 0.5f, 0, 15));
  };
  for (int i = 0; i < 16; ++i) b[4 + i] = uint8_t(q(x[i]) | (q(x[i + 16]) << 4));
}

// As Q4_0 with 5 bits: the element of largest magnitude maps to -16.
void quantize_q5_0(const float* x, uint8_t* b) {
  float amax = 0, max = 0;
  for (int i = 0; i < 32; ++i) {
    if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), max = x[i];
  }
  const float d = max / -16.0f;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  store_u16(b, f32_to_f16(d));
  int q[32];
  for (int i = 0; i < 32; ++i) q[i] = clamp_int(x[i] * id + 16.5f, 0, 31);
  pack_q5(q, b + 2, b + 6);
}

void quantize_q5_1(const float* x, uint8_t* b) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < 32; ++i) lo = x[i] < lo ? x[i] : lo, hi = x[i] > hi ? x[i] : hi;
  const float d = (hi - lo) / 31.0f;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  store_u16(b, f32_to_f16(d));
  store_u16(b + 2, f32_to_f16(lo));
  int q[32];
  for (int i = 0; i < 32; ++i) q[i] = clamp_int((x[i] - lo) * id + 0.5f, 0, 31);
  pack_q5(q, b + 4, b + 8);
}

void quantize_q8_0(const float* x, uint8_t* b) {
  float amax = 0;
  for (int i = 0; i < 32; ++i) amax = std::fabs(x[i]) > amax ? std::fabs(x[i]) : amax;
  const float d = amax / 127.0f;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  store_u16(b, f32_to_f16(d));
  for (int i = 0; i < 32; ++i) b[2 + i] = uint8_t(int8_t(round_clamped(x[i] * id, 127)));
}

using BlockFn = void (*)(const uint8_t*, float*);
using QuantFn = void (*)(const float*, uint8_t*);

}  // namespace

std::optional<TensorTypeInfo> tensor_type_info(uint32_t ggml_type_id) {
  for (const auto& t : kTypes) {
    if (uint32_t(t.type) == ggml_type_id) return t;
  }
  return std::nullopt;
}

const TensorTypeInfo& tensor_type_info(TensorType type) {
  for (const auto& t : kTypes) {
    if (t.type == type) return t;
  }
  fail("unknown tensor type id ", uint32_t(type));
}

std::string_view tensor_type_name(TensorType type) { return tensor_type_info(type).name; }

std::optional<TensorType> tensor_type_from_name(std::string_view name) {
  for (const auto& t : kTypes) {
    const std::string_view n = t.name;
    if (n.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < n.size(); ++i) same &= std::toupper(static_cast<unsigned char>(name[i])) == n[i];
    if (same) return t.type;
  }
  return std::nullopt;
}

size_t row_bytes(TensorType type, int64_t n) {
  const auto& info = tensor_type_info(type);
  if (n < 0 || n % info.block_size != 0)
    fail("row of ", n, " elements is not a multiple of the ", info.name, " block size ", info.block_size);
  return size_t(n / info.block_size) * info.type_size;
}

void dequantize_row(TensorType type, const void* src, float* dst, int64_t n) {
  const auto& info = tensor_type_info(type);
  (void)row_bytes(type, n);  // validates n
  const auto* s = static_cast<const uint8_t*>(src);
  switch (type) {
    case TensorType::F32: std::memcpy(dst, s, size_t(n) * 4); return;
    case TensorType::F16:
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(load_u16(s + 2 * i));
      return;
    case TensorType::BF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(load_u16(s + 2 * i));
      return;
    default: break;
  }
  BlockFn fn = nullptr;
  switch (type) {
    case TensorType::Q4_0: fn = dequantize_q4_0; break;
    case TensorType::Q4_1: fn = dequantize_q4_1; break;
    case TensorType::Q5_0: fn = dequantize_q5_0; break;
    case TensorType::Q5_1: fn = dequantize_q5_1; break;
    case TensorType::Q8_0: fn = dequantize_q8_0; break;
    case TensorType::Q4_K: fn = kquant::dequantize_q4_k; break;
    case TensorType::Q5_K: fn = kquant::dequantize_q5_k; break;
    case TensorType::Q6_K: fn = kquant::dequantize_q6_k; break;
    default: fail("dequantize: unsupported type ", info.name);
  }
  for (int64_t b = 0; b < n / info.block_size; ++b) fn(s + b * info.type_size, dst + b * info.block_size);
}

void quantize_row(TensorType type, const float* src, void* dst, int64_t n) {
  const auto& info = tensor_type_info(type);
  (void)row_bytes(type, n);
  auto* d = static_cast<uint8_t*>(dst);
  switch (type) {
    case TensorType::F32: std::memcpy(d, src, size_t(n) * 4); return;
    case TensorType::F16:
      for (int64_t i = 0; i < n; ++i) store_u16(d + 2 * i, f32_to_f16(src[i]));
      return;
    case TensorType::BF16:
      for (int64_t i = 0; i < n; ++i) store_u16(d + 2 * i, f32_to_bf16(src[i]));
      return;
    default: break;
  }
  QuantFn fn = nullptr;
  switch (type) {
    case TensorType::Q4_0: fn = quantize_q4_0; break;
    case TensorType::Q4_1: fn = quantize_q4_1; break;
    case TensorType::Q5_0: fn = quantize_q5_0; break;
    case TensorType::Q5_1: fn = quantize_q5_1; break;
    case TensorType::Q8_0: fn = quantize_q8_0; break;
    case TensorType::Q4_K: fn = kquant::quantize_q4_k; break;
    case TensorType::Q5_K: fn = kquant::quantize_q5_k; break;
    case TensorType::Q6_K: fn = kquant::quantize_q6_k; break;
    default: fail("quantize: unsupported type ", info.name);
  }
  for (int64_t b = 0; b < n / info.block_size; ++b) fn(src + b * info.block_size, d + b * info.type_size);
}

}  // namespace wgllm
