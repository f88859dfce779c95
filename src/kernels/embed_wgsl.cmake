# Generates a C++ file holding every .wgsl file of src/kernels as a string, so the engine (native
# and WebAssembly) carries its kernels with it. Run by CMake at build time.
#   -DOUT=<file.cpp> -DSOURCES=<a.wgsl;b.wgsl>
set(body "// Generated from src/kernels/*.wgsl by embed_wgsl.cmake. Do not edit.\n#include <string_view>\n#include <utility>\n#include \"util/error.h\"\nnamespace wgllm::kernels {\nnamespace {\nconstexpr std::pair<std::string_view, std::string_view> kSources[] = {\n")
foreach(src ${SOURCES})
  get_filename_component(name ${src} NAME)
  file(READ ${src} text)
  set(body "${body}  {\"${name}\", R\"wgsl_embed(${text})wgsl_embed\"},\n")
endforeach()
set(body "${body}  {\"\", \"\"}};\n}  // namespace\nstd::string_view kernel_source(std::string_view file_name) {\n  for (auto& [name, text] : kSources)\n    if (name == file_name) return text;\n  fail(\"no embedded kernel source named '\", file_name, \"'\");\n}\n}  // namespace wgllm::kernels\n")
file(WRITE ${OUT}.tmp "${body}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
