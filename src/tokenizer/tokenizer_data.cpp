// The synthetic byte-level vocabulary and small TokenizerData helpers.
#include <cstdio>

#include "tokenizer/tokenizer_data.h"
#include "util/error.h"

namespace wgllm {

const char* tokenizer_model_name(TokenizerModel m) {
  return m == TokenizerModel::Gpt2 ? "gpt2" : "llama";
}

TokenizerData byte_level_tokenizer(int vocab_size) {
  if (vocab_size < 259) fail("byte-level tokenizer needs vocab_size >= 259 (3 specials + 256 bytes), got ", vocab_size);
  TokenizerData d;
  d.model = TokenizerModel::Llama;
  d.add_space_prefix = false;  // byte for byte: decode(encode(s)) == s for every s
  d.add_bos = true;
  d.tokens = {"<unk>", "<s>", "</s>"};
  d.types = {TokenType::Unknown, TokenType::Control, TokenType::Control};
  d.unk_id = 0, d.bos_id = 1, d.eos_id = 2;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    d.tokens.push_back(name);
    d.types.push_back(TokenType::Byte);
  }
  while (d.n_vocab() < vocab_size) {
    d.tokens.push_back(cat("<unused", d.n_vocab() - 259, ">"));
    d.types.push_back(TokenType::Unused);
  }
  d.scores.assign(d.tokens.size(), 0.0f);
  return d;
}

}  // namespace wgllm
