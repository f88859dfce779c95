// UTF-8 coding and the few Unicode character classes the tokenizers need: letters (\p{L}),
// numbers (\p{N}) and the White_Space property (regex \s). Tables are generated from the
// Unicode database by gen_unicode_tables.py, so no ICU is needed (the engine also builds to wasm).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wgllm::unicode {

// Length in bytes of the UTF-8 sequence that starts with `lead` (1 for a stray byte).
int utf8_len(uint8_t lead);
// Decodes the code point at text[pos] and advances pos; an invalid sequence yields U+FFFD and
// consumes one byte (so every byte of the input is consumed exactly once).
uint32_t decode_utf8(std::string_view text, size_t& pos);
std::vector<uint32_t> to_code_points(std::string_view text);
void append_utf8(std::string& out, uint32_t cp);
std::string to_utf8(uint32_t cp);
// Splits into the UTF-8 sequences of each character (invalid bytes become 1-byte pieces).
std::vector<std::string_view> split_chars(std::string_view text);
// Bytes at the end of `text` that start a valid but incomplete UTF-8 sequence (0..3).
size_t incomplete_utf8_tail(std::string_view text);

bool is_letter(uint32_t cp);      // general category L*
bool is_number(uint32_t cp);      // general category N*
bool is_whitespace(uint32_t cp);  // White_Space property, what \s matches

// Unicode Normalization Form C (canonical composition), as Qwen's tokenizer.json normalizer asks.
std::string nfc(std::string_view text);

// GPT-2's reversible byte <-> printable code point map used by byte-level BPE vocabularies.
uint32_t byte_to_code_point(uint8_t b);
int code_point_to_byte(uint32_t cp);  // -1 when cp is not the image of a byte

}  // namespace wgllm::unicode
