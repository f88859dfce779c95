#include "model/demo_model.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "util/error.h"

namespace wgllm {
namespace fs = std::filesystem;

std::string demo_model_path() {
  if (const char* env = std::getenv("WGLLM_DEMO_MODEL"); env && *env) {
    if (!fs::exists(env)) fail("WGLLM_DEMO_MODEL names ", env, ", which does not exist");
    return env;
  }
  std::vector<fs::path> candidates;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path dir = exe.parent_path();
    candidates.push_back(dir.parent_path() / "models" / kDemoModelFile);          // build/wgllm
    candidates.push_back(dir.parent_path() / "share/wgllm/models" / kDemoModelFile);  // prefix/bin/wgllm
    candidates.push_back(dir.parent_path().parent_path() / "models" / kDemoModelFile);  // build/src/x/test
  }
#ifdef WGLLM_MODELS_DIR
  candidates.push_back(fs::path(WGLLM_MODELS_DIR) / kDemoModelFile);
#endif
  std::string looked;
  for (const fs::path& p : candidates) {
    if (fs::exists(p)) return fs::weakly_canonical(p).string();
    looked += "\n  " + p.string();
  }
  fail("no -m given and the built-in demo model ", kDemoModelFile, " was not found; looked in:", looked,
       "\n(set WGLLM_DEMO_MODEL or pass -m MODEL.gguf)");
}

std::string model_or_demo(const std::string& model) {
  if (!model.empty()) return model;
  const std::string path = demo_model_path();
  std::fprintf(stderr, "wgllm: no -m given: using the built-in demo model %s (a 12.6M-parameter Llama trained on "
                       "the King James Bible)\n", path.c_str());
  return path;
}

}  // namespace wgllm
