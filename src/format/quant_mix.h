// Quantization mixes: which tensor type each tensor gets for a target file type, following
// llama.cpp's rules (llama_tensor_get_type) so our Q4_K_M files match the ones people download.
//
// The rule, in order:
//   1. Tensors that are not quantized keep F32: 1-D tensors (norms, biases: one dimension > 1),
//      tensors whose name does not end in "weight", and MoE routers (ffn_gate_inp.weight).
//   2. F32/F16/BF16 file types: every other tensor takes that type.
//   3. The output projection (output.weight, or token_embd.weight when the model ties them, i.e.
//      has no output.weight): Q6_K for every quantized file type except Q8_0, which keeps Q8_0;
//      Q8_0 as well when its row length is not a multiple of 256.
//   4. Q4_K_M and Q5_K_M: attn_v.weight and ffn_down* take Q6_K on the layers use_more_bits()
//      picks: the first and last eighth of the layers and every third layer in between
//      (i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2). Fused attn_qkv.weight takes Q5_K (Q4_K_M)
//      or Q6_K (Q5_K_M). Everything else, token embeddings included, takes Q4_K / Q5_K.
//   5. Fallback when the row length is not a multiple of the chosen type's block size, as
//      llama.cpp's convert_incompatible_tensor: Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0 (so a
//      real Q4_K_M file of Qwen2.5-0.5B, rows of 896, holds Q5_0 tensors), and anything whose
//      rows are not a multiple of 32 becomes F16.
// Not modelled: llama.cpp's special cases for Falcon, 70B-class and 8-expert models.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/tensor_types.h"

namespace wgllm {

// Values are GGUF's general.file_type ids (llama_ftype).
enum class FileType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q8_0 = 7,
  Q5_0 = 8,
  Q5_1 = 9,
  Q4_K_M = 15,
  Q5_K_M = 17,
  Q6_K = 18,
  BF16 = 32,
};

std::optional<FileType> file_type_from_name(std::string_view name);  // "Q4_K_M", "q8_0", ...
FileType find_file_type(std::string_view name);  // the same, or an Error listing the types
std::string_view file_type_name(FileType ft);
std::string file_type_names();  // "F32, F16, BF16, Q4_0, ..." for error messages
uint32_t gguf_file_type_id(FileType ft);  // the value written to general.file_type
std::optional<FileType> file_type_from_id(uint64_t general_file_type);  // nullopt: not one of ours
TensorType default_tensor_type(FileType ft);  // the type most tensors get

// llama.cpp's use_more_bits(i_layer, n_layers).
bool use_more_bits(int layer, int n_layers);
// The layer index N of a "blk.N.*" tensor name, or -1.
int layer_of(const std::string& tensor_name);

// The type for one tensor. `shape` is ne[0] first (ne[0] = row length); `has_output` says
// whether the model has its own output.weight (false: token_embd is the tied output).
TensorType choose_tensor_type(FileType ft, const std::string& tensor_name, int n_layers,
                              const std::vector<int64_t>& shape, bool has_output = true);

}  // namespace wgllm
