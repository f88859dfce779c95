// Hugging Face safetensors checkpoints, read over a memory map.
// Format: an 8-byte little-endian header length N, N bytes of JSON
//   {"<name>": {"dtype": "BF16", "shape": [rows, cols], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {...}}
// then the data section; offsets are relative to its start. Every tensor is checked when the
// file opens (dtype, shape against byte size, offsets inside the file, no two tensors
// overlapping), so later reads cannot run past the map.
// A checkpoint is one model.safetensors or the shards a model.safetensors.index.json names.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "format/tensor_types.h"
#include "util/mapped_file.h"

namespace wgllm {

struct SafeTensor {
  std::string name;
  std::string file;            // the shard holding it (for messages)
  TensorType type;             // F32, F16 or BF16
  std::vector<int64_t> shape;  // as stored: shape[0] outermost (rows, cols), PyTorch order
  const uint8_t* data = nullptr;
  uint64_t size = 0;           // bytes
  int64_t n_elements() const;
};

class SafetensorsFile {
 public:
  static constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // real headers are a few hundred KB
  explicit SafetensorsFile(const std::string& path);
  const std::string& path() const { return map_->path(); }
  const std::vector<SafeTensor>& tensors() const { return tensors_; }

 private:
  std::unique_ptr<MappedFile> map_;
  std::vector<SafeTensor> tensors_;
};

// Every tensor of a model folder's checkpoint, by name.
class Checkpoint {
 public:
  // Opens DIR/model.safetensors.index.json and its shards, else DIR/model.safetensors.
  static Checkpoint open_folder(const std::string& dir);
  // Single files or shards given directly; a name found twice is an error.
  static Checkpoint open_files(const std::vector<std::string>& paths);

  const SafeTensor* find(const std::string& name) const;
  const std::map<std::string, SafeTensor>& tensors() const { return tensors_; }
  const std::vector<std::string>& files() const { return files_; }

 private:
  void add(const std::string& path);
  std::vector<std::unique_ptr<SafetensorsFile>> open_;
  std::vector<std::string> files_;
  std::map<std::string, SafeTensor> tensors_;
};

// "[4, 64]" for messages.
std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace wgllm
