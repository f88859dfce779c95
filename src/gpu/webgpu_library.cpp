// Loads a webgpu.h implementation with dlopen and resolves every function wgllm uses: a
// library that exports webgpu.h (Dawn's libwebgpu_dawn, wgpu-native), or the Dawn compiled into
// npm `webgpu`'s Node addon (dawn.node), whose webgpu.h functions are local symbols.
#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <vector>

#include "gpu/elf_symbols.h"
#include "gpu/webgpu_api.h"
#include "util/error.h"

#ifndef WGLLM_DEFAULT_WEBGPU_LIB
#define WGLLM_DEFAULT_WEBGPU_LIB ""
#endif
#ifndef WGLLM_NODE_API_STUBS
#define WGLLM_NODE_API_STUBS ""
#endif

namespace wgllm::gpu {
namespace {

std::string executable_dir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string path(buf, size_t(n));
  return path.substr(0, path.find_last_of('/'));
}

std::vector<std::string> candidates(const std::string& explicit_path) {
  if (!explicit_path.empty()) return {explicit_path};
  if (const char* env = std::getenv("WGLLM_WEBGPU_LIB"); env && *env) return {env};
  return {
      executable_dir() + "/../third_party/dawn/libwebgpu_wrapper.so",  // build/ beside the source
      WGLLM_DEFAULT_WEBGPU_LIB,                                         // the source tree at build time
      "libwebgpu_dawn.so",
      "libwgpu_native.so",
  };
}

// A Node addon binds Node-API functions at load: node_api_stubs.cpp provides them (as traps).
void load_node_api_stubs(const std::string& addon) {
  std::string tried;
  for (const std::string& path : {executable_dir() + "/libwgllm_node_api_stubs.so", std::string(WGLLM_NODE_API_STUBS)}) {
    if (path.empty()) continue;
    if (::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL)) return;
    tried += cat("\n  ", path, ": ", ::dlerror());
  }
  fail(addon, " is a Node addon and needs wgllm's Node-API stand-ins (built as libwgllm_node_api_stubs.so by "
       "scripts/build); none could be loaded. Tried:", tried);
}

// Resolves names dlsym cannot see from the library's own .symtab (read once, on first need).
class LocalSymbols {
 public:
  LocalSymbols(void* handle, std::string path) : handle_(handle), path_(std::move(path)) {}
  void* find(const char* name) {
    if (void* exported = ::dlsym(handle_, name)) return exported;
    if (!read_) {
      read_ = true;
      link_map* map = nullptr;
      if (::dlinfo(handle_, RTLD_DI_LINKMAP, &map) == 0 && map) base_ = map->l_addr, symbols_ = elf_function_symbols(path_);
    }
    const auto it = symbols_.find(name);
    if (it == symbols_.end()) return nullptr;
    used_ = true;
    return reinterpret_cast<void*>(base_ + it->second);
  }
  // Dawn's local wgpu* functions are dawn_proc thunks that call through a table: point it at
  // Dawn's native implementation, as the addon's own initialisation (never run here) would.
  void install_dawn_procs() {
    if (!used_) return;
    auto get_procs = reinterpret_cast<const void* (*)()>(find("_ZN4dawn6native8GetProcsEv"));  // dawn::native::GetProcs()
    auto set_procs = reinterpret_cast<void (*)(const void*)>(find("dawnProcSetProcs"));
    if (!get_procs || !set_procs) fail(path_, ": its webgpu.h functions are local and it has no Dawn proc table to route them to");
    set_procs(get_procs());
  }

 private:
  void* handle_;
  std::string path_;
  bool read_ = false, used_ = false;
  uintptr_t base_ = 0;
  std::unordered_map<std::string, uint64_t> symbols_;
};

}  // namespace

const WebGpuApi& load_webgpu(const std::string& explicit_path) {
  static std::mutex mutex;
  static WebGpuApi api;
  static std::string loaded_from;
  std::lock_guard<std::mutex> lock(mutex);
  if (api.wgpuCreateInstance) return api;

  std::string tried;
  void* handle = nullptr;
  for (const auto& path : candidates(explicit_path)) {
    if (path.empty()) continue;
    if (is_node_addon(path)) load_node_api_stubs(path);
    handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle) {
      loaded_from = path;
      break;
    }
    tried += cat("\n  ", path, ": ", ::dlerror());
  }
  if (!handle)
    fail("no webgpu.h library could be loaded. Tried:", tried,
         "\nRun scripts/setup (it installs Dawn into third_party/dawn), or point --webgpu-lib / "
         "WGLLM_WEBGPU_LIB at a webgpu.h implementation (a Dawn or wgpu-native shared library).");

  WebGpuApi loaded;
  LocalSymbols symbols(handle, loaded_from);
  std::string missing;
#define WGLLM_RESOLVE_FN(name, ret, params)                                  \
  loaded.name = reinterpret_cast<ret(*) params>(symbols.find(#name));        \
  if (!loaded.name) missing += cat(" ", #name);
  WGLLM_WEBGPU_FUNCTIONS(WGLLM_RESOLVE_FN)
#undef WGLLM_RESOLVE_FN
  if (!missing.empty())
    fail(loaded_from, ": not a compatible webgpu.h library; missing functions:", missing);
  symbols.install_dawn_procs();
  api = loaded;
  api.library_path = loaded_from;
  api.features = symbols.find("wgpuGetInstanceFeatures") ? kFeatureIdsLate2025 : kFeatureIdsEarly2025;
  return api;
}

}  // namespace wgllm::gpu
