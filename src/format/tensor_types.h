// Tensor element types as GGUF defines them (the ggml type ids), with exact dequantization and
// reference quantization. Quantized types store blocks of `block_size` elements in
// `type_size` bytes; a row's length must be a multiple of the block size.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wgllm {

enum class TensorType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  BF16 = 30,
};

struct TensorTypeInfo {
  TensorType type;
  const char* name;    // "Q4_K"
  uint32_t block_size;  // elements per block (1 for F32/F16/BF16)
  uint32_t type_size;   // bytes per block
};

// nullopt for ggml type ids this engine does not support (the caller names the tensor).
std::optional<TensorTypeInfo> tensor_type_info(uint32_t ggml_type_id);
const TensorTypeInfo& tensor_type_info(TensorType type);
std::string_view tensor_type_name(TensorType type);
std::optional<TensorType> tensor_type_from_name(std::string_view name);  // "q4_0", "Q4_K", ...

// Bytes of a row of n elements (n a multiple of the block size).
size_t row_bytes(TensorType type, int64_t n);

// Dequantizes one row of n elements exactly as GGUF/ggml defines each format.
void dequantize_row(TensorType type, const void* src, float* dst, int64_t n);
// Quantizes one row of n elements (n a multiple of the block size) with the reference
// (round-to-nearest, per-block scale search as ggml's reference quantizers do).
void quantize_row(TensorType type, const float* src, void* dst, int64_t n);

}  // namespace wgllm
