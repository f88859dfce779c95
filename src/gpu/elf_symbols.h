// Function symbols from a shared library's full symbol table (.symtab), local ones included.
//
// Why: Dawn inside npm `webgpu`'s Node addon (dawn.node) keeps its webgpu.h functions but does
// not export them; the addon is not stripped, so their offsets are in .symtab. dlsym sees only
// the exported (.dynsym) ones.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>

namespace wgllm::gpu {

// Name -> offset from the library's load base, for every defined STT_FUNC symbol of an ELF64
// little-endian file. Empty when the file has no .symtab (stripped). Throws wgllm::Error naming
// the file when it is not such an ELF file or a table runs past its end.
std::unordered_map<std::string, uint64_t> elf_function_symbols(const std::string& path);

}  // namespace wgllm::gpu
