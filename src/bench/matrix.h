// The benchmark matrix: models x prompt lengths x generated tokens (x adapters, chosen by the
// runner), with the defaults the issue asks for: the article's four shapes at Q4 on a GPU, tiny
// presets and short prompts on a CPU adapter (SwiftShader), said so in the report's notes.
#pragma once
#include <string>
#include <vector>

namespace wgllm::bench {

// One model to benchmark: a preset (generated into the cache on first use) or a GGUF file.
struct ModelChoice {
  std::string preset;  // "" for a file
  std::string quant;   // preset quantization; "" for a file (read from the file)
  std::string file;    // "" for a preset until the runner generates it
  std::string label() const;  // "llama3-8b Q4_0" or the file path
};

// What the user asked for; empty/zero fields take the adapter's defaults.
struct MatrixRequest {
  std::vector<std::string> models;  // files or preset names
  std::vector<std::string> quants;  // applied to every preset (default Q4_0)
  std::vector<int> prompt_lengths;
  int gen_tokens = 0;
};

struct Matrix {
  std::vector<ModelChoice> models;
  std::vector<int> prompt_lengths;
  int gen_tokens = 0;
  std::string defaults;            // "explicit" | "gpu" | "cpu-adapter"
  std::vector<std::string> notes;  // told to the user (stderr) and stored in the report
};

// The article's shapes at Q4 for a GPU adapter.
std::vector<ModelChoice> gpu_default_models();
// Small enough for a CPU adapter (SwiftShader) to finish in a few minutes.
std::vector<ModelChoice> cpu_adapter_default_models();
// 4,096: long prompts (documents, chat history) are where the first-token latency grows.
inline const std::vector<int> kGpuPromptLengths{128, 512, 4096};
inline constexpr int kGpuGenTokens = 128;
inline const std::vector<int> kCpuAdapterPromptLengths{16, 64};
inline constexpr int kCpuAdapterGenTokens = 16;

// Resolves the request for an adapter: a model argument that names an existing file (or ends in
// .gguf) is a file, anything else must be a preset (Error listing the presets otherwise).
Matrix plan_matrix(const MatrixRequest& request, bool cpu_adapter);

struct BenchCase {
  size_t model;  // index into Matrix::models
  int prompt_tokens, gen_tokens;
};
// Model-major order, so each model loads once and runs all its lengths.
std::vector<BenchCase> expand(const Matrix& m);

}  // namespace wgllm::bench
