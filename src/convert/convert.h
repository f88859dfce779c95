// `wgllm convert`: a Hugging Face model folder -> one GGUF file the engine (and llama.cpp) reads
// exactly like the GGUF files people download:
//   config.json                       -> {arch}.* keys (hf_config.h)
//   model.safetensors | shards+index  -> tensors renamed to GGUF names, Llama/Mistral q/k rows
//                                        permuted to interleaved RoPE pairs, Gemma norms + 1,
//                                        RoPE tables (rope_freqs / rope_factors_long/short)
//   tokenizer.json | tokenizer.model  -> tokenizer.* keys (+ tokenizer_config.json: special
//   (+ tokenizer_config.json,            tokens, add_bos_token, chat_template)
//      chat_template.jinja)
// Tensors stream from the mapped checkpoint to the output one at a time; the output is written
// atomically (temp file + rename).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "format/quant_mix.h"
#include "tokenizer/tokenizer_data.h"

namespace wgllm {

struct HfModel;

struct ConvertOptions {
  std::string outtype = "f16";  // f32 | f16 | bf16: 2-D weights; 1-D tensors stay f32
  std::string quant;            // a file type (Q4_K_M, Q8_0, ...): overrides outtype, same mix as `wgllm quantize`
  int threads = 0;              // 0: all cores
  bool progress = true;         // ProgressBar on stderr
};

struct ConvertResult {
  std::string hf_arch, gguf_arch;
  FileType file_type = FileType::F16;
  size_t n_tensors = 0;
  uint64_t n_params = 0;         // weights from the checkpoint (RoPE tables excluded)
  uint64_t out_bytes = 0;        // size of the written file
  int32_t n_vocab = 0;
  std::map<TensorType, int> tensors_per_type;
  std::vector<std::string> warnings;  // settings accepted but not reproduced exactly
};

ConvertResult convert_hf_to_gguf(const std::string& hf_dir, const std::string& out_path,
                                 const ConvertOptions& options = {});

// The tokenizer of a model folder: tokenizer.json (preferred) or tokenizer.model, with
// tokenizer_config.json / chat_template.jinja applied, config.json's token ids filling what is
// still unset, padded with [PAD<i>] up to config.json's vocab_size.
TokenizerData read_hf_tokenizer(const std::string& hf_dir, const HfModel& model,
                                std::vector<std::string>* warnings = nullptr);

// HF's rotate-half q/k rows -> GGUF's interleaved pairs, per head: the row of (head h, pair i,
// half j) moves to h*head_dim + 2*i + j. Returns new_row -> old_row for n_heads * head_dim rows.
std::vector<int64_t> rope_pair_permutation(int n_heads, int head_dim);

}  // namespace wgllm
