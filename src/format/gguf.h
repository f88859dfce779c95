// GGUF v2/v3: a validating reader over a memory map and a writer.
// Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
// Every read is bounds-checked; a bad file raises wgllm::Error naming the file and the key or
// tensor at fault (truncation, bad magic, unknown version, tensor past the end, unknown type).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "format/tensor_types.h"
#include "util/mapped_file.h"

namespace wgllm {

// Caps that keep a hostile file from making the reader allocate gigabytes or recurse deeply.
// Real models stay far below them (the largest vocabularies have ~260k entries).
struct GgufLimits {
  static constexpr uint64_t kMaxTensors = 1u << 20;
  static constexpr uint64_t kMaxKeys = 1u << 16;
  static constexpr uint64_t kMaxArrayItems = 1u << 23;    // one array
  static constexpr uint64_t kMaxTotalValues = 1u << 24;   // all metadata values together
  static constexpr uint64_t kMaxStringBytes = 1u << 26;   // one string
  static constexpr uint64_t kMaxNameBytes = 1024;         // a key or tensor name
  static constexpr int kMaxArrayDepth = 8;                // arrays of arrays
  static constexpr uint32_t kMaxDims = 4;
};

enum class GgufValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};

// One metadata value. Arrays hold their elements' type and a vector of values.
struct GgufValue {
  struct Array {
    GgufValueType type;
    std::vector<GgufValue> items;
  };
  std::variant<uint64_t, int64_t, double, bool, std::string, Array> v;
  GgufValueType type = GgufValueType::U32;  // the type as stored in the file
};

std::string_view gguf_value_type_name(GgufValueType t);  // "u32", "string", "array", ...

struct GgufTensor {
  std::string name;
  TensorType type;
  std::vector<int64_t> shape;  // ne[0] first: ne[0] is the contiguous (row) dimension
  uint64_t offset = 0;         // from the start of the data section
  uint64_t size = 0;           // bytes
  // Reader only. `data` points into the map where the whole file is mapped (natively); in the
  // browser it is null and the bytes stay in the file: read them through TensorBytes.
  const uint8_t* data = nullptr;
  const MappedFile* file = nullptr;
  uint64_t file_offset = 0;  // data_offset() + offset
  int64_t n_elements() const;
  int64_t n_rows() const { return shape.empty() ? 1 : n_elements() / shape[0]; }
};

// Bytes [offset, offset + size) of a read tensor, e.g. rows to upload: a view into the map
// natively (no copy), a copy read from the file in the browser (the heap then holds one tensor at
// a time, never the file), freed with this object. An Error names the tensor if out of range.
class TensorBytes {
 public:
  TensorBytes(const GgufTensor& t, uint64_t offset, uint64_t size);
  const uint8_t* data() const { return p_; }

 private:
  const uint8_t* p_ = nullptr;
  std::unique_ptr<uint8_t[]> copy_;
};

class GgufFile {
 public:
  // Opens and validates the whole header; tensor data stays in the file (see TensorBytes).
  static std::unique_ptr<GgufFile> open(const std::string& path);

  const std::string& path() const { return map_->path(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  size_t file_size() const { return map_->size(); }

  bool has(const std::string& key) const { return kv_.count(key) != 0; }
  const GgufValue* find(const std::string& key) const;
  const std::map<std::string, GgufValue>& metadata() const { return kv_; }
  const std::vector<std::string>& keys_in_file_order() const { return key_order_; }
  size_t data_offset() const { return data_offset_; }  // start of the tensor data section

  // Typed getters: a missing key or a value of the wrong type raises an Error naming the key.
  std::string get_string(const std::string& key) const;
  uint64_t get_u64(const std::string& key) const;   // any unsigned/signed integer type >= 0
  int64_t get_i64(const std::string& key) const;    // any integer type
  double get_f64(const std::string& key) const;     // any number type
  bool get_bool(const std::string& key) const;
  std::vector<std::string> get_string_array(const std::string& key) const;
  std::vector<double> get_f64_array(const std::string& key) const;
  std::vector<int64_t> get_i64_array(const std::string& key) const;
  // Defaults when the key is absent (still an error if present with a wrong type).
  std::string get_string(const std::string& key, const std::string& fallback) const;
  uint64_t get_u64(const std::string& key, uint64_t fallback) const;
  double get_f64(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;

  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* find_tensor(const std::string& name) const;
  const GgufTensor& tensor(const std::string& name) const;  // Error naming tensor and file

 private:
  void parse();  // the header from map_; throws NeedMore (gguf.cpp) when a longer prefix is needed

  std::unique_ptr<MappedFile> map_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  size_t data_offset_ = 0;
  std::map<std::string, GgufValue> kv_;
  std::vector<std::string> key_order_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

// Checks a tensor's shape and type (1..4 dims, each > 0, no element-count overflow, row length a
// multiple of the block size) and returns its size in bytes; errors name `what` (the tensor).
uint64_t gguf_tensor_bytes(const std::string& what, TensorType type, const std::vector<int64_t>& shape);

// Builds a GGUF v3 file: metadata in insertion order, tensors aligned (general.alignment).
class GgufWriter {
 public:
  // Setting a key again replaces its value in place. general.alignment, if set (u32, a power of
  // two), sets the tensor alignment of the written file.
  void set(const std::string& key, GgufValue value);
  void set_string(const std::string& key, const std::string& v);
  void set_u32(const std::string& key, uint32_t v);
  void set_i32(const std::string& key, int32_t v);
  void set_u64(const std::string& key, uint64_t v);
  void set_f32(const std::string& key, float v);
  void set_bool(const std::string& key, bool v);
  void set_string_array(const std::string& key, const std::vector<std::string>& v);
  void set_f32_array(const std::string& key, const std::vector<float>& v);
  void set_i32_array(const std::string& key, const std::vector<int32_t>& v);
  // Adds a tensor whose bytes are already in `type` (row_bytes(type, shape[0]) * n_rows bytes).
  void add_tensor(const std::string& name, TensorType type, std::vector<int64_t> shape,
                  std::vector<uint8_t> bytes);
  // Adds a tensor whose bytes are produced at write time: `fill` writes exactly
  // row_bytes(type, shape[0]) * n_rows bytes to dst, then they are streamed to the file, so a
  // multi-GB model never sits whole in memory (only its largest tensor, once).
  void add_tensor(const std::string& name, TensorType type, std::vector<int64_t> shape,
                  std::function<void(uint8_t* dst)> fill);
  size_t tensor_count() const { return tensors_.size(); }
  // Writes atomically (temp file + rename) so a failure never leaves a half-written file.
  void write(const std::string& path) const;

 private:
  std::vector<std::pair<std::string, GgufValue>> kv_;
  struct Pending {
    std::string name;
    TensorType type;
    std::vector<int64_t> shape;
    uint64_t size = 0;
    std::vector<uint8_t> bytes;               // eager tensors
    std::function<void(uint8_t*)> fill;       // lazy tensors
  };
  void add_pending(Pending p);
  std::vector<Pending> tensors_;
};

}  // namespace wgllm
