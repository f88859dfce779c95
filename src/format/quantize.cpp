// Whole-file requantization: dequantize every tensor to f32 and quantize it to the type the mix
// chooses, streaming tensor by tensor through GgufWriter's lazy tensors.
#include "format/quantize.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "format/gguf.h"
#include "util/error.h"
#include "util/progress.h"

namespace wgllm {

void convert_rows(TensorType src_type, const uint8_t* src, TensorType dst_type, uint8_t* dst,
                  int64_t row_len, int64_t n_rows, int n_threads,
                  const std::function<void(int64_t)>& rows_done) {
  const size_t src_row = row_bytes(src_type, row_len), dst_row = row_bytes(dst_type, row_len);
  if (src_type == dst_type) {
    std::memcpy(dst, src, src_row * size_t(n_rows));
    if (rows_done) rows_done(n_rows);
    return;
  }
  if (n_threads <= 0) n_threads = int(std::max(1u, std::thread::hardware_concurrency()));
  // Chunks of about 1 MiB of f32 so threads share the work evenly and progress moves smoothly.
  const int64_t chunk = std::max<int64_t>(1, (int64_t(1) << 18) / row_len);
  n_threads = int(std::min<int64_t>(n_threads, (n_rows + chunk - 1) / chunk));
  std::atomic<int64_t> next{0}, done{0};
  std::atomic<bool> stop{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    try {
      std::vector<float> row(static_cast<size_t>(row_len));
      for (;;) {
        const int64_t first = next.fetch_add(chunk);
        if (first >= n_rows || stop) return;
        const int64_t last = std::min(n_rows, first + chunk);
        for (int64_t r = first; r < last; ++r) {
          dequantize_row(src_type, src + size_t(r) * src_row, row.data(), row_len);
          quantize_row(dst_type, row.data(), dst + size_t(r) * dst_row, row_len);
        }
        done += last - first;
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      stop = true;
    }
  };
  if (n_threads <= 1) {
    work();
  } else {
    std::vector<std::thread> threads;
    for (int i = 0; i < n_threads; ++i) threads.emplace_back(work);
    while (rows_done && done < n_rows && !stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      rows_done(done);
    }
    for (auto& t : threads) t.join();
  }
  if (error) std::rethrow_exception(error);
  if (rows_done) rows_done(n_rows);
}

QuantizeResult quantize_gguf(const std::string& in_path, const std::string& out_path, FileType ft,
                             int n_threads) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (in_path == out_path || fs::equivalent(in_path, out_path, ec) ||
      fs::weakly_canonical(in_path, ec) == fs::weakly_canonical(out_path, ec))
    fail("quantize: input and output are the same file (", in_path, "); write to a new path");
  const auto in = GgufFile::open(in_path);

  int n_layers = 0;
  const std::string arch = in->get_string("general.architecture", "");
  if (!arch.empty()) n_layers = int(in->get_u64(arch + ".block_count", 0));
  if (n_layers == 0) {
    for (const auto& t : in->tensors()) n_layers = std::max(n_layers, layer_of(t.name) + 1);
  }
  const bool has_output = in->find_tensor("output.weight") != nullptr;

  GgufWriter out;
  for (const auto& key : in->keys_in_file_order()) out.set(key, *in->find(key));
  out.set_u32("general.file_type", gguf_file_type_id(ft));
  out.set_u32("general.quantization_version", 2);

  QuantizeResult result;
  for (const auto& t : in->tensors()) result.in_bytes += t.size;
  ProgressBar progress("quantize " + std::string(file_type_name(ft)), result.in_bytes, "B");
  uint64_t bytes_before = 0;
  for (const auto& t : in->tensors()) {
    const TensorType type = choose_tensor_type(ft, t.name, n_layers, t.shape, has_output);
    result.tensors_per_type[type]++;
    result.out_bytes += gguf_tensor_bytes(t.name, type, t.shape);
    const GgufTensor* src = &t;
    out.add_tensor(t.name, type, t.shape, [src, type, n_threads, &progress, &bytes_before](uint8_t* dst) {
      const int64_t rows = src->n_rows();
      convert_rows(src->type, src->data, type, dst, src->shape[0], rows, n_threads, [&](int64_t done) {
        progress.update(bytes_before + src->size * uint64_t(done) / uint64_t(rows));
      });
      bytes_before += src->size;
    });
  }
  out.write(out_path);
  progress.finish();
  return result;
}

}  // namespace wgllm
