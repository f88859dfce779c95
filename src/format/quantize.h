// Requantizing whole GGUF files (what `wgllm quantize` runs) and converting tensor rows between
// types on several threads.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "format/quant_mix.h"
#include "format/tensor_types.h"

namespace wgllm {

// Converts n_rows rows of row_len elements from src_type to dst_type (dequantize to f32, then
// quantize; a plain copy when the types match), on n_threads threads (0: all cores).
// If `rows_done` is given it is called on the calling thread from time to time with the number
// of rows finished so far (for progress bars).
void convert_rows(TensorType src_type, const uint8_t* src, TensorType dst_type, uint8_t* dst,
                  int64_t row_len, int64_t n_rows, int n_threads = 0,
                  const std::function<void(int64_t rows_done)>& rows_done = {});

struct QuantizeResult {
  uint64_t in_bytes = 0, out_bytes = 0;   // tensor data only
  std::map<TensorType, int> tensors_per_type;
};

// Reads in_path, chooses each tensor's type with choose_tensor_type(), requantizes, copies all
// metadata (general.file_type and general.quantization_version updated) and writes out_path
// atomically. Refuses in_path == out_path. Shows a ProgressBar by bytes on stderr.
QuantizeResult quantize_gguf(const std::string& in_path, const std::string& out_path, FileType ft,
                             int n_threads = 0);

}  // namespace wgllm
