#include "gpu/elf_symbols.h"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <vector>

#include "util/error.h"

namespace wgllm::gpu {
namespace {

// Copies a T out of the file image at `offset`, after checking it lies inside.
template <typename T>
T read_at(const std::vector<char>& image, uint64_t offset, const std::string& path, const char* what) {
  if (offset > image.size() || image.size() - offset < sizeof(T))
    fail(path, ": ", what, " at offset ", offset, " runs past the end of the file (", image.size(), " bytes)");
  T value;
  std::memcpy(&value, image.data() + offset, sizeof(T));
  return value;
}

}  // namespace

std::unordered_map<std::string, uint64_t> elf_function_symbols(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open to read its symbol table");
  const std::vector<char> image((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  const auto header = read_at<Elf64_Ehdr>(image, 0, path, "ELF header");
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_ident[EI_DATA] != ELFDATA2LSB)
    fail(path, ": not a 64-bit little-endian ELF file");
  if (header.e_shentsize != sizeof(Elf64_Shdr)) fail(path, ": unexpected ELF section header size ", header.e_shentsize);

  std::unordered_map<std::string, uint64_t> out;
  for (uint32_t s = 0; s < header.e_shnum; ++s) {
    const auto table = read_at<Elf64_Shdr>(image, header.e_shoff + uint64_t(s) * sizeof(Elf64_Shdr), path, "section header");
    if (table.sh_type != SHT_SYMTAB) continue;
    if (table.sh_link >= header.e_shnum) fail(path, ": .symtab names string table ", table.sh_link, " of ", header.e_shnum);
    const auto strings =
        read_at<Elf64_Shdr>(image, header.e_shoff + uint64_t(table.sh_link) * sizeof(Elf64_Shdr), path, "section header");
    if (strings.sh_offset > image.size() || image.size() - strings.sh_offset < strings.sh_size)
      fail(path, ": the symbol string table runs past the end of the file");
    const uint64_t count = table.sh_size / sizeof(Elf64_Sym);
    for (uint64_t i = 0; i < count; ++i) {
      const auto sym = read_at<Elf64_Sym>(image, table.sh_offset + i * sizeof(Elf64_Sym), path, ".symtab entry");
      if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_value == 0 || sym.st_shndx == SHN_UNDEF) continue;
      if (sym.st_name >= strings.sh_size) fail(path, ": .symtab entry ", i, " names offset ", sym.st_name, " past its string table");
      const char* name = image.data() + strings.sh_offset + sym.st_name;
      const size_t length = ::strnlen(name, strings.sh_size - sym.st_name);
      out.emplace(std::string(name, length), sym.st_value);
    }
  }
  return out;
}

}  // namespace wgllm::gpu
