// Text <-> token ids for the two vocabulary kinds GGUF files carry:
//  - Llama (SentencePiece-style): spaces become ▁ (with a ▁ prefix when add_space_prefix),
//    pieces merge by BPE merge rank when the vocabulary has merges (Hugging Face's BPE) or by
//    token score otherwise (SentencePiece / llama.cpp), unknown characters fall back to <0xXX>.
//  - Gpt2 (byte-level BPE): the family's regex splits the text, each piece's bytes map to
//    printable characters, pieces merge by merge rank (Llama-3 first takes a piece that is
//    already a whole token: Hugging Face's ignore_merges).
// Control and user-defined tokens written in the text are matched as tokens first (leftmost,
// longest), as llama.cpp's parse_special=true and Hugging Face's added tokens do.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer_data.h"

namespace wgllm {

class Tokenizer {
 public:
  explicit Tokenizer(TokenizerData data);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;

  // add_special: prepend BOS / append EOS where the vocabulary's add_bos / add_eos say so.
  std::vector<int32_t> encode(std::string_view text, bool add_special) const;
  // render_special=false drops control tokens (BOS, EOS, <|im_start|> ...) from the text.
  std::string decode(const std::vector<int32_t>& ids, bool render_special = true) const;
  // The bytes one token stands for (may be part of a UTF-8 sequence); no leading-space strip.
  std::string token_bytes(int32_t id) const;

  int32_t bos() const { return data_.bos_id; }
  int32_t eos() const { return data_.eos_id; }
  bool is_eog(int32_t id) const;  // end of generation: EOS, EOT, <|im_end|>, <end_of_turn>, ...
  bool is_control(int32_t id) const;
  int32_t n_vocab() const { return data_.n_vocab(); }
  int32_t token_id(std::string_view text) const;  // -1 when not in the vocabulary
  const TokenizerData& data() const { return data_; }

 private:
  struct SpecialTrie;
  void encode_text(std::string_view text, std::vector<int32_t>& out) const;
  void bpe(std::string_view word, bool byte_level, std::vector<int32_t>& out) const;
  void push_bytes(std::string_view bytes, std::vector<int32_t>& out) const;

  TokenizerData data_;
  std::unordered_map<std::string, int32_t> vocab_;
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;  // (left,right) -> (rank, id)
  std::vector<int32_t> byte_ids_;  // (256) token of each raw byte, -1 when missing
  std::vector<bool> eog_;          // (n_vocab)
  std::unique_ptr<SpecialTrie> specials_;
  PreTokenizer pre_ = PreTokenizer::Gpt2;
  bool ignore_merges_ = false;
  bool nfc_ = false;
};

// Decodes a stream of generated tokens, returning only complete UTF-8 characters: bytes of a
// character split across tokens are held until its last byte arrives.
class TokenStreamDecoder {
 public:
  explicit TokenStreamDecoder(const Tokenizer& tokenizer, bool render_special = false)
      : tokenizer_(tokenizer), render_special_(render_special) {}
  std::string push(int32_t id);
  // The held bytes of an unfinished character, each as U+FFFD; resets the decoder.
  std::string finish();

 private:
  const Tokenizer& tokenizer_;
  bool render_special_;
  std::string pending_;
};

}  // namespace wgllm
