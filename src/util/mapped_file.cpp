#include "util/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/error.h"

namespace wgllm {

static_assert(sizeof(off_t) == 8, "pread needs 64-bit offsets for files over 2 GiB");

MappedFile::MappedFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    fail(path, ": cannot stat: ", std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, ": not a regular file");
  }
  size_ = size_t(st.st_size);
#ifdef __EMSCRIPTEN__
  // The browser's files (WORKERFS, read in place from the File) cannot be mapped: nothing is in
  // the heap until map_prefix or read asks for it.
  fd_ = fd;
#else
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      fail(path, ": cannot map: ", std::strerror(e));
    }
    data_ = static_cast<const uint8_t*>(p);
    mapped_ = size_;
  }
  ::close(fd);
#endif
}

MappedFile::~MappedFile() {
#ifdef __EMSCRIPTEN__
  std::free(const_cast<uint8_t*>(data_));
  ::close(fd_);
#else
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
#endif
}

void MappedFile::map_prefix(size_t n) {
  n = n < size_ ? n : size_;
  if (n <= mapped_) return;
  auto* buf = static_cast<uint8_t*>(std::malloc(n));
  if (!buf) fail(path_, ": not enough memory for its first ", n, " bytes");
  try {
    read(0, buf, n);
  } catch (...) {
    std::free(buf);
    throw;
  }
  std::free(const_cast<uint8_t*>(data_));
  data_ = buf;
  mapped_ = n;
}

void MappedFile::read(uint64_t offset, void* dst, size_t n) const {
  if (offset > size_ || n > size_ - offset)
    fail(path_, ": cannot read ", n, " bytes at offset ", offset, ": the file is ", size_, " bytes");
  if (n == 0) return;
  if (offset + n <= mapped_) {
    std::memcpy(dst, data_ + offset, n);
    return;
  }
  for (size_t done = 0; done < n;) {
    const ssize_t got = ::pread(fd_, static_cast<uint8_t*>(dst) + done, n - done, off_t(offset + done));
    if (got <= 0) fail(path_, ": cannot read: ", got == 0 ? "unexpected end of file" : std::strerror(errno));
    done += size_t(got);
  }
}

}  // namespace wgllm
