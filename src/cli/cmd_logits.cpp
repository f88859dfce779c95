// `wgllm logits -m MODEL --tokens 1,2,3 [--backend cpu] --out F`: runs the tokens through the
// model and writes the logits of every position as little-endian float32, [n_tokens x n_vocab].
// Used to compare backends (and llama.cpp) position by position.
#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

#include "cli/command.h"
#include "model/demo_model.h"
#include "reference/backend.h"
#include "runtime/webgpu_backend.h"
#include "cli/gpu_options.h"
#include "util/error.h"

namespace wgllm::cli {
namespace {

struct LogitsArgs {
  std::string model, tokens, out, backend = "cpu";
  gpu::ContextOptions gpu;
};

std::vector<int> parse_tokens(const std::string& list) {
  std::vector<int> ids;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string item = list.substr(start, comma - start);
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 0 || v > (1L << 30))
      fail("--tokens: '", item, "' is not a token id (expected a comma-separated list like 1,2,3)");
    ids.push_back(int(v));
    start = comma + 1;
  }
  return ids;
}

void logits(const LogitsArgs& a) {
  const std::vector<int> ids = parse_tokens(a.tokens);
  BackendOptions options;
  options.max_context = int(ids.size());
  runtime::register_webgpu_backend(a.gpu);
  std::unique_ptr<Backend> backend = open_backend(a.backend, a.model, options);
  const std::vector<float> all = backend->eval(ids, true);
  std::ofstream out(a.out, std::ios::binary);
  if (!out) fail("cannot write ", a.out);
  static_assert(std::endian::native == std::endian::little, "logits are written little-endian");
  out.write(reinterpret_cast<const char*>(all.data()), std::streamsize(all.size() * sizeof(float)));
  if (!out) fail("error writing ", a.out);
  std::fprintf(stderr, "wrote %s: %zu positions x %d vocab (float32, %s backend)\n", a.out.c_str(), ids.size(),
               backend->config().vocab_size, backend->name().c_str());
}

Command logits_command("logits", "Write every position's logits for a token list (float32 LE)", [](CLI::App& sub) {
  auto a = std::make_shared<LogitsArgs>();
  sub.add_option("-m,--model", a->model, "GGUF model (default: the built-in demo model)");
  sub.add_option("--tokens", a->tokens, "Comma-separated token ids, e.g. 1,2,3")->required();
  sub.add_option("--backend", a->backend, "Backend: cpu (the reference) or webgpu")->capture_default_str();
  add_gpu_options(sub, a->gpu);
  sub.add_option("--out", a->out, "Output file: n_tokens x n_vocab float32")->required();
  sub.callback([a] {
    a->model = model_or_demo(a->model);
    logits(*a);
  });
});

}  // namespace
}  // namespace wgllm::cli
