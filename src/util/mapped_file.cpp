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
  // The browser's files (WORKERFS) cannot be mapped: read the whole file into the heap instead.
  if (size_ > 0) {
    auto* buf = static_cast<uint8_t*>(std::malloc(size_));
    if (!buf) {
      ::close(fd);
      fail(path, ": not enough memory to read its ", size_, " bytes into the WebAssembly heap");
    }
    for (size_t done = 0; done < size_;) {
      const ssize_t n = ::read(fd, buf + done, size_ - done);
      if (n <= 0) {
        const int e = errno;
        std::free(buf);
        ::close(fd);
        fail(path, ": cannot read: ", n == 0 ? "unexpected end of file" : std::strerror(e));
      }
      done += size_t(n);
    }
    data_ = buf;
  }
#else
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      fail(path, ": cannot map: ", std::strerror(e));
    }
    data_ = static_cast<const uint8_t*>(p);
  }
#endif
  ::close(fd);
}

MappedFile::~MappedFile() {
#ifdef __EMSCRIPTEN__
  std::free(const_cast<uint8_t*>(data_));
#else
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
#endif
}

}  // namespace wgllm
