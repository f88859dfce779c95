// `wgllm convert HF_DIR -o out.gguf [--outtype f32|f16|bf16] [--quant T]`: a Hugging Face model
// folder (config.json, safetensors, tokenizer files) to one GGUF file (see convert/convert.h and
// docs/convert.md).
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/command.h"
#include "cli/option_checks.h"
#include "convert/convert.h"
#include "format/tensor_types.h"
#include "util/error.h"

namespace wgllm::cli {
namespace {

struct ConvertArgs {
  std::string dir, out;
  ConvertOptions options;
};

void run_convert(const ConvertArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  const ConvertResult r = convert_hf_to_gguf(a.dir, a.out, a.options);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const std::string& w : r.warnings) std::fprintf(stderr, "wgllm: warning: %s\n", w.c_str());
  std::string types;
  for (const auto& [type, n] : r.tensors_per_type)
    types += std::string(types.empty() ? "" : ", ") + std::to_string(n) + " " + std::string(tensor_type_name(type));
  std::fprintf(stderr,
               "wrote %s: %s -> %s, %s, %zu tensors (%s), %.2fM parameters, vocab %d, %.1f MiB in %.1f s\n",
               a.out.c_str(), r.hf_arch.c_str(), r.gguf_arch.c_str(), std::string(file_type_name(r.file_type)).c_str(),
               r.n_tensors, types.c_str(), double(r.n_params) / 1e6, r.n_vocab, double(r.out_bytes) / (1 << 20), s);
}

Command convert_command("convert", "Convert a Hugging Face model folder (safetensors) to GGUF", [](CLI::App& sub) {
  auto a = std::make_shared<ConvertArgs>();
  sub.add_option("dir", a->dir, "Model folder: config.json, model*.safetensors, tokenizer.json or tokenizer.model")
      ->required();
  sub.add_option("-o,--output", a->out, "Output .gguf path (written atomically)")->required();
  sub.add_option("--outtype", a->options.outtype, "f32, f16 or bf16 for 2-D weights (1-D tensors stay f32)")
      ->capture_default_str();
  sub.add_option("--quant", a->options.quant, "Quantize with `wgllm quantize`'s mix: " + file_type_names());
  sub.add_option("-t,--threads", a->options.threads, "Worker threads (0: all cores)")->capture_default_str()->check(in_range(0));
  sub.callback([a] { run_convert(*a); });
});

}  // namespace
}  // namespace wgllm::cli
