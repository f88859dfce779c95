// A Hugging Face config.json read into the engine's own ModelConfig (the exact values the GGUF
// loader will read back from the converted file), plus what the converter must write for it:
// the GGUF metadata keys and the RoPE tables (Llama-3.1 rope_freqs, Phi-3 LongRoPE factors).
// Families are rows of a table keyed by config.json's architectures[0]; each names a row of the
// engine's arch table (model/arch.h), whose flags say which tensors exist.
#pragma once
#include <string>
#include <vector>

#include "model/config.h"

namespace wgllm {

class GgufWriter;

struct HfFamily {
  const char* hf_name;     // architectures[0]: "LlamaForCausalLM"
  const char* gguf_arch;   // general.architecture: "llama"
  bool norm_plus_one;      // HF's RMSNorm multiplies by (1 + w); GGUF files store w + 1 (Gemma)
  bool default_tied;       // tie_word_embeddings when config.json does not say (HF class default)
  const char* activation;  // the hidden_act config.json must name ("silu", "gelu_pytorch_tanh")
};

const std::vector<HfFamily>& hf_families();
std::string hf_family_list();  // "LlamaForCausalLM, MistralForCausalLM, ..."

struct HfModel {
  std::string config_path;  // DIR/config.json (every error names it)
  std::string name;         // general.name
  const HfFamily* family = nullptr;
  ModelConfig config;       // as config_from_gguf() will read the converted file
  // HF checkpoints keep Q/K rows in rotate-half (NeoX) order; families whose GGUF rope order is
  // Normal (interleaved pairs) get their q/k rows permuted per head, as llama.cpp does.
  bool permute_qk = false;
  std::string rope_scaling;        // "" (none), "linear", "llama3" or "longrope"
  float rope_linear_factor = 1.f;  // linear: positions divided by this
  std::vector<float> rope_freqs;   // llama3: (rope_dims/2) frequency divisors -> rope_freqs.weight
  std::vector<float> rope_long, rope_short;  // longrope: (rope_dims/2) -> rope_factors_long/short
  bool explicit_attn_scale = false;  // config.attn_scale differs from the GGUF default: write it
  int bos_id = -1, eos_id = -1, pad_id = -1;  // config.json's *_token_id (first of a list), -1 none
  std::vector<std::string> warnings;  // accepted settings the engine does not reproduce exactly
};

// Reads DIR/config.json. Errors name the file and the key (a missing or invalid value, an
// unknown architecture with the supported list, a rope scaling type the engine lacks).
HfModel read_hf_config(const std::string& dir);

// The {arch}.* and general.architecture/name keys llama.cpp's converter writes for this model.
void write_model_metadata(GgufWriter& writer, const HfModel& model);

}  // namespace wgllm
