// Synthetic models: the exact shapes of real architectures (and tiny test versions) filled with
// seeded random weights, written as GGUF files that load exactly like downloaded ones. Same
// spec + quant + seed -> the same file, byte for byte, on every machine.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "format/tensor_types.h"

namespace wgllm {

// The hyperparameters of a synthetic model, in the words of the GGUF keys it writes.
struct ModelSpec {
  std::string preset;       // "llama3-8b"
  std::string arch;         // general.architecture: llama | qwen2 | qwen3 | phi3 | gemma | gemma2
  std::string description;  // what real model this has the shape of
  int n_layers = 0, dim = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0, ffn_dim = 0, vocab = 0;
  int context_length = 0;
  float norm_eps = 1e-5f;
  float rope_theta = 10000.f;
  bool tied_output = false;
  // Llama-3.1 rope scaling (factor > 0): written as rope_freqs.weight like llama.cpp's converter.
  float llama3_factor = 0, llama3_low_freq = 1, llama3_high_freq = 4;
  int llama3_orig_context = 8192;
  // Phi-3 LongRoPE (orig_context > 0): rope_factors_long/short + scaling keys.
  int long_rope_orig_context = 0;
  int sliding_window = 0;        // written as {arch}.attention.sliding_window when > 0
  float attn_softcap = 0, final_softcap = 0;
};

// Every preset: full-size ones (llama3-8b, ...) and tiny-* test models (a few MB).
const std::vector<ModelSpec>& model_presets();
const ModelSpec& find_preset(const std::string& name);  // Error listing the presets if unknown
std::string preset_list();

// Weights the model holds (rope factor tables excluded), as model cards count parameters.
uint64_t parameter_count(const ModelSpec& spec);

// Llama-3.1 RoPE frequency divisors (rope_dims/2), as Meta's reference computes them.
std::vector<float> llama3_rope_factors(int rope_dims, float theta, float factor, float low_freq_factor,
                                       float high_freq_factor, int orig_context);

struct MakeModelOptions {
  std::string quant = "Q4_0";      // F32 F16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K_M Q5_K_M Q6_K
  uint64_t seed = 1;
  std::string tokenizer_json;      // HF tokenizer.json; empty: byte-level synthetic vocabulary
  bool progress = true;            // ProgressBar on stderr
};

// Writes the model to `path` (atomically).
void write_synthetic_model(const ModelSpec& spec, const MakeModelOptions& options, const std::string& path);

// Returns the path of preset `preset` at `quant` (seed 1) in the cache folder, generating it on
// first use. cache_dir "" means $WGLLM_CACHE, else ~/.cache/wgllm/models.
std::string ensure_preset_model(const std::string& preset, const std::string& quant,
                                const std::string& cache_dir = "");

}  // namespace wgllm
