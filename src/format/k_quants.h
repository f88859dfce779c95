// Block-level K-quant codecs (256-element super-blocks), used by tensor_types.cpp. Each function
// reads or writes exactly one block; see k_quants.cpp for the byte layouts.
#pragma once
#include <cstdint>

namespace wgllm::kquant {

constexpr int kSuperBlock = 256;

void dequantize_q4_k(const uint8_t* block, float* y);  // 144-byte block -> 256 floats
void dequantize_q5_k(const uint8_t* block, float* y);  // 176-byte block -> 256 floats
void dequantize_q6_k(const uint8_t* block, float* y);  // 210-byte block -> 256 floats
void quantize_q4_k(const float* x, uint8_t* block);
void quantize_q5_k(const float* x, uint8_t* block);
void quantize_q6_k(const float* x, uint8_t* block);

// The 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes of Q4_K/Q5_K.
void unpack_scale_min(const uint8_t* scales12, int j, int* scale, int* min);

}  // namespace wgllm::kquant
