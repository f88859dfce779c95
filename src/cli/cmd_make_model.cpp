// `wgllm make-model --preset P [--quant T] [--seed S] [--tokenizer tokenizer.json] -o F`:
// writes a synthetic GGUF with the exact shapes of a real model and seeded random weights.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/command.h"
#include "format/quant_mix.h"
#include "model/presets.h"
#include "util/error.h"

namespace wgllm::cli {
namespace {

struct MakeModelArgs {
  std::string preset, out;
  MakeModelOptions options;
  bool list = false;
};

void make_model(const MakeModelArgs& a) {
  if (a.list || a.preset.empty()) {
    for (const ModelSpec& s : model_presets())
      std::printf("%-14s %-7s %5.2fB params  %s\n", s.preset.c_str(), s.arch.c_str(),
                  double(parameter_count(s)) / 1e9, s.description.c_str());
    if (!a.list) fail("make-model: --preset is required (the list above shows them)");
    return;
  }
  if (a.out.empty()) fail("make-model: -o/--output is required");
  const ModelSpec& spec = find_preset(a.preset);
  const auto t0 = std::chrono::steady_clock::now();
  write_synthetic_model(spec, a.options, a.out);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "wrote %s: %s %s, seed %llu, %.2f GB in %.1f s\n", a.out.c_str(), a.preset.c_str(),
               a.options.quant.c_str(), (unsigned long long)a.options.seed,
               double(std::filesystem::file_size(a.out)) / 1e9, s);
}

Command make_model_command("make-model", "Write a synthetic GGUF model with a real architecture's shapes",
                           [](CLI::App& sub) {
  auto a = std::make_shared<MakeModelArgs>();
  sub.add_option("--preset", a->preset, "Preset: " + preset_list());
  sub.add_option("--quant", a->options.quant, "Quantization: " + file_type_names())
      ->capture_default_str();
  sub.add_option("--seed", a->options.seed, "Random seed (same seed, same file)")->capture_default_str();
  sub.add_option("--tokenizer", a->options.tokenizer_json,
                 "Hugging Face tokenizer.json to embed (default: a byte-level vocabulary)");
  sub.add_option("-o,--output", a->out, "Output .gguf path");
  sub.add_flag("--list", a->list, "List the presets");
  sub.callback([a] { make_model(*a); });
});

}  // namespace
}  // namespace wgllm::cli
