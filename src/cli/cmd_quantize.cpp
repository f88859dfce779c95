// `wgllm quantize IN.gguf OUT.gguf TYPE`: requantizes every tensor with llama.cpp's mix for TYPE
// (see format/quant_mix.h) and copies the metadata (general.file_type updated).
#include <cstdio>
#include <string>

#include "cli/command.h"
#include "cli/option_checks.h"
#include "format/quantize.h"
#include "util/error.h"

namespace wgllm::cli {
namespace {

struct QuantizeArgs {
  std::string in, out, type;
  int threads = 0;
};

void run_quantize(const QuantizeArgs& a) {
  const FileType ft = find_file_type(a.type);
  const QuantizeResult r = quantize_gguf(a.in, a.out, ft, a.threads);
  std::fprintf(stderr, "wrote %s: %s, tensor data %.1f MiB -> %.1f MiB (", a.out.c_str(),
               std::string(file_type_name(ft)).c_str(), double(r.in_bytes) / (1 << 20),
               double(r.out_bytes) / (1 << 20));
  const char* sep = "";
  for (const auto& [type, n] : r.tensors_per_type) {
    std::fprintf(stderr, "%s%d %s", sep, n, std::string(tensor_type_name(type)).c_str());
    sep = ", ";
  }
  std::fprintf(stderr, ")\n");
}

Command quantize_command("quantize", "Requantize a GGUF model (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, F16, BF16, Q4_K_M, Q5_K_M, Q6_K)",
                         [](CLI::App& sub) {
  auto args = std::make_shared<QuantizeArgs>();
  sub.add_option("input", args->in, "Input GGUF file")->required();
  sub.add_option("output", args->out, "Output GGUF file (written atomically)")->required();
  sub.add_option("type", args->type, "Target type: " + file_type_names())->required();
  sub.add_option("-t,--threads", args->threads, "Worker threads (0: all cores)")->capture_default_str()->check(in_range(0));
  sub.callback([args] { run_quantize(*args); });
});

}  // namespace
}  // namespace wgllm::cli
