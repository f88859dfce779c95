#include "tokenizer/pretokenize.h"

#include "tokenizer/unicode.h"
#include "util/error.h"

namespace wgllm {
namespace {

constexpr const char* kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+"
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+"
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kGpt2Regex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// The text as code points with each one's byte offset, so matches map back to byte spans.
struct Chars {
  std::vector<uint32_t> cp;
  std::vector<size_t> offset;  // offset[i] = byte position of cp[i]; offset[n] = text size
  size_t size() const { return cp.size(); }
  uint32_t at(size_t i) const { return i < cp.size() ? cp[i] : 0xFFFFFFFF; }  // past end: no class
};

bool is_letter(uint32_t c) { return c != 0xFFFFFFFF && unicode::is_letter(c); }
bool is_number(uint32_t c) { return c != 0xFFFFFFFF && unicode::is_number(c); }
bool is_space(uint32_t c) { return c != 0xFFFFFFFF && unicode::is_whitespace(c); }
bool is_newline(uint32_t c) { return c == '\r' || c == '\n'; }
// [^\s\p{L}\p{N}]
bool is_other(uint32_t c) { return c != 0xFFFFFFFF && !is_space(c) && !is_letter(c) && !is_number(c); }

uint32_t fold(uint32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c == 0x17F) return 's';  // LATIN SMALL LETTER LONG S case-folds to 's' under (?i)
  return c;
}

// 's 't 're 've 'm 'll 'd at i; returns the match length in code points or 0.
size_t match_contraction(const Chars& s, size_t i, bool ignore_case) {
  if (s.at(i) != '\'') return 0;
  auto c = [&](size_t k) { return ignore_case ? fold(s.at(i + k)) : s.at(i + k); };
  uint32_t a = c(1);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  uint32_t b = c(2);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

size_t run(const Chars& s, size_t i, bool (*pred)(uint32_t)) {
  while (i < s.size() && pred(s.at(i))) ++i;
  return i;
}

// The whitespace alternatives shared by all three regexes, at i where s[i] is whitespace.
// with_newline_rule: Llama-3/Qwen2's `\s*[\r\n]+` comes before `\s+(?!\S)`.
size_t match_whitespace(const Chars& s, size_t i, bool with_newline_rule) {
  size_t end = run(s, i, is_space);
  if (with_newline_rule) {
    // \s*[\r\n]+ : greedy \s* backs off to the last newline of the run.
    for (size_t k = end; k > i; --k)
      if (is_newline(s.at(k - 1))) return k;
  }
  // \s+(?!\S) : the whole run at the end of the text, else the run minus its last character.
  if (end == s.size()) return end;
  if (end - i >= 2) return end - 1;
  return end;  // \s+
}

// Llama-3 (max_digits 3) and Qwen2 (max_digits 1): returns the end of the match at i.
size_t match_llama3(const Chars& s, size_t i, size_t max_digits) {
  if (size_t n = match_contraction(s, i, true)) return i + n;
  uint32_t c = s.at(i);
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (!is_newline(c) && !is_letter(c) && !is_number(c) && is_letter(s.at(i + 1)))
    return run(s, i + 1, is_letter);
  if (is_letter(c)) return run(s, i, is_letter);
  if (is_number(c)) {  // \p{N}{1,max}
    size_t k = i;
    while (k < s.size() && k - i < max_digits && is_number(s.at(k))) ++k;
    return k;
  }
  // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
  size_t k = (c == ' ' && is_other(s.at(i + 1))) ? i + 1 : i;
  if (is_other(s.at(k))) return run(s, run(s, k, is_other), is_newline);
  if (is_space(c)) return match_whitespace(s, i, true);
  return i + 1;
}

size_t match_gpt2(const Chars& s, size_t i) {
  if (size_t n = match_contraction(s, i, false)) return i + n;
  uint32_t c = s.at(i);
  size_t k = (c == ' ') ? i + 1 : i;  // the optional leading space of the next three rules
  if (is_letter(s.at(k))) return run(s, k, is_letter);
  if (is_number(s.at(k))) return run(s, k, is_number);
  if (is_other(s.at(k))) return run(s, k, is_other);
  if (is_space(c)) return match_whitespace(s, i, false);
  return i + 1;
}

}  // namespace

PreTokenizer pre_tokenizer_from_name(const std::string& pre) {
  if (pre == "llama-bpe" || pre == "llama3" || pre == "smaug-bpe") return PreTokenizer::Llama3;
  if (pre == "qwen2") return PreTokenizer::Qwen2;
  // "gpt-2" is llama.cpp's name (what hub files carry); "gpt2" what wgllm's converter wrote before.
  if (pre == "gpt-2" || pre == "gpt2" || pre == "default" || pre.empty()) return PreTokenizer::Gpt2;
  fail("tokenizer.ggml.pre: unsupported pre-tokenizer '", pre,
       "' (supported: llama-bpe, qwen2, gpt-2, default)");
}

std::string pre_name_from_regex(const std::string& regex) {
  if (regex == kLlama3Regex) return "llama-bpe";
  if (regex == kQwen2Regex) return "qwen2";
  if (regex == kGpt2Regex) return "gpt-2";
  return "";
}

std::vector<std::string_view> pretokenize(PreTokenizer kind, std::string_view text) {
  Chars s;
  for (size_t pos = 0; pos < text.size();) {
    s.offset.push_back(pos);
    s.cp.push_back(unicode::decode_utf8(text, pos));
  }
  s.offset.push_back(text.size());
  std::vector<std::string_view> pieces;
  for (size_t i = 0; i < s.size();) {
    size_t end = kind == PreTokenizer::Gpt2    ? match_gpt2(s, i)
                 : kind == PreTokenizer::Qwen2 ? match_llama3(s, i, 1)
                                               : match_llama3(s, i, 3);
    pieces.push_back(text.substr(s.offset[i], s.offset[end] - s.offset[i]));
    i = end;
  }
  return pieces;
}

}  // namespace wgllm
