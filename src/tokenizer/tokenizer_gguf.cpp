// TokenizerData <-> GGUF metadata, under the keys llama.cpp files use.
#include "format/gguf.h"
#include "tokenizer/tokenizer_data.h"
#include "util/error.h"

namespace wgllm {
namespace {

constexpr const char* kModel = "tokenizer.ggml.model";
constexpr const char* kPre = "tokenizer.ggml.pre";
constexpr const char* kTokens = "tokenizer.ggml.tokens";
constexpr const char* kScores = "tokenizer.ggml.scores";
constexpr const char* kTypes = "tokenizer.ggml.token_type";
constexpr const char* kMerges = "tokenizer.ggml.merges";
constexpr const char* kBos = "tokenizer.ggml.bos_token_id";
constexpr const char* kEos = "tokenizer.ggml.eos_token_id";
constexpr const char* kEot = "tokenizer.ggml.eot_token_id";
constexpr const char* kUnk = "tokenizer.ggml.unknown_token_id";
constexpr const char* kPad = "tokenizer.ggml.padding_token_id";
constexpr const char* kAddBos = "tokenizer.ggml.add_bos_token";
constexpr const char* kAddEos = "tokenizer.ggml.add_eos_token";
constexpr const char* kAddSpacePrefix = "tokenizer.ggml.add_space_prefix";
constexpr const char* kChatTemplate = "tokenizer.chat_template";

}  // namespace

TokenizerData tokenizer_data_from_gguf(const GgufFile& gguf) {
  TokenizerData d;
  std::string model = gguf.get_string(kModel, "llama");
  if (model == "llama") d.model = TokenizerModel::Llama;
  else if (model == "gpt2") d.model = TokenizerModel::Gpt2;
  else fail(gguf.path(), ": ", kModel, " = '", model, "' is not supported (llama or gpt2)");
  d.pre = gguf.get_string(kPre, "default");
  d.tokens = gguf.get_string_array(kTokens);
  const size_t n = d.tokens.size();
  if (gguf.has(kScores)) {
    for (double s : gguf.get_f64_array(kScores)) d.scores.push_back(float(s));
    if (d.scores.size() != n) fail(gguf.path(), ": ", kScores, " has ", d.scores.size(), " values for ", n, " tokens");
  }
  if (gguf.has(kTypes)) {
    for (int64_t t : gguf.get_i64_array(kTypes)) {
      if (t < 0 || t > 6) fail(gguf.path(), ": ", kTypes, " holds unknown token type ", t);
      d.types.push_back(TokenType(t));
    }
    if (d.types.size() != n) fail(gguf.path(), ": ", kTypes, " has ", d.types.size(), " values for ", n, " tokens");
  } else {
    d.types.assign(n, TokenType::Normal);
  }
  if (gguf.has(kMerges)) {
    for (const std::string& m : gguf.get_string_array(kMerges)) {
      size_t sp = m.find(' ', 1);  // a token may start with a space, never be empty
      if (sp == std::string::npos) fail(gguf.path(), ": ", kMerges, " entry '", m, "' is not 'left right'");
      d.merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
    }
  }
  auto id = [&](const char* key) -> int32_t {
    if (!gguf.has(key)) return -1;
    int64_t v = gguf.get_i64(key);
    if (v < 0 || uint64_t(v) >= n) fail(gguf.path(), ": ", key, " = ", v, " is outside the vocabulary (", n, " tokens)");
    return int32_t(v);
  };
  d.bos_id = id(kBos);
  d.eos_id = id(kEos);
  d.eot_id = id(kEot);
  d.unk_id = id(kUnk);
  d.pad_id = id(kPad);
  // llama.cpp's defaults when the keys are absent: SentencePiece vocabularies add BOS and a space prefix.
  d.add_bos = gguf.get_bool(kAddBos, d.model == TokenizerModel::Llama);
  d.add_eos = gguf.get_bool(kAddEos, false);
  d.add_space_prefix = gguf.get_bool(kAddSpacePrefix, d.model == TokenizerModel::Llama);
  d.chat_template = gguf.get_string(kChatTemplate, "");
  return d;
}

void write_tokenizer_metadata(GgufWriter& w, const TokenizerData& d) {
  w.set_string(kModel, tokenizer_model_name(d.model));
  w.set_string(kPre, d.pre);
  w.set_string_array(kTokens, d.tokens);
  if (!d.scores.empty()) w.set_f32_array(kScores, d.scores);
  std::vector<int32_t> types;
  for (TokenType t : d.types) types.push_back(int32_t(t));
  if (types.empty()) types.assign(d.tokens.size(), int32_t(TokenType::Normal));
  w.set_i32_array(kTypes, types);
  // A byte-level BPE file carries its merges key even when the list is empty (make-model's byte
  // tokenizer): llama.cpp refuses a BPE vocabulary without one.
  if (!d.merges.empty() || d.model == TokenizerModel::Gpt2) {
    std::vector<std::string> merges;
    merges.reserve(d.merges.size());
    for (const auto& [a, b] : d.merges) merges.push_back(a + " " + b);
    w.set_string_array(kMerges, merges);
  }
  const std::pair<const char*, int32_t> ids[] = {
      {kBos, d.bos_id}, {kEos, d.eos_id}, {kEot, d.eot_id}, {kUnk, d.unk_id}, {kPad, d.pad_id}};
  for (const auto& [key, v] : ids)
    if (v >= 0) w.set_u32(key, uint32_t(v));
  w.set_bool(kAddBos, d.add_bos);
  w.set_bool(kAddEos, d.add_eos);
  if (d.model == TokenizerModel::Llama) w.set_bool(kAddSpacePrefix, d.add_space_prefix);
  if (!d.chat_template.empty()) w.set_string(kChatTemplate, d.chat_template);
}

}  // namespace wgllm
