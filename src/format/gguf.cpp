// GGUF reader: parses and validates the header of a memory-mapped file.
//
// File layout (little-endian): "GGUF" u32 version; u64 n_tensors; u64 n_kv;
//   n_kv x { string key; u32 value_type; value }        string = u64 length + bytes (no NUL)
//   n_tensors x { string name; u32 n_dims; u64 ne[n_dims]; u32 ggml_type; u64 offset }
//   padding to general.alignment (default 32); tensor data, each tensor at its offset from here.
// Arrays are { u32 item_type; u64 count; items }, and may nest.
#include "format/gguf.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "util/error.h"

namespace wgllm {
namespace {

// ggml's names for type ids, so an unsupported tensor type is reported by name, not just id.
const char* ggml_type_name_any(uint32_t id) {
  static const char* const names[] = {
      "F32",     "F16",    "Q4_0",    "Q4_1",  "Q4_2",  "Q4_3",  "Q5_0",   "Q5_1",
      "Q8_0",    "Q8_1",   "Q2_K",    "Q3_K",  "Q4_K",  "Q5_K",  "Q6_K",   "Q8_K",
      "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S",  "IQ4_XS",
      "I8",      "I16",    "I32",     "I64",   "F64",   "IQ1_M", "BF16",   "Q4_0_4_4",
      "Q4_0_4_8", "Q4_0_8_8", "TQ1_0", "TQ2_0", "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4"};
  return id < sizeof(names) / sizeof(names[0]) ? names[id] : "unknown";
}

std::string supported_types_list() {
  std::string s;
  for (uint32_t id = 0; id < 64; ++id) {
    if (auto info = tensor_type_info(id)) s += (s.empty() ? "" : ", ") + std::string(info->name);
  }
  return s;
}

// Smallest encoding of one value of type t, so an array count can be checked against the bytes
// left before anything is allocated.
uint64_t min_value_bytes(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::BOOL: return 1;
    case GgufValueType::U16: case GgufValueType::I16: return 2;
    case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::F32: return 4;
    case GgufValueType::U64: case GgufValueType::I64: case GgufValueType::F64: return 8;
    case GgufValueType::STRING: return 8;
    case GgufValueType::ARRAY: return 12;
  }
  return 1;
}

// Thrown when the header runs past the bytes in memory (a browser prefix) but not past the file:
// GgufFile::open then maps a longer prefix and parses again.
struct NeedMore {
  uint64_t end;  // the parse needs bytes [0, end)
};

// `size` is the file's; the first `avail` bytes of it are at `data`.
class Parser {
 public:
  Parser(const uint8_t* data, size_t avail, size_t size, const std::string& path)
      : data_(data), avail_(avail), size_(size), path_(path) {}

  size_t pos() const { return pos_; }
  size_t left() const { return size_ - pos_; }
  void set_context(std::string ctx) { ctx_ = std::move(ctx); }
  const std::string& context() const { return ctx_; }

  [[noreturn]] void error(const std::string& msg) const { fail(path_, ": ", ctx_, ": ", msg); }

  template <typename T>
  T read() {
    if (left() < sizeof(T))
      fail(path_, ": truncated file: ", ctx_, " needs ", sizeof(T), " bytes at offset ", pos_,
           " but the file is ", size_, " bytes");
    need(sizeof(T));
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(uint64_t max_len, const char* what) {
    const uint64_t n = read<uint64_t>();
    if (n > max_len) error(cat(what, " length ", n, " exceeds the limit of ", max_len, " bytes"));
    if (n > left())
      fail(path_, ": truncated file: ", ctx_, ": ", what, " of ", n, " bytes at offset ", pos_,
           " runs past the end of the file (", left(), " bytes left)");
    need(n);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), size_t(n));
    pos_ += size_t(n);
    return s;
  }

  GgufValueType read_type() {
    const uint32_t t = read<uint32_t>();
    if (t > uint32_t(GgufValueType::F64)) error(cat("unknown metadata value type ", t));
    return GgufValueType(t);
  }

  GgufValue read_value(GgufValueType t, int depth) {
    if (++total_values_ > GgufLimits::kMaxTotalValues)
      error(cat("more than ", GgufLimits::kMaxTotalValues, " metadata values in the file"));
    GgufValue v;
    v.type = t;
    switch (t) {
      case GgufValueType::U8: v.v = uint64_t(read<uint8_t>()); break;
      case GgufValueType::U16: v.v = uint64_t(read<uint16_t>()); break;
      case GgufValueType::U32: v.v = uint64_t(read<uint32_t>()); break;
      case GgufValueType::U64: v.v = read<uint64_t>(); break;
      case GgufValueType::I8: v.v = int64_t(read<int8_t>()); break;
      case GgufValueType::I16: v.v = int64_t(read<int16_t>()); break;
      case GgufValueType::I32: v.v = int64_t(read<int32_t>()); break;
      case GgufValueType::I64: v.v = read<int64_t>(); break;
      case GgufValueType::F32: v.v = double(read<float>()); break;
      case GgufValueType::F64: v.v = read<double>(); break;
      case GgufValueType::BOOL: {
        const uint8_t b = read<uint8_t>();
        if (b > 1) error(cat("bool value ", int(b), " is neither 0 nor 1"));
        v.v = b != 0;
        break;
      }
      case GgufValueType::STRING: v.v = read_string(GgufLimits::kMaxStringBytes, "string"); break;
      case GgufValueType::ARRAY: {
        if (depth >= GgufLimits::kMaxArrayDepth)
          error(cat("arrays nested deeper than ", GgufLimits::kMaxArrayDepth));
        GgufValue::Array arr;
        arr.type = read_type();
        const uint64_t n = read<uint64_t>();
        if (n > GgufLimits::kMaxArrayItems)
          error(cat("array of ", n, " items exceeds the limit of ", GgufLimits::kMaxArrayItems));
        if (n * min_value_bytes(arr.type) > left())
          fail(path_, ": truncated file: ", ctx_, ": array of ", n, " items runs past the end of the file (",
               left(), " bytes left)");
        arr.items.reserve(size_t(n));
        for (uint64_t i = 0; i < n; ++i) arr.items.push_back(read_value(arr.type, depth + 1));
        v.v = std::move(arr);
        break;
      }
    }
    return v;
  }

 private:
  void need(uint64_t n) const {
    if (n > avail_ - pos_) throw NeedMore{pos_ + n};
  }

  const uint8_t* data_;
  size_t avail_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& path_;
  std::string ctx_ = "header";
  uint64_t total_values_ = 0;
};

}  // namespace

std::string_view gguf_value_type_name(GgufValueType t) {
  static const char* const names[] = {"u8",  "i8",  "u16",    "i16",   "u32", "i32", "f32",
                                      "bool", "string", "array", "u64", "i64", "f64"};
  const auto i = uint32_t(t);
  return i < 13 ? names[i] : "unknown";
}

uint64_t gguf_tensor_bytes(const std::string& what, TensorType type, const std::vector<int64_t>& shape) {
  if (shape.empty() || shape.size() > GgufLimits::kMaxDims)
    fail(what, ": has ", shape.size(), " dimensions (1 to ", GgufLimits::kMaxDims, " supported)");
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] <= 0) fail(what, ": dimension ", i, " is ", shape[i], " (must be positive)");
    if (__builtin_mul_overflow(n, shape[i], &n)) fail(what, ": element count overflows 64 bits");
  }
  const auto& info = tensor_type_info(type);
  if (shape[0] % info.block_size != 0)
    fail(what, ": row length ", shape[0], " is not a multiple of the ", info.name, " block size ",
         info.block_size);
  const uint64_t blocks = uint64_t(n) / info.block_size;
  uint64_t bytes;
  if (__builtin_mul_overflow(blocks, uint64_t(info.type_size), &bytes) ||
      bytes > uint64_t(std::numeric_limits<int64_t>::max()))
    fail(what, ": size in bytes overflows 64 bits");
  return bytes;
}

int64_t GgufTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path) {
  // Natively the whole file is mapped and one parse suffices. In the browser only a prefix is in
  // memory: start with 64 KiB and parse again with a 4x longer one while the header runs past it
  // (headers are mostly vocabulary, ~0.1-8 MiB; the failed parses cost a third of the last one).
  auto map = std::make_unique<MappedFile>(path);
  for (uint64_t want = uint64_t(1) << 16;;) {
    map->map_prefix(size_t(std::min<uint64_t>(want, map->size())));
    auto file = std::unique_ptr<GgufFile>(new GgufFile());
    file->map_ = std::move(map);
    try {
      file->parse();
      return file;
    } catch (const NeedMore& m) {
      map = std::move(file->map_);
      want = std::max(want * 4, m.end);
    }
  }
}

void GgufFile::parse() {
  const std::string& path = map_->path();
  const size_t size = map_->size();
  Parser p(map_->data(), map_->mapped(), size, path);

  const uint32_t magic = p.read<uint32_t>();
  if (std::memcmp(&magic, "GGUF", 4) != 0) {
    char shown[5] = {};
    std::memcpy(shown, &magic, 4);
    for (int i = 0; i < 4; ++i) shown[i] = (shown[i] >= 32 && shown[i] < 127) ? shown[i] : '?';
    fail(path, ": not a GGUF file (starts with '", shown, "', expected 'GGUF')");
  }
  version_ = p.read<uint32_t>();
  if (version_ != 2 && version_ != 3) {
    if (version_ == 1) fail(path, ": GGUF version 1 is not supported (only 2 and 3)");
    if ((version_ & 0xffff) == 0)
      fail(path, ": GGUF version ", version_, " looks byte-swapped; big-endian files are not supported");
    fail(path, ": unknown GGUF version ", version_, " (only 2 and 3 are supported)");
  }
  const uint64_t n_tensors = p.read<uint64_t>();
  const uint64_t n_kv = p.read<uint64_t>();
  if (n_tensors > GgufLimits::kMaxTensors)
    fail(path, ": tensor count ", n_tensors, " exceeds the limit of ", GgufLimits::kMaxTensors);
  if (n_kv > GgufLimits::kMaxKeys)
    fail(path, ": metadata key count ", n_kv, " exceeds the limit of ", GgufLimits::kMaxKeys);

  for (uint64_t i = 0; i < n_kv; ++i) {
    p.set_context(cat("metadata key #", i));
    std::string key = p.read_string(GgufLimits::kMaxNameBytes, "key");
    p.set_context(cat("metadata key '", key, "'"));
    if (kv_.count(key)) p.error("duplicate key");
    const GgufValueType t = p.read_type();
    GgufValue v = p.read_value(t, 0);
    key_order_.push_back(key);
    kv_.emplace(std::move(key), std::move(v));
  }

  if (const GgufValue* a = find("general.alignment")) {
    const auto* u = std::get_if<uint64_t>(&a->v);
    if (!u) fail(path, ": metadata key 'general.alignment' must be an unsigned integer");
    if (*u == 0 || (*u & (*u - 1)) != 0 || *u > (1u << 30))
      fail(path, ": metadata key 'general.alignment' is ", *u, " (must be a power of two up to 2^30)");
    alignment_ = *u;
  }

  tensors_.reserve(size_t(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    p.set_context(cat("tensor info #", i));
    GgufTensor t;
    t.name = p.read_string(GgufLimits::kMaxNameBytes, "tensor name");
    p.set_context(cat("tensor '", t.name, "'"));
    if (tensor_index_.count(t.name)) p.error("duplicate tensor name");
    const uint32_t n_dims = p.read<uint32_t>();
    if (n_dims == 0 || n_dims > GgufLimits::kMaxDims)
      p.error(cat("has ", n_dims, " dimensions (1 to ", GgufLimits::kMaxDims, " supported)"));
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne = p.read<uint64_t>();
      if (ne == 0 || ne > uint64_t(std::numeric_limits<int64_t>::max()))
        p.error(cat("dimension ", d, " is ", int64_t(ne), " (must be positive)"));
      t.shape.push_back(int64_t(ne));
    }
    const uint32_t type_id = p.read<uint32_t>();
    const auto info = tensor_type_info(type_id);
    if (!info)
      p.error(cat("unsupported tensor type ", type_id, " (", ggml_type_name_any(type_id),
                  "); supported: ", supported_types_list()));
    t.type = info->type;
    t.offset = p.read<uint64_t>();
    t.size = gguf_tensor_bytes(cat(path, ": tensor '", t.name, "'"), t.type, t.shape);
    if (t.offset % alignment_ != 0)
      p.error(cat("data offset ", t.offset, " is not a multiple of the alignment ", alignment_));
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  // The data section starts at the next alignment boundary; a file without tensors may end
  // right after the header.
  const uint64_t header_end = p.pos();
  const uint64_t data_start = (header_end + alignment_ - 1) / alignment_ * alignment_;
  data_offset_ = size_t(std::min<uint64_t>(data_start, size));
  if (n_tensors > 0 && data_start > size)
    fail(path, ": truncated file: the data section would start at offset ", data_start,
         " but the file is ", size, " bytes");
  const uint64_t avail = size - data_offset_;
  for (auto& t : tensors_) {
    if (t.offset > avail || t.size > avail - t.offset)
      fail(path, ": tensor '", t.name, "' (", t.size, " bytes at data offset ", t.offset,
           ") runs past the end of the file (", avail, " bytes of tensor data)");
    t.file = map_.get();
    t.file_offset = data_offset_ + t.offset;
    if (map_->mapped() == size) t.data = map_->data() + t.file_offset;
  }
}

TensorBytes::TensorBytes(const GgufTensor& t, uint64_t offset, uint64_t size) {
  if (offset > t.size || size > t.size - offset)
    fail("tensor '", t.name, "': bytes [", offset, ", ", offset + size, ") are outside its ", t.size, " bytes");
  if (t.data) {
    p_ = t.data + offset;
    return;
  }
  if (!t.file) fail("tensor '", t.name, "' has no data to read");
  copy_.reset(new uint8_t[size]);
  t.file->read(t.file_offset + offset, copy_.get(), size_t(size));
  p_ = copy_.get();
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

namespace {
[[noreturn]] void wrong_type(const std::string& path, const std::string& key, const GgufValue& v,
                             const char* expected) {
  fail(path, ": metadata key '", key, "' is ", gguf_value_type_name(v.type), ", expected ", expected);
}
}  // namespace

std::string GgufFile::get_string(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) fail(path(), ": missing metadata key '", key, "'");
  if (auto* s = std::get_if<std::string>(&v->v)) return *s;
  wrong_type(path(), key, *v, "a string");
}

uint64_t GgufFile::get_u64(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) fail(path(), ": missing metadata key '", key, "'");
  if (auto* u = std::get_if<uint64_t>(&v->v)) return *u;
  if (auto* i = std::get_if<int64_t>(&v->v); i && *i >= 0) return uint64_t(*i);
  wrong_type(path(), key, *v, "a non-negative integer");
}

int64_t GgufFile::get_i64(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) fail(path(), ": missing metadata key '", key, "'");
  if (auto* i = std::get_if<int64_t>(&v->v)) return *i;
  if (auto* u = std::get_if<uint64_t>(&v->v); u && *u <= uint64_t(std::numeric_limits<int64_t>::max()))
    return int64_t(*u);
  wrong_type(path(), key, *v, "an integer");
}

double GgufFile::get_f64(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) fail(path(), ": missing metadata key '", key, "'");
  if (auto* d = std::get_if<double>(&v->v)) return *d;
  if (auto* u = std::get_if<uint64_t>(&v->v)) return double(*u);
  if (auto* i = std::get_if<int64_t>(&v->v)) return double(*i);
  wrong_type(path(), key, *v, "a number");
}

bool GgufFile::get_bool(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) fail(path(), ": missing metadata key '", key, "'");
  if (auto* b = std::get_if<bool>(&v->v)) return *b;
  wrong_type(path(), key, *v, "a bool");
}

std::string GgufFile::get_string(const std::string& key, const std::string& fallback) const {
  return has(key) ? get_string(key) : fallback;
}
uint64_t GgufFile::get_u64(const std::string& key, uint64_t fallback) const {
  return has(key) ? get_u64(key) : fallback;
}
double GgufFile::get_f64(const std::string& key, double fallback) const {
  return has(key) ? get_f64(key) : fallback;
}
bool GgufFile::get_bool(const std::string& key, bool fallback) const {
  return has(key) ? get_bool(key) : fallback;
}

namespace {
const GgufValue::Array& get_array(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.find(key);
  if (!v) fail(f.path(), ": missing metadata key '", key, "'");
  if (auto* a = std::get_if<GgufValue::Array>(&v->v)) return *a;
  wrong_type(f.path(), key, *v, "an array");
}
[[noreturn]] void wrong_item(const GgufFile& f, const std::string& key, const GgufValue::Array& a,
                             const char* expected) {
  fail(f.path(), ": metadata key '", key, "' is an array of ", gguf_value_type_name(a.type),
       ", expected an array of ", expected);
}
}  // namespace

std::vector<std::string> GgufFile::get_string_array(const std::string& key) const {
  const auto& a = get_array(*this, key);
  if (a.type != GgufValueType::STRING) wrong_item(*this, key, a, "strings");
  std::vector<std::string> out;
  out.reserve(a.items.size());
  for (const auto& item : a.items) out.push_back(std::get<std::string>(item.v));
  return out;
}

std::vector<double> GgufFile::get_f64_array(const std::string& key) const {
  const auto& a = get_array(*this, key);
  std::vector<double> out;
  out.reserve(a.items.size());
  for (const auto& item : a.items) {
    if (auto* d = std::get_if<double>(&item.v)) out.push_back(*d);
    else if (auto* u = std::get_if<uint64_t>(&item.v)) out.push_back(double(*u));
    else if (auto* i = std::get_if<int64_t>(&item.v)) out.push_back(double(*i));
    else wrong_item(*this, key, a, "numbers");
  }
  return out;
}

std::vector<int64_t> GgufFile::get_i64_array(const std::string& key) const {
  const auto& a = get_array(*this, key);
  std::vector<int64_t> out;
  out.reserve(a.items.size());
  for (const auto& item : a.items) {
    if (auto* i = std::get_if<int64_t>(&item.v)) out.push_back(*i);
    else if (auto* u = std::get_if<uint64_t>(&item.v); u && *u <= uint64_t(std::numeric_limits<int64_t>::max()))
      out.push_back(int64_t(*u));
    else wrong_item(*this, key, a, "integers");
  }
  return out;
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensor& GgufFile::tensor(const std::string& name) const {
  if (const GgufTensor* t = find_tensor(name)) return *t;
  fail(path(), ": missing tensor '", name, "'");
}

}  // namespace wgllm
