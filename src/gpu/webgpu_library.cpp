// Loads a webgpu.h implementation with dlopen and resolves every function wgllm uses.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <vector>

#include "gpu/webgpu_api.h"
#include "util/error.h"

#ifndef WGLLM_DEFAULT_WEBGPU_LIB
#define WGLLM_DEFAULT_WEBGPU_LIB ""
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
  std::string missing;
#define WGLLM_RESOLVE_FN(name, ret, params)                                  \
  loaded.name = reinterpret_cast<ret(*) params>(::dlsym(handle, #name));     \
  if (!loaded.name) missing += cat(" ", #name);
  WGLLM_WEBGPU_FUNCTIONS(WGLLM_RESOLVE_FN)
#undef WGLLM_RESOLVE_FN
  if (!missing.empty())
    fail(loaded_from, ": not a compatible webgpu.h library; missing functions:", missing);
  api = loaded;
  api.library_path = loaded_from;
  api.features = ::dlsym(handle, "wgpuGetInstanceFeatures") ? kFeatureIdsLate2025 : kFeatureIdsEarly2025;
  return api;
}

}  // namespace wgllm::gpu
