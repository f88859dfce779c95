// The synthetic byte-level vocabulary and small TokenizerData helpers.
#include "tokenizer/tokenizer_data.h"
#include "tokenizer/unicode.h"
#include "util/error.h"

namespace wgllm {

const char* tokenizer_model_name(TokenizerModel m) {
  return m == TokenizerModel::Gpt2 ? "gpt2" : "llama";
}

void pad_vocabulary(TokenizerData& d, int32_t n_vocab, const std::string& what) {
  if (d.n_vocab() > n_vocab) fail(what, ": the tokenizer has ", d.n_vocab(), " tokens but the model only ", n_vocab, " embedding rows");
  while (d.n_vocab() < n_vocab) {
    d.tokens.push_back(cat("[PAD", d.n_vocab(), "]"));
    if (!d.scores.empty()) d.scores.push_back(-1000.f);  // never preferred by a score merge
    d.types.push_back(TokenType::Unused);
  }
}

TokenizerData byte_level_tokenizer(int vocab_size) {
  if (vocab_size < 259) fail("byte-level tokenizer needs vocab_size >= 259 (3 specials + 256 bytes), got ", vocab_size);
  // Byte-level BPE with no merges: every byte is its own token, so decode(encode(s)) == s for any
  // bytes (no ▁ escaping, no space prefix, invalid UTF-8 included).
  TokenizerData d;
  d.model = TokenizerModel::Gpt2;
  d.pre = "default";
  d.add_bos = true;
  d.add_space_prefix = false;
  d.tokens = {"<unk>", "<s>", "</s>"};
  d.types = {TokenType::Unknown, TokenType::Control, TokenType::Control};
  d.unk_id = 0, d.bos_id = 1, d.eos_id = 2;
  for (int b = 0; b < 256; ++b) {
    d.tokens.push_back(unicode::to_utf8(unicode::byte_to_code_point(uint8_t(b))));
    d.types.push_back(TokenType::Normal);
  }
  while (d.n_vocab() < vocab_size) {
    d.tokens.push_back(cat("<unused", d.n_vocab() - 259, ">"));
    d.types.push_back(TokenType::Unused);
  }
  return d;
}

}  // namespace wgllm
