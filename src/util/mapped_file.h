// A read-only memory map of a whole file (RAII). Errors name the file.
// In the browser (Emscripten) files cannot be mapped and the WebAssembly heap holds at most 4 GiB,
// so there only a prefix (map_prefix) is in memory and the rest is read on demand (read).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace wgllm {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Bytes [0, mapped()) are at data(): the whole file natively, a prefix in the browser.
  const uint8_t* data() const { return data_; }
  size_t mapped() const { return mapped_; }
  size_t size() const { return size_; }  // of the file
  const std::string& path() const { return path_; }

  // Makes at least the first min(n, size()) bytes available at data() (natively they all are).
  void map_prefix(size_t n);
  // Copies bytes [offset, offset + n) of the file to dst; an Error names the file if they run
  // past its end or cannot be read.
  void read(uint64_t offset, void* dst, size_t n) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t mapped_ = 0;
  size_t size_ = 0;
  int fd_ = -1;  // browser only: kept open for read()
};

}  // namespace wgllm
