// Unit tests on hand-made vocabularies and the synthetic byte-level vocabulary. Expected splits
// and ids here are worked out by hand from the regexes and merge rules, not produced by the code.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "tokenizer/pretokenize.h"
#include "tokenizer/unicode.h"
#include "util/error.h"
#include "util/rng.h"

namespace wgllm {
namespace {

std::vector<std::string> split(PreTokenizer kind, std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view p : pretokenize(kind, text)) out.emplace_back(p);
  return out;
}

TEST(Unicode, Utf8RoundTripOnRandomCodePoints) {
  Rng rng(7);
  for (int i = 0; i < 2000; ++i) {
    uint32_t cp = uint32_t(rng.below(0x110000));
    if (cp >= 0xD800 && cp < 0xE000) continue;  // surrogates are not characters
    std::string s = unicode::to_utf8(cp);
    ASSERT_EQ(size_t(unicode::utf8_len(uint8_t(s[0]))), s.size());
    size_t pos = 0;
    ASSERT_EQ(unicode::decode_utf8(s, pos), cp);
    ASSERT_EQ(pos, s.size());
  }
  size_t pos = 0;
  EXPECT_EQ(unicode::decode_utf8("\xE4\xBD", pos), 0xFFFDu);  // truncated: one byte consumed
  EXPECT_EQ(pos, 1u);
  EXPECT_EQ(unicode::incomplete_utf8_tail("ab\xE4\xBD"), 2u);
  EXPECT_EQ(unicode::incomplete_utf8_tail("ab\xE4\xBD\xA0"), 0u);
}

TEST(Unicode, Categories) {
  EXPECT_TRUE(unicode::is_letter(U'a') && unicode::is_letter(U'ß') && unicode::is_letter(U'世') && unicode::is_letter(U'ح'));
  EXPECT_TRUE(unicode::is_number(U'7') && unicode::is_number(U'٣') && unicode::is_number(U'½') && unicode::is_number(U'Ⅻ'));
  EXPECT_TRUE(unicode::is_whitespace(0x3000) && unicode::is_whitespace(0xA0) && unicode::is_whitespace(0x85));
  EXPECT_FALSE(unicode::is_whitespace(0x200B));  // zero-width space is not White_Space
  EXPECT_FALSE(unicode::is_letter(U'_') || unicode::is_number(U'_') || unicode::is_letter(0x0301));
  // GPT-2's byte map: printable ASCII stays, space -> Ġ (U+0120), newline -> Ċ (U+010A).
  EXPECT_EQ(unicode::byte_to_code_point('a'), uint32_t('a'));
  EXPECT_EQ(unicode::byte_to_code_point(' '), 0x120u);
  EXPECT_EQ(unicode::byte_to_code_point('\n'), 0x10Au);
  for (int b = 0; b < 256; ++b) ASSERT_EQ(unicode::code_point_to_byte(unicode::byte_to_code_point(uint8_t(b))), b);
}

TEST(Unicode, Nfc) {
  EXPECT_EQ(unicode::nfc("e\xCC\x81"), "\xC3\xA9");                 // e + U+0301 -> é
  EXPECT_EQ(unicode::nfc("\xE1\x84\x80\xE1\x85\xA1"), "\xEA\xB0\x80");  // Hangul jamo ᄀ + ᅡ -> 가
  // d + dot above (230) + dot below (220): reordered, then d + dot below composes to ḍ (U+1E0D).
  EXPECT_EQ(unicode::nfc("d\xCC\x87\xCC\xA3"), "\xE1\xB8\x8D\xCC\x87");
  EXPECT_EQ(unicode::nfc("plain ascii"), "plain ascii");
  EXPECT_EQ(unicode::nfc("\xE2\x84\xAB"), "\xC3\x85");  // ANGSTROM SIGN -> Å (singleton)
}

TEST(PreTokenize, Llama3Qwen2Gpt2) {
  const std::string text = "Hello world 12345 don't  \n\n x";
  EXPECT_EQ(split(PreTokenizer::Llama3, text),
            (std::vector<std::string>{"Hello", " world", " ", "123", "45", " don", "'t", "  \n\n", " x"}));
  EXPECT_EQ(split(PreTokenizer::Qwen2, text),
            (std::vector<std::string>{"Hello", " world", " ", "1", "2", "3", "4", "5", " don", "'t", "  \n\n", " x"}));
  EXPECT_EQ(split(PreTokenizer::Gpt2, text),
            (std::vector<std::string>{"Hello", " world", " 12345", " don", "'t", "  \n\n", " x"}));
  // (?i) contractions, punctuation runs with trailing newlines, trailing spaces.
  EXPECT_EQ(split(PreTokenizer::Llama3, "I'LL go!!\n\nok   "),
            (std::vector<std::string>{"I", "'LL", " go", "!!\n\n", "ok", "   "}));
  EXPECT_EQ(split(PreTokenizer::Gpt2, "I'LL go"), (std::vector<std::string>{"I", "'", "LL", " go"}));
  EXPECT_EQ(pre_tokenizer_from_name("qwen2"), PreTokenizer::Qwen2);
  // llama.cpp's name for the GPT-2 split (hub files) and the one wgllm's converter wrote before.
  EXPECT_EQ(pre_tokenizer_from_name("gpt-2"), PreTokenizer::Gpt2);
  EXPECT_EQ(pre_tokenizer_from_name("gpt2"), PreTokenizer::Gpt2);
  try {
    pre_tokenizer_from_name("deepseek-llm");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "tokenizer.ggml.pre: unsupported pre-tokenizer 'deepseek-llm' (supported: llama-bpe, qwen2, gpt-2, default)");
  }
}

// A SentencePiece-style vocabulary: <unk> <s> </s>, bytes, then pieces.
TokenizerData small_spm() {
  TokenizerData d;
  d.tokens = {"<unk>", "<s>", "</s>"};
  d.types = {TokenType::Unknown, TokenType::Control, TokenType::Control};
  d.unk_id = 0, d.bos_id = 1, d.eos_id = 2;
  d.add_bos = true;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    d.tokens.push_back(name);
    d.types.push_back(TokenType::Byte);
  }
  d.scores.assign(d.tokens.size(), 0.0f);
  auto add = [&](const char* t, float score) {
    d.tokens.push_back(t);
    d.types.push_back(TokenType::Normal);
    d.scores.push_back(score);
  };
  add("\xE2\x96\x81", -1);          // 259 ▁
  add("a", -2), add("b", -2), add("c", -2);  // 260 261 262
  add("ab", -5);                    // 263
  add("bc", -3);                    // 264
  add("\xE2\x96\x81" "a", -4);      // 265 ▁a
  add("<ctl>", 0);                  // 266
  d.types.back() = TokenType::Control;
  return d;
}

TEST(Tokenizer, SentencePieceScoresPickTheBestPairFirst) {
  Tokenizer tok(small_spm());
  // "▁abc": pairs ▁a(-4) ab(-5) bc(-3): bc wins, then ▁a; "▁a"+"bc" is not a token.
  EXPECT_EQ(tok.encode("abc", false), (std::vector<int32_t>{265, 264}));
  EXPECT_EQ(tok.encode("abc", true), (std::vector<int32_t>{1, 265, 264}));
  // 'z' is not a piece: byte fallback <0x7A> = 3 + 0x7A.
  EXPECT_EQ(tok.encode("az", false), (std::vector<int32_t>{265, 3 + 0x7A}));
  // Control text is matched as a token; each text run gets its own ▁ prefix.
  EXPECT_EQ(tok.encode("a<ctl>b", false), (std::vector<int32_t>{265, 266, 259, 261}));
  EXPECT_EQ(tok.decode({265, 264}), "abc");
  EXPECT_EQ(tok.decode({265, 266, 259, 261}, false), "a b");
}

TEST(Tokenizer, MergeRanksOverrideScores) {
  TokenizerData d = small_spm();
  d.merges = {{"a", "b"}, {"b", "c"}, {"\xE2\x96\x81", "a"}};
  Tokenizer tok(std::move(d));
  // By rank: ab first, then nothing merges with ▁ + ab or ab + c.
  EXPECT_EQ(tok.encode("abc", false), (std::vector<int32_t>{259, 263, 262}));
}

TEST(Tokenizer, ByteLevelVocabularyIsReversible) {
  Tokenizer tok(byte_level_tokenizer(300));
  EXPECT_EQ(tok.n_vocab(), 300);
  Rng rng(11);
  for (int i = 0; i < 200; ++i) {
    std::string s(rng.below(40), '\0');
    for (char& c : s) c = char(rng.below(256));  // arbitrary bytes, invalid UTF-8 included
    std::vector<int32_t> ids = tok.encode(s, false);
    ASSERT_EQ(ids.size(), s.size());
    for (size_t k = 0; k < s.size(); ++k) ASSERT_EQ(ids[k], 3 + int32_t(uint8_t(s[k])));
    ASSERT_EQ(tok.decode(ids), s);
  }
  EXPECT_EQ(tok.encode("hi", true), (std::vector<int32_t>{1, 3 + 'h', 3 + 'i'}));
  EXPECT_TRUE(tok.is_eog(2));
  EXPECT_FALSE(tok.is_eog(1));
  try {
    byte_level_tokenizer(100);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "byte-level tokenizer needs vocab_size >= 259 (3 specials + 256 bytes), got 100");
  }
}

TEST(TokenStreamDecoder, EmitsOnlyCompleteCharacters) {
  Tokenizer tok(byte_level_tokenizer(259));
  const std::string text = "h\xC3\xA9llo \xF0\x9F\x98\x80 \xE4\xB8\x96\xE7\x95\x8C";  // "héllo 😀 世界"
  TokenStreamDecoder stream(tok);
  std::string joined;
  std::vector<std::string> pieces;
  for (int32_t id : tok.encode(text, true)) {
    std::string piece = stream.push(id);
    joined += piece;
    if (!piece.empty()) pieces.push_back(piece);
  }
  EXPECT_EQ(joined, text);
  // Every emitted piece is whole characters: é, 😀, 世 and 界 each arrive in one piece.
  EXPECT_EQ(pieces, (std::vector<std::string>{"h", "\xC3\xA9", "l", "l", "o", " ", "\xF0\x9F\x98\x80", " ",
                                               "\xE4\xB8\x96", "\xE7\x95\x8C"}));
  // An unfinished character at the end comes out as U+FFFD; a stray continuation byte too.
  EXPECT_EQ(stream.push(3 + 0xF0), "");
  EXPECT_EQ(stream.finish(), "\xEF\xBF\xBD");
  EXPECT_EQ(stream.push(3 + 0x80), "\xEF\xBF\xBD");
}

TEST(Tokenizer, RejectsInconsistentData) {
  TokenizerData d = small_spm();
  d.scores.pop_back();
  try {
    Tokenizer tok(std::move(d));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "tokenizer: 266 scores for 267 tokens");
  }
}

}  // namespace
}  // namespace wgllm
