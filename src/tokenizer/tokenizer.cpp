#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <queue>

#include "tokenizer/unicode.h"
#include "util/error.h"

namespace wgllm {
namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // ▁ U+2581, SentencePiece's space

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0;;) {
    size_t hit = s.find(from, pos);
    if (hit == std::string_view::npos) {
      out.append(s.substr(pos));
      return out;
    }
    out.append(s.substr(pos, hit - pos)).append(to);
    pos = hit + from.size();
  }
}

// "<0x0A>" -> 10; -1 if the text is not a byte token.
int parse_byte_token(std::string_view t) {
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
  auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; };
  int hi = hex(t[3]), lo = hex(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

// Control-token texts that end a turn in the families we know (llama.cpp marks the same).
bool is_eog_text(const std::string& t) {
  static const char* names[] = {"<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|endoftext|>",
                                "<end_of_turn>", "<|end|>", "</s>", "<|end_of_text|>", "<eos>"};
  for (const char* n : names)
    if (t == n) return true;
  return false;
}

}  // namespace

// Byte trie over the texts of control and user-defined tokens, for leftmost-longest matching.
struct Tokenizer::SpecialTrie {
  std::vector<int32_t> token{-1};                   // per node: token ending here or -1
  std::unordered_map<uint64_t, int32_t> children;  // (node << 8 | byte) -> node

  void add(const std::string& text, int32_t id) {
    int32_t node = 0;
    for (unsigned char c : text) {
      auto [it, inserted] = children.try_emplace((uint64_t(node) << 8) | c, int32_t(token.size()));
      if (inserted) token.push_back(-1);
      node = it->second;
    }
    if (token[node] < 0) token[node] = id;
  }
  // Longest token starting at text[pos]: returns its length (0 if none) and sets id.
  size_t longest(std::string_view text, size_t pos, int32_t& id) const {
    size_t best = 0;
    int32_t node = 0;
    for (size_t i = pos; i < text.size(); ++i) {
      auto it = children.find((uint64_t(node) << 8) | uint8_t(text[i]));
      if (it == children.end()) break;
      node = it->second;
      if (token[node] >= 0) best = i + 1 - pos, id = token[node];
    }
    return best;
  }
};

Tokenizer::Tokenizer(TokenizerData data) : data_(std::move(data)), specials_(new SpecialTrie) {
  const int32_t n = data_.n_vocab();
  if (n == 0) fail("tokenizer: empty vocabulary");
  if (!data_.types.empty() && int32_t(data_.types.size()) != n)
    fail("tokenizer: ", data_.types.size(), " token types for ", n, " tokens");
  if (!data_.scores.empty() && int32_t(data_.scores.size()) != n)
    fail("tokenizer: ", data_.scores.size(), " scores for ", n, " tokens");
  for (int32_t id : {data_.bos_id, data_.eos_id, data_.eot_id, data_.unk_id, data_.pad_id})
    if (id >= n) fail("tokenizer: special token id ", id, " is past the vocabulary size ", n);
  if (data_.types.empty()) data_.types.assign(n, TokenType::Normal);

  vocab_.reserve(n);
  for (int32_t id = 0; id < n; ++id) vocab_.try_emplace(data_.tokens[id], id);

  byte_ids_.assign(256, -1);
  for (int b = 0; b < 256; ++b) {
    if (data_.model == TokenizerModel::Gpt2) {
      byte_ids_[b] = token_id(unicode::to_utf8(unicode::byte_to_code_point(uint8_t(b))));
    } else {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      byte_ids_[b] = token_id(name);
    }
  }

  for (size_t rank = 0; rank < data_.merges.size(); ++rank) {
    const auto& [left, right] = data_.merges[rank];
    int32_t a = token_id(left), b = token_id(right), m = token_id(left + right);
    if (a < 0 || b < 0 || m < 0) continue;  // a merge into a token the vocabulary lacks is dead
    merges_.try_emplace(pair_key(a, b), int32_t(rank), m);
  }

  eog_.assign(n, false);
  for (int32_t id = 0; id < n; ++id) {
    TokenType t = data_.types[id];
    if (t == TokenType::Control || t == TokenType::UserDefined) {
      if (!data_.tokens[id].empty()) specials_->add(data_.tokens[id], id);
      eog_[id] = t == TokenType::Control && is_eog_text(data_.tokens[id]);
    }
  }
  for (int32_t id : {data_.eos_id, data_.eot_id})
    if (id >= 0) eog_[id] = true;

  if (data_.model == TokenizerModel::Gpt2) {
    pre_ = pre_tokenizer_from_name(data_.pre);
    // Llama-3 takes a piece that is already one token as is (Hugging Face's ignore_merges).
    ignore_merges_ = pre_ == PreTokenizer::Llama3;
    // Qwen's tokenizer.json normalizes to NFC before splitting (llama.cpp skips this step).
    nfc_ = pre_ == PreTokenizer::Qwen2;
  }
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;

int32_t Tokenizer::token_id(std::string_view text) const {
  auto it = vocab_.find(std::string(text));
  return it == vocab_.end() ? -1 : it->second;
}

bool Tokenizer::is_eog(int32_t id) const { return id >= 0 && id < n_vocab() && eog_[id]; }

bool Tokenizer::is_control(int32_t id) const {
  return id >= 0 && id < n_vocab() && data_.types[id] == TokenType::Control;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special) const {
  std::vector<int32_t> out;
  if (add_special && data_.add_bos && data_.bos_id >= 0) out.push_back(data_.bos_id);
  size_t start = 0;  // start of the pending run of plain text
  for (size_t pos = 0; pos < text.size();) {
    int32_t id = -1;
    size_t len = specials_->longest(text, pos, id);
    if (len == 0) {
      ++pos;
      continue;
    }
    encode_text(text.substr(start, pos - start), out);
    out.push_back(id);
    pos += len;
    start = pos;
  }
  encode_text(text.substr(start), out);
  if (add_special && data_.add_eos && data_.eos_id >= 0) out.push_back(data_.eos_id);
  return out;
}

void Tokenizer::encode_text(std::string_view text, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  if (data_.model == TokenizerModel::Llama) {
    std::string word = data_.add_space_prefix ? std::string(kSpaceMark) : std::string();
    word += replace_all(text, " ", kSpaceMark);
    bpe(word, false, out);
    return;
  }
  std::string normalized;
  if (nfc_) text = normalized = unicode::nfc(text);
  for (std::string_view piece : pretokenize(pre_, text)) {
    std::string mapped;
    for (unsigned char c : piece) unicode::append_utf8(mapped, unicode::byte_to_code_point(c));
    if (ignore_merges_) {
      if (int32_t id = token_id(mapped); id >= 0) {
        out.push_back(id);
        continue;
      }
    }
    bpe(mapped, true, out);
  }
}

void Tokenizer::push_bytes(std::string_view bytes, std::vector<int32_t>& out) const {
  for (unsigned char c : bytes) {
    int32_t id = byte_ids_[c] >= 0 ? byte_ids_[c] : data_.unk_id;
    if (id >= 0) out.push_back(id);
  }
}

// Merges adjacent symbols of `word` (initially its characters), best pair first, until no pair
// merges. A pair's priority is its merge rank when the vocabulary has merges, else the score of
// the token the pair spells (SentencePiece). Ties go to the leftmost pair.
void Tokenizer::bpe(std::string_view word, bool byte_level, std::vector<int32_t>& out) const {
  struct Symbol {
    int32_t id;  // -1: not a token (emitted as byte tokens at the end)
    size_t start, len;
    int prev, next;
  };
  std::vector<Symbol> sym;
  for (std::string_view ch : unicode::split_chars(word)) {
    int n = int(sym.size());
    sym.push_back({token_id(ch), size_t(ch.data() - word.data()), ch.size(), n - 1, n + 1});
  }
  if (sym.empty()) return;
  sym.back().next = -1;

  const bool by_rank = !merges_.empty();
  struct Candidate {
    double priority;
    int left, right;
    size_t len;
    int32_t id;
  };
  auto worse = [](const Candidate& a, const Candidate& b) {
    return a.priority != b.priority ? a.priority < b.priority : a.left > b.left;
  };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(worse)> queue(worse);
  auto consider = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const Symbol &a = sym[left], &b = sym[right];
    if (by_rank) {
      if (a.id < 0 || b.id < 0) return;
      auto it = merges_.find(pair_key(a.id, b.id));
      if (it == merges_.end()) return;
      queue.push({-double(it->second.first), left, right, a.len + b.len, it->second.second});
    } else {
      int32_t id = token_id(word.substr(a.start, a.len + b.len));
      if (id < 0) return;
      double score = data_.scores.empty() ? 0.0 : data_.scores[id];
      queue.push({score, left, right, a.len + b.len, id});
    }
  };
  for (size_t i = 0; i + 1 < sym.size(); ++i) consider(int(i), int(i) + 1);

  while (!queue.empty()) {
    Candidate c = queue.top();
    queue.pop();
    Symbol &a = sym[c.left], &b = sym[c.right];
    // Stale when either side has merged with something else since this pair was queued.
    if (a.len == 0 || b.len == 0 || a.next != c.right || a.len + b.len != c.len) continue;
    a.len += b.len;
    a.id = c.id;
    a.next = b.next;
    if (b.next >= 0) sym[b.next].prev = c.left;
    b.len = 0;
    consider(a.prev, c.left);
    consider(c.left, a.next);
  }

  for (int i = 0; i >= 0; i = sym[i].next) {
    if (sym[i].id >= 0) {
      out.push_back(sym[i].id);
    } else if (byte_level) {
      if (data_.unk_id >= 0) out.push_back(data_.unk_id);  // a byte character missing: broken vocab
    } else {
      push_bytes(word.substr(sym[i].start, sym[i].len), out);
    }
  }
}

std::string Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || id >= n_vocab()) fail("tokenizer: token id ", id, " out of range (n_vocab ", n_vocab(), ")");
  const std::string& text = data_.tokens[id];
  TokenType type = data_.types[id];
  if (data_.model == TokenizerModel::Llama) {
    if (type == TokenType::Byte) {
      int b = parse_byte_token(text);
      if (b >= 0) return std::string(1, char(b));
    }
    return replace_all(text, kSpaceMark, " ");
  }
  if (type == TokenType::Control || type == TokenType::UserDefined) return text;
  std::string out;
  for (size_t pos = 0; pos < text.size();) {
    uint32_t cp = unicode::decode_utf8(text, pos);
    int b = unicode::code_point_to_byte(cp);
    if (b >= 0) out += char(b);
    else unicode::append_utf8(out, cp);
  }
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool render_special) const {
  std::string out;
  for (int32_t id : ids) {
    if (!render_special && is_control(id)) continue;
    out += token_bytes(id);
  }
  // The ▁ prefix added at encode time comes back as one leading space.
  if (data_.model == TokenizerModel::Llama && data_.add_space_prefix && !out.empty() && out[0] == ' ')
    out.erase(0, 1);
  return out;
}

// Copies the complete characters of `bytes`, replacing invalid sequences with U+FFFD.
static std::string valid_utf8(std::string_view bytes) {
  std::string out;
  for (size_t pos = 0; pos < bytes.size();) {
    size_t start = pos;
    uint32_t cp = unicode::decode_utf8(bytes, pos);
    if (cp == 0xFFFD && bytes.substr(start, pos - start) != "\xEF\xBF\xBD") out += "\xEF\xBF\xBD";
    else out.append(bytes.substr(start, pos - start));
  }
  return out;
}

std::string TokenStreamDecoder::push(int32_t id) {
  if (!render_special_ && tokenizer_.is_control(id)) return "";
  pending_ += tokenizer_.token_bytes(id);
  size_t keep = unicode::incomplete_utf8_tail(pending_);
  std::string out = valid_utf8(std::string_view(pending_).substr(0, pending_.size() - keep));
  pending_.erase(0, pending_.size() - keep);
  return out;
}

std::string TokenStreamDecoder::finish() {
  std::string out = valid_utf8(pending_);
  pending_.clear();
  return out;
}

}  // namespace wgllm
