#include "tokenizer/unicode.h"

#include <algorithm>
#include <array>
#include <unordered_map>

namespace wgllm::unicode {
namespace {

struct CodeRange {
  uint32_t first, last;
};
struct Decomposition {
  uint32_t cp, first, second;  // second = 0: a one-character (singleton) decomposition
  uint8_t composes;            // 1: first + second recompose to cp under NFC
};
struct CombiningClass {
  uint32_t first, last;
  uint8_t ccc;
};
#include "tokenizer/unicode_tables.inc"

template <size_t N>
bool in_ranges(const CodeRange (&ranges)[N], uint32_t cp) {
  auto it = std::upper_bound(std::begin(ranges), std::end(ranges), cp,
                             [](uint32_t v, const CodeRange& r) { return v < r.first; });
  return it != std::begin(ranges) && cp <= std::prev(it)->last;
}

// GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 bytes to
// U+0100.. in byte order, so every byte has a visible, non-space character.
struct ByteMap {
  std::array<uint32_t, 256> to_cp{};
  ByteMap() {
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_cp[b] = printable ? uint32_t(b) : next++;
    }
  }
};
const ByteMap& byte_map() {
  static const ByteMap map;
  return map;
}

}  // namespace

int utf8_len(uint8_t lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

uint32_t decode_utf8(std::string_view text, size_t& pos) {
  uint8_t lead = uint8_t(text[pos]);
  int len = utf8_len(lead);
  if (len == 1) {
    ++pos;
    return lead < 0x80 ? lead : 0xFFFD;
  }
  if (pos + len > text.size()) {
    ++pos;
    return 0xFFFD;
  }
  uint32_t cp = lead & (0x7F >> len);
  for (int i = 1; i < len; ++i) {
    uint8_t c = uint8_t(text[pos + i]);
    if ((c & 0xC0) != 0x80) {
      ++pos;
      return 0xFFFD;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  pos += len;
  return cp;
}

std::vector<uint32_t> to_code_points(std::string_view text) {
  std::vector<uint32_t> out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) out.push_back(decode_utf8(text, pos));
  return out;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

std::string to_utf8(uint32_t cp) {
  std::string s;
  append_utf8(s, cp);
  return s;
}

std::vector<std::string_view> split_chars(std::string_view text) {
  std::vector<std::string_view> out;
  for (size_t pos = 0; pos < text.size();) {
    size_t start = pos;
    decode_utf8(text, pos);
    out.push_back(text.substr(start, pos - start));
  }
  return out;
}

size_t incomplete_utf8_tail(std::string_view text) {
  // Look back at most 3 bytes for a lead byte whose sequence runs past the end.
  for (size_t back = 1; back <= 3 && back <= text.size(); ++back) {
    uint8_t c = uint8_t(text[text.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    int len = utf8_len(c);
    return (len > int(back) && c >= 0xC0) ? back : 0;
  }
  return 0;
}

bool is_letter(uint32_t cp) {
  if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  return in_ranges(kLetterRanges, cp);
}

bool is_number(uint32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return in_ranges(kNumberRanges, cp);
}

bool is_whitespace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

// Hangul syllables decompose and compose arithmetically (Unicode 3.12).
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

static uint8_t combining_class(uint32_t cp) {
  auto it = std::upper_bound(std::begin(kCombiningClasses), std::end(kCombiningClasses), cp,
                             [](uint32_t v, const CombiningClass& r) { return v < r.first; });
  return it != std::begin(kCombiningClasses) && cp <= std::prev(it)->last ? std::prev(it)->ccc : 0;
}

static void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  auto it = std::lower_bound(std::begin(kDecompositions), std::end(kDecompositions), cp,
                             [](const Decomposition& d, uint32_t v) { return d.cp < v; });
  if (it == std::end(kDecompositions) || it->cp != cp) {
    out.push_back(cp);
    return;
  }
  decompose(it->first, out);
  if (it->second) decompose(it->second, out);
}

static uint32_t compose_pair(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
    return a + (b - kTBase);
  // Few pairs compose; a linear scan over ~2k entries only runs for text with combining marks.
  static const std::unordered_map<uint64_t, uint32_t> pairs = [] {
    std::unordered_map<uint64_t, uint32_t> m;
    for (const Decomposition& d : kDecompositions)
      if (d.composes) m.emplace((uint64_t(d.first) << 32) | d.second, d.cp);
    return m;
  }();
  auto it = pairs.find((uint64_t(a) << 32) | b);
  return it == pairs.end() ? 0 : it->second;
}

std::string nfc(std::string_view text) {
  // Below U+0300 there are no combining marks, so such text is already in NFC.
  bool simple = true;
  for (size_t pos = 0; pos < text.size() && simple;) simple = decode_utf8(text, pos) < 0x300;
  if (simple) return std::string(text);
  std::vector<uint32_t> cps;
  for (size_t pos = 0; pos < text.size();) decompose(decode_utf8(text, pos), cps);
  // Canonical order: stable-sort each run of non-starters by combining class.
  for (size_t i = 0; i < cps.size();) {
    if (combining_class(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && combining_class(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + i, cps.begin() + j,
                     [](uint32_t a, uint32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
  // Compose: each character joins the last starter unless a character in between blocks it.
  std::vector<uint32_t> out;
  int starter = -1;
  int last_ccc = -1;
  for (uint32_t cp : cps) {
    int c = combining_class(cp);
    if (starter >= 0 && (last_ccc < c || (last_ccc == 0 && int(out.size()) == starter + 1))) {
      if (uint32_t comp = compose_pair(out[starter], cp)) {
        out[starter] = comp;
        continue;
      }
    }
    if (c == 0) starter = int(out.size());
    last_ccc = c;
    out.push_back(cp);
  }
  std::string s;
  for (uint32_t cp : out) append_utf8(s, cp);
  return s;
}

uint32_t byte_to_code_point(uint8_t b) { return byte_map().to_cp[b]; }

int code_point_to_byte(uint32_t cp) {
  static const std::array<int16_t, 512> inverse = [] {
    std::array<int16_t, 512> inv;
    inv.fill(-1);
    for (int b = 0; b < 256; ++b) inv[byte_map().to_cp[b]] = int16_t(b);
    return inv;
  }();
  return cp < inverse.size() ? inverse[cp] : -1;
}

}  // namespace wgllm::unicode
