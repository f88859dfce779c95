// GGUF v3 writer. The header is built in memory; tensor data is streamed to a temporary file
// beside the target with large writes, then renamed over it, so a failure (full disk, a throwing
// fill callback) never leaves a half-written model behind.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "format/gguf.h"
#include "util/error.h"

namespace wgllm {
namespace {

class ByteSink {
 public:
  std::vector<uint8_t> bytes;
  template <typename T>
  void put(T v) {
    const size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(bytes.data() + at, &v, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void pad_to(uint64_t alignment) { bytes.resize((bytes.size() + alignment - 1) / alignment * alignment, 0); }
};

// Writes one value's payload (its type tag is written by the caller).
void put_value(ByteSink& out, const std::string& key, const GgufValue& v) {
  auto bad = [&] { fail("GGUF writer: metadata key '", key, "': value does not match its type ", gguf_value_type_name(v.type)); };
  auto as_u = [&] {
    if (auto* u = std::get_if<uint64_t>(&v.v)) return *u;
    if (auto* i = std::get_if<int64_t>(&v.v)) return uint64_t(*i);
    bad();
    return uint64_t(0);
  };
  auto as_f = [&] {
    if (auto* d = std::get_if<double>(&v.v)) return *d;
    bad();
    return 0.0;
  };
  switch (v.type) {
    case GgufValueType::U8: case GgufValueType::I8: out.put(uint8_t(as_u())); break;
    case GgufValueType::U16: case GgufValueType::I16: out.put(uint16_t(as_u())); break;
    case GgufValueType::U32: case GgufValueType::I32: out.put(uint32_t(as_u())); break;
    case GgufValueType::U64: case GgufValueType::I64: out.put(as_u()); break;
    case GgufValueType::F32: out.put(float(as_f())); break;
    case GgufValueType::F64: out.put(as_f()); break;
    case GgufValueType::BOOL: {
      auto* b = std::get_if<bool>(&v.v);
      if (!b) bad();
      out.put(uint8_t(*b ? 1 : 0));
      break;
    }
    case GgufValueType::STRING: {
      auto* s = std::get_if<std::string>(&v.v);
      if (!s) bad();
      out.put_string(*s);
      break;
    }
    case GgufValueType::ARRAY: {
      auto* a = std::get_if<GgufValue::Array>(&v.v);
      if (!a) bad();
      out.put(uint32_t(a->type));
      out.put<uint64_t>(a->items.size());
      for (const auto& item : a->items) {
        if (item.type != a->type)
          fail("GGUF writer: metadata key '", key, "': array of ", gguf_value_type_name(a->type),
               " holds a ", gguf_value_type_name(item.type));
        put_value(out, key, item);
      }
      break;
    }
    default: bad();
  }
}

void write_all(int fd, const uint8_t* p, size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n > (size_t(1) << 30) ? (size_t(1) << 30) : n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(path, ": write failed: ", std::strerror(errno));
    }
    p += w, n -= size_t(w);
  }
}

GgufValue scalar(GgufValueType t, std::variant<uint64_t, int64_t, double, bool, std::string, GgufValue::Array> v) {
  GgufValue out;
  out.type = t;
  out.v = std::move(v);
  return out;
}

}  // namespace

void GgufWriter::set(const std::string& key, GgufValue value) {
  for (auto& kv : kv_) {
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  }
  kv_.emplace_back(key, std::move(value));
}

void GgufWriter::set_string(const std::string& k, const std::string& v) { set(k, scalar(GgufValueType::STRING, v)); }
void GgufWriter::set_u32(const std::string& k, uint32_t v) { set(k, scalar(GgufValueType::U32, uint64_t(v))); }
void GgufWriter::set_i32(const std::string& k, int32_t v) { set(k, scalar(GgufValueType::I32, int64_t(v))); }
void GgufWriter::set_u64(const std::string& k, uint64_t v) { set(k, scalar(GgufValueType::U64, v)); }
void GgufWriter::set_f32(const std::string& k, float v) { set(k, scalar(GgufValueType::F32, double(v))); }
void GgufWriter::set_bool(const std::string& k, bool v) { set(k, scalar(GgufValueType::BOOL, v)); }

void GgufWriter::set_string_array(const std::string& k, const std::vector<std::string>& v) {
  GgufValue::Array a{GgufValueType::STRING, {}};
  a.items.reserve(v.size());
  for (const auto& s : v) a.items.push_back(scalar(GgufValueType::STRING, s));
  set(k, scalar(GgufValueType::ARRAY, std::move(a)));
}
void GgufWriter::set_f32_array(const std::string& k, const std::vector<float>& v) {
  GgufValue::Array a{GgufValueType::F32, {}};
  a.items.reserve(v.size());
  for (float f : v) a.items.push_back(scalar(GgufValueType::F32, double(f)));
  set(k, scalar(GgufValueType::ARRAY, std::move(a)));
}
void GgufWriter::set_i32_array(const std::string& k, const std::vector<int32_t>& v) {
  GgufValue::Array a{GgufValueType::I32, {}};
  a.items.reserve(v.size());
  for (int32_t i : v) a.items.push_back(scalar(GgufValueType::I32, int64_t(i)));
  set(k, scalar(GgufValueType::ARRAY, std::move(a)));
}

void GgufWriter::add_pending(Pending p) {
  for (const auto& t : tensors_) {
    if (t.name == p.name) fail("GGUF writer: duplicate tensor '", p.name, "'");
  }
  if (p.name.size() > GgufLimits::kMaxNameBytes) fail("GGUF writer: tensor name too long: '", p.name, "'");
  p.size = gguf_tensor_bytes(cat("GGUF writer: tensor '", p.name, "'"), p.type, p.shape);
  tensors_.push_back(std::move(p));
}

void GgufWriter::add_tensor(const std::string& name, TensorType type, std::vector<int64_t> shape,
                            std::vector<uint8_t> bytes) {
  Pending p{name, type, std::move(shape), 0, std::move(bytes), {}};
  const size_t got = p.bytes.size();
  add_pending(std::move(p));
  if (got != tensors_.back().size) {
    const uint64_t want = tensors_.back().size;
    tensors_.pop_back();
    fail("GGUF writer: tensor '", name, "' has ", got, " bytes, its shape and type need ", want);
  }
}

void GgufWriter::add_tensor(const std::string& name, TensorType type, std::vector<int64_t> shape,
                            std::function<void(uint8_t* dst)> fill) {
  if (!fill) fail("GGUF writer: tensor '", name, "' has no fill function");
  add_pending(Pending{name, type, std::move(shape), 0, {}, std::move(fill)});
}

void GgufWriter::write(const std::string& path) const {
  uint64_t alignment = 32;
  for (const auto& [key, v] : kv_) {
    if (key != "general.alignment") continue;
    const auto* u = std::get_if<uint64_t>(&v.v);
    if (!u || *u == 0 || (*u & (*u - 1)) != 0 || *u > (1u << 30))
      fail("GGUF writer: general.alignment must be an unsigned power of two up to 2^30");
    alignment = *u;
  }

  ByteSink head;
  head.put<uint32_t>(0x46554747);  // "GGUF" little-endian
  head.put<uint32_t>(3);
  head.put<uint64_t>(tensors_.size());
  head.put<uint64_t>(kv_.size());
  for (const auto& [key, v] : kv_) {
    head.put_string(key);
    head.put(uint32_t(v.type));
    put_value(head, key, v);
  }
  uint64_t offset = 0, largest_lazy = 0;
  for (const auto& t : tensors_) {
    head.put_string(t.name);
    head.put<uint32_t>(uint32_t(t.shape.size()));
    for (int64_t d : t.shape) head.put<uint64_t>(uint64_t(d));
    head.put(uint32_t(t.type));
    head.put<uint64_t>(offset);
    offset += (t.size + alignment - 1) / alignment * alignment;
    if (t.fill) largest_lazy = std::max(largest_lazy, t.size);
  }
  if (!tensors_.empty()) head.pad_to(alignment);

  std::string tmp = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) fail(path, ": cannot create a temporary file beside it: ", std::strerror(errno));
  try {
    ::fchmod(fd, 0644);
    write_all(fd, head.bytes.data(), head.bytes.size(), path);
    std::vector<uint8_t> buffer(size_t(largest_lazy) + alignment);
    static const uint8_t zeros[4096] = {};
    for (const auto& t : tensors_) {
      if (t.fill) {
        t.fill(buffer.data());
        write_all(fd, buffer.data(), size_t(t.size), path);
      } else {
        write_all(fd, t.bytes.data(), t.bytes.size(), path);
      }
      const size_t pad = size_t((alignment - t.size % alignment) % alignment);
      for (size_t done = 0; done < pad;) {
        const size_t n = std::min(pad - done, sizeof zeros);
        write_all(fd, zeros, n, path);
        done += n;
      }
    }
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    fail(path, ": close failed: ", std::strerror(e));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    fail(path, ": cannot rename the temporary file into place: ", std::strerror(e));
  }
}

}  // namespace wgllm
