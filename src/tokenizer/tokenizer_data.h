// A tokenizer as plain data, in GGUF's vocabulary: what a model file carries under the
// tokenizer.* keys. Loaders fill it from a GGUF file or a Hugging Face tokenizer.json; the
// Tokenizer class (tokenizer.h) runs it.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace wgllm {

class GgufFile;
class GgufWriter;

enum class TokenizerModel {
  Llama,  // SentencePiece-style: ▁ for spaces, <0xXX> byte fallback (Llama-2, Mistral, Gemma, Phi-3)
  Gpt2,   // byte-level BPE: bytes mapped to printable characters, regex pre-split (Llama-3, Qwen)
};

// Token types as GGUF (llama.cpp's llama_token_type) numbers them.
enum class TokenType : int32_t {
  Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6,
};

struct TokenizerData {
  TokenizerModel model = TokenizerModel::Llama;  // tokenizer.ggml.model: "llama" | "gpt2"
  std::string pre = "default";                   // tokenizer.ggml.pre: llama-bpe, qwen2, gpt2, ...
  std::vector<std::string> tokens;               // (n_vocab) token text as the vocabulary spells it
  std::vector<float> scores;                     // (n_vocab) or empty; SentencePiece merge priority
  std::vector<TokenType> types;                  // (n_vocab)
  // BPE merges in rank order (first = merged first). GGUF stores them as "left right".
  std::vector<std::pair<std::string, std::string>> merges;
  int32_t bos_id = -1, eos_id = -1, eot_id = -1, unk_id = -1, pad_id = -1;  // -1: none
  bool add_bos = false, add_eos = false;
  // Llama kind: prepend ▁ to each run of text between special tokens (tokenizer.ggml.add_space_prefix)
  // and strip that one space again when decoding.
  bool add_space_prefix = true;
  std::string chat_template;  // tokenizer.chat_template (Jinja source), "" when absent

  int32_t n_vocab() const { return int32_t(tokens.size()); }
};

const char* tokenizer_model_name(TokenizerModel m);  // "llama" | "gpt2"

// Reads the tokenizer.* keys (tokenizer.ggml.tokens is required). Errors name the file and key.
TokenizerData tokenizer_data_from_gguf(const GgufFile& gguf);
void write_tokenizer_metadata(GgufWriter& writer, const TokenizerData& data);

// Reads a Hugging Face tokenizer.json (model type BPE). Byte-level pre-tokenizer -> Gpt2 kind with
// the pre name recognised from its Split regex; ▁ normalizer / byte_fallback -> Llama kind with
// merges. added_tokens become Control (special) or UserDefined tokens. tokenizer_config.json,
// when given, supplies bos/eos, add_bos_token/add_eos_token and chat_template.
TokenizerData tokenizer_data_from_hf_json(const std::string& tokenizer_json_path,
                                          const std::string& tokenizer_config_path = "");

// tokenizer_config.json over already loaded data: bos/eos/pad token texts, add_bos_token /
// add_eos_token and chat_template (a string, or a list of {name, template}: "default").
// Returns true when it set add_bos explicitly.
bool apply_tokenizer_config(TokenizerData& data, const std::string& tokenizer_config_path);

// Reads a SentencePiece tokenizer.model (unigram or BPE): pieces, scores and piece types, the
// unk/bos/eos/pad ids of its trainer spec, add_space_prefix from add_dummy_prefix; add_bos on
// when the model has a BOS piece. What the engine does not reproduce (a normalizer other than
// identity, remove_extra_whitespaces, unigram segmentation) is reported in `warnings`.
TokenizerData tokenizer_data_from_spm_model(const std::string& path, std::vector<std::string>* warnings = nullptr);

// The id of a token text (special tokens first), -1 when absent.
int32_t find_token(const TokenizerData& data, const std::string& text);

// Pads the vocabulary with "[PAD<id>]" unused tokens up to n_vocab embedding rows, as llama.cpp's
// converter does (Qwen2.5: 151665 tokens in 151936 rows). A larger vocabulary is an error naming
// `what`.
void pad_vocabulary(TokenizerData& data, int32_t n_vocab, const std::string& what);

// A reversible vocabulary for synthetic models: <unk> <s> </s> (ids 0..2), then byte b as token
// 3 + b (byte-level BPE without merges), then unused fillers up to vocab_size (>= 259).
// Any bytes encode one token per byte and decode back exactly.
TokenizerData byte_level_tokenizer(int vocab_size);

}  // namespace wgllm
