// The .symtab reader on a real ELF file (this test binary) and on broken ones.
#include "gpu/elf_symbols.h"

#include <dlfcn.h>
#include <link.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <vector>

#include "util/error.h"

extern "C" __attribute__((noinline, used)) int wgllm_elf_test_marker(int x) { return 3 * x + 1; }

namespace wgllm::gpu {
namespace {

std::string self_path() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, size_t(n)) : "";
}

std::string error_of(const std::string& path) {
  try {
    elf_function_symbols(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string write_file(const std::string& name, const std::vector<char>& bytes) {
  const std::string path = testing::TempDir() + name;
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  return path;
}

TEST(ElfSymbols, FindsALocalFunctionAtItsLoadedAddress) {
  const auto symbols = elf_function_symbols(self_path());
  ASSERT_TRUE(symbols.count("wgllm_elf_test_marker"));
  link_map* map = nullptr;
  void* self = ::dlopen(nullptr, RTLD_NOW);
  ASSERT_EQ(::dlinfo(self, RTLD_DI_LINKMAP, &map), 0);
  const uintptr_t address = map->l_addr + symbols.at("wgllm_elf_test_marker");
  EXPECT_EQ(address, reinterpret_cast<uintptr_t>(&wgllm_elf_test_marker));
  EXPECT_EQ(reinterpret_cast<int (*)(int)>(address)(5), 16);
  EXPECT_TRUE(symbols.count("main"));
}

TEST(ElfSymbols, RejectsBrokenFilesNamingThem) {
  std::ifstream in(self_path(), std::ios::binary);
  std::vector<char> image((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(image.size(), 4096u);
  // Cut inside the section headers (at the end of the file): a header runs past the end.
  const std::string cut = write_file("/cut.so", std::vector<char>(image.begin(), image.end() - 100));
  EXPECT_NE(error_of(cut).find(cut + ": "), std::string::npos) << error_of(cut);
  EXPECT_NE(error_of(cut).find("runs past the end of the file"), std::string::npos) << error_of(cut);
  std::mt19937 rng(11);
  std::vector<char> noise(8192);
  for (char& c : noise) c = char(rng());
  const std::string junk = write_file("/junk.so", noise);
  EXPECT_EQ(error_of(junk), junk + ": not a 64-bit little-endian ELF file");
  EXPECT_EQ(error_of("/nonexistent/x.so"), "/nonexistent/x.so: cannot open to read its symbol table");
}

}  // namespace
}  // namespace wgllm::gpu
