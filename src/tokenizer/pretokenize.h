// Byte-level BPE pre-tokenizers: each family's split regex written out by hand. The split
// pieces are then byte-mapped and BPE-merged one by one, so the split decides which merges
// can ever happen and must match the family's regex exactly.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace wgllm {

enum class PreTokenizer {
  // `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
  //  \s*[\r\n]+|\s+(?!\S)|\s+`  (Llama-3, GGUF pre "llama-bpe")
  Llama3,
  // The same with `\p{N}` (one digit per piece) instead of `\p{N}{1,3}` (Qwen2/Qwen3, "qwen2").
  Qwen2,
  // `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` (GPT-2, "gpt2",
  // and llama.cpp's "default" for BPE vocabularies).
  Gpt2,
};

// Maps GGUF's tokenizer.ggml.pre to a splitter; unknown names raise an Error naming the name.
PreTokenizer pre_tokenizer_from_name(const std::string& pre);
// Recognises a Hugging Face `Split` pre-tokenizer regex; returns the GGUF pre name or "".
std::string pre_name_from_regex(const std::string& regex);

// Splits text (UTF-8; invalid bytes are kept and classed as symbols) into pieces that cover it.
std::vector<std::string_view> pretokenize(PreTokenizer kind, std::string_view text);

}  // namespace wgllm
