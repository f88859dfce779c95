// libFuzzer target for the GGUF reader (scripts/fuzz builds it with clang, ASan and UBSan and runs
// it for a fixed time from a corpus of generated models). Any input must either open as a valid
// file whose every tensor lies inside it, or raise wgllm::Error — never crash, hang or read outside
// the file. The reader only opens paths, so each input goes through a file in /dev/shm.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "format/gguf.h"
#include "util/error.h"

namespace {

const std::string& scratch_path() {
  static const std::string path = "/dev/shm/wgllm-gguf-fuzz-" + std::to_string(::getpid()) + ".gguf";
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = scratch_path();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  try {
    const std::unique_ptr<wgllm::GgufFile> gguf = wgllm::GgufFile::open(path);
    // A file that opened must describe tensors that lie inside it: touch every byte's ends.
    for (const wgllm::GgufTensor& t : gguf->tensors()) {
      if (t.size == 0) continue;
      const wgllm::TensorBytes bytes(t, 0, t.size);
      volatile uint8_t first = bytes.data()[0], last = bytes.data()[t.size - 1];
      (void)first;
      (void)last;
    }
  } catch (const wgllm::Error&) {
    // Rejected with a message: what a hostile or truncated file must get.
  }
  return 0;
}
