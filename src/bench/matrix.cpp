#include "bench/matrix.h"

#include <filesystem>

#include "format/quant_mix.h"
#include "model/presets.h"
#include "util/error.h"

namespace wgllm::bench {

std::string ModelChoice::label() const { return preset.empty() ? file : preset + " " + quant; }

std::vector<ModelChoice> gpu_default_models() {
  return {{"llama3-8b", "Q4_0", ""},  {"llama3-8b", "Q4_K_M", ""}, {"phi3-mini", "Q4_0", ""},
          {"gemma-2b", "Q4_0", ""},   {"mistral-7b", "Q4_0", ""}};
}

std::vector<ModelChoice> cpu_adapter_default_models() {
  // The same four families, at the tiny test sizes.
  return {{"tiny-llama", "Q4_0", ""}, {"tiny-phi3", "Q4_0", ""}, {"tiny-gemma", "Q4_0", ""}, {"tiny-mistral", "Q4_0", ""}};
}

static bool is_file_argument(const std::string& arg) {
  return std::filesystem::exists(arg) || (arg.size() > 5 && arg.substr(arg.size() - 5) == ".gguf");
}

Matrix plan_matrix(const MatrixRequest& req, bool cpu_adapter) {
  Matrix m;
  for (const std::string& q : req.quants) find_file_type(q);  // an Error listing the types when unknown
  const bool explicit_models = !req.models.empty();
  m.defaults = explicit_models ? "explicit" : cpu_adapter ? "cpu-adapter" : "gpu";
  if (!explicit_models) {
    const std::vector<ModelChoice> defaults = cpu_adapter ? cpu_adapter_default_models() : gpu_default_models();
    if (req.quants.empty()) m.models = defaults;
    // --quant without -m: every default shape at each quant asked for (once per shape).
    for (size_t i = 0; i < defaults.size() && !req.quants.empty(); ++i)
      if (i == 0 || defaults[i].preset != defaults[i - 1].preset)
        for (const std::string& q : req.quants) m.models.push_back({defaults[i].preset, q, ""});
  } else {
    const std::vector<std::string> quants = req.quants.empty() ? std::vector<std::string>{"Q4_0"} : req.quants;
    for (const std::string& arg : req.models) {
      if (is_file_argument(arg)) {
        if (!std::filesystem::exists(arg)) fail("model file ", arg, " does not exist");
        m.models.push_back({"", "", arg});
        continue;
      }
      find_preset(arg);  // an Error listing the presets when unknown
      for (const std::string& q : quants) m.models.push_back({arg, q, ""});
    }
  }
  m.prompt_lengths = !req.prompt_lengths.empty() ? req.prompt_lengths
                     : cpu_adapter               ? kCpuAdapterPromptLengths
                                                 : kGpuPromptLengths;
  m.gen_tokens = req.gen_tokens > 0 ? req.gen_tokens : cpu_adapter ? kCpuAdapterGenTokens : kGpuGenTokens;
  for (int p : m.prompt_lengths)
    if (p < 1) fail("prompt length ", p, " must be at least 1");
  if (m.gen_tokens < 2) fail("--gen ", m.gen_tokens, ": decode speed needs at least 2 generated tokens");

  if (cpu_adapter && !explicit_models)
    m.notes.push_back(
        "CPU adapter (no GPU): benchmarked the tiny presets of the four families instead of the article's "
        "full-size shapes; results show correctness and overhead, not GPU speed");
  if (cpu_adapter && req.prompt_lengths.empty())
    m.notes.push_back(cat("CPU adapter: prompt lengths shortened to ", m.prompt_lengths.front(),
                          m.prompt_lengths.size() > 1 ? cat(",", m.prompt_lengths.back()) : std::string(),
                          " (GPU default 128,512,4096) to finish in a few minutes"));
  if (cpu_adapter && req.gen_tokens <= 0)
    m.notes.push_back(cat("CPU adapter: ", m.gen_tokens, " generated tokens (GPU default ", kGpuGenTokens, ")"));
  return m;
}

std::vector<BenchCase> expand(const Matrix& m) {
  std::vector<BenchCase> out;
  for (size_t i = 0; i < m.models.size(); ++i)
    for (int p : m.prompt_lengths) out.push_back({i, p, m.gen_tokens});
  return out;
}

}  // namespace wgllm::bench
