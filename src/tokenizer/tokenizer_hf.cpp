// Hugging Face tokenizer.json (+ tokenizer_config.json) -> TokenizerData.
#include <algorithm>
#include <fstream>
#include <unordered_map>
#include <nlohmann/json.hpp>

#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer_data.h"
#include "util/error.h"
#include "util/json_file.h"

namespace wgllm {
namespace {

using nlohmann::json;

// Visits a pre-tokenizer / normalizer node and, for a Sequence, each of its children.
template <typename F>
void for_each_step(const json& node, const char* list_key, F&& f) {
  if (!node.is_object()) return;
  if (node.value("type", "") == "Sequence" && node.contains(list_key)) {
    for (const json& child : node[list_key]) for_each_step(child, list_key, f);
  } else {
    f(node);
  }
}

// A special-token entry in tokenizer_config.json: "text" or {"content": "text", ...}.
std::string token_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content")) return v["content"].get<std::string>();
  return "";
}

}  // namespace

int32_t find_token(const TokenizerData& d, const std::string& text) {
  if (text.empty()) return -1;
  const int32_t n = d.n_vocab();
  for (int32_t id = 0; id < n; ++id)
    if (d.types[id] != TokenType::Normal && d.tokens[id] == text) return id;
  for (int32_t id = 0; id < n; ++id)
    if (d.tokens[id] == text) return id;
  return -1;
}

bool apply_tokenizer_config(TokenizerData& d, const std::string& config_path) {
  const json c = read_json_file(config_path);
  bool explicit_add_bos = false;
  if (c.contains("bos_token")) d.bos_id = find_token(d, token_text(c["bos_token"]));
  if (c.contains("eos_token")) d.eos_id = find_token(d, token_text(c["eos_token"]));
  if (c.contains("pad_token")) d.pad_id = find_token(d, token_text(c["pad_token"]));
  if (c.contains("add_bos_token") && c["add_bos_token"].is_boolean()) {
    d.add_bos = c["add_bos_token"].get<bool>();
    explicit_add_bos = true;
  }
  if (c.contains("add_eos_token") && c["add_eos_token"].is_boolean()) d.add_eos = c["add_eos_token"].get<bool>();
  if (c.contains("chat_template")) {
    const json& t = c["chat_template"];
    if (t.is_string()) {
      d.chat_template = t.get<std::string>();
    } else if (t.is_array()) {  // [{name, template}, ...]: take "default"
      for (const json& e : t)
        if (e.value("name", "") == "default") d.chat_template = e.value("template", "");
    }
  }
  return explicit_add_bos;
}

TokenizerData tokenizer_data_from_hf_json(const std::string& path, const std::string& config_path) {
  const json j = read_json_file(path);
  if (!j.contains("model") || j["model"].value("type", "") != "BPE")
    fail(path, ": model.type must be BPE (got '", j.contains("model") ? j["model"].value("type", "") : "", "')");
  const json& model = j["model"];
  TokenizerData d;

  // Vocabulary: model.vocab plus added_tokens (which may extend it).
  int64_t n = 0;
  for (const auto& [text, id] : model.at("vocab").items()) n = std::max<int64_t>(n, id.get<int64_t>() + 1);
  const json added = j.value("added_tokens", json::array());
  for (const json& a : added) n = std::max<int64_t>(n, a.at("id").get<int64_t>() + 1);
  d.tokens.assign(n, "");
  d.types.assign(n, TokenType::Normal);
  std::vector<bool> seen(n, false);
  for (const auto& [text, id] : model.at("vocab").items()) {
    d.tokens[id.get<int64_t>()] = text;
    seen[id.get<int64_t>()] = true;
  }
  for (const json& a : added) {
    int64_t id = a.at("id").get<int64_t>();
    d.tokens[id] = a.at("content").get<std::string>();
    d.types[id] = a.value("special", false) ? TokenType::Control : TokenType::UserDefined;
    seen[id] = true;
  }
  for (int64_t id = 0; id < n; ++id)
    if (!seen[id]) d.tokens[id] = cat("[PAD", id, "]"), d.types[id] = TokenType::Unused;

  for (const json& m : model.value("merges", json::array())) {
    if (m.is_array() && m.size() == 2) {
      d.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      std::string s = m.get<std::string>();
      size_t sp = s.find(' ', 1);
      if (sp == std::string::npos) fail(path, ": merge '", s, "' is not 'left right'");
      d.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    }
  }

  // Byte-level BPE (GPT-2 style) or SentencePiece-style BPE (▁ and byte fallback)?
  bool byte_level = false;
  std::string regex;
  for_each_step(j.value("pre_tokenizer", json()), "pretokenizers", [&](const json& step) {
    std::string type = step.value("type", "");
    if (type == "ByteLevel") {
      byte_level = true;
      if (step.value("use_regex", true) && regex.empty()) regex = "gpt2";
    } else if (type == "Split" && step.contains("pattern") && step["pattern"].contains("Regex")) {
      regex = step["pattern"]["Regex"].get<std::string>();
    }
  });
  if (byte_level) {
    d.model = TokenizerModel::Gpt2;
    d.add_space_prefix = false;  // only meaningful for the Llama kind
    d.pre = regex == "gpt2" ? "gpt-2" : pre_name_from_regex(regex);
    if (d.pre.empty()) fail(path, ": unrecognised pre-tokenizer regex ", json(regex).dump());
  } else {
    d.model = TokenizerModel::Llama;
    d.pre = "default";
    d.add_space_prefix = false;
    for_each_step(j.value("normalizer", json()), "normalizers", [&](const json& step) {
      if (step.value("type", "") == "Prepend" && step.value("prepend", "") == "\xE2\x96\x81") d.add_space_prefix = true;
    });
    for_each_step(j.value("pre_tokenizer", json()), "pretokenizers", [&](const json& step) {
      if (step.value("type", "") == "Metaspace" &&
          (step.value("add_prefix_space", false) || step.value("prepend_scheme", "never") != "never"))
        d.add_space_prefix = true;
    });
    // <0xXX> pieces are the byte-fallback tokens.
    for (int64_t id = 0; id < n; ++id) {
      const std::string& t = d.tokens[id];
      if (d.types[id] == TokenType::Normal && t.size() == 6 && t.rfind("<0x", 0) == 0 && t[5] == '>')
        d.types[id] = TokenType::Byte;
    }
    // Scores for SentencePiece-style consumers (llama.cpp): the later a token is merged, the lower.
    d.scores.assign(n, 0.0f);
    std::unordered_map<std::string, int64_t> index;
    for (int64_t id = 0; id < n; ++id) index.emplace(d.tokens[id], id);
    for (size_t rank = d.merges.size(); rank-- > 0;) {
      auto it = index.find(d.merges[rank].first + d.merges[rank].second);
      if (it != index.end()) d.scores[it->second] = -float(rank + 1);
    }
  }

  auto find = [&](const std::string& text) { return find_token(d, text); };
  if (model.contains("unk_token") && model["unk_token"].is_string()) d.unk_id = find(model["unk_token"].get<std::string>());

  // BOS/EOS from the post-processor template: [SpecialToken, A] adds BOS, [A, SpecialToken] EOS.
  const json post = j.value("post_processor", json());
  bool explicit_add_bos = false;
  if (post.is_object() && post.value("type", "") == "TemplateProcessing" && post.contains("single")) {
    const json& single = post["single"];
    if (!single.empty() && single.front().contains("SpecialToken")) {
      d.bos_id = find(single.front()["SpecialToken"]["id"].get<std::string>());
      d.add_bos = explicit_add_bos = d.bos_id >= 0;
    }
    if (single.size() > 1 && single.back().contains("SpecialToken")) {
      d.eos_id = find(single.back()["SpecialToken"]["id"].get<std::string>());
      d.add_eos = d.eos_id >= 0;
    }
  }

  if (!config_path.empty() && apply_tokenizer_config(d, config_path)) explicit_add_bos = true;
  // Llama-3 is trained with <|begin_of_text|> first (llama.cpp adds it too); early tokenizer.json
  // uploads lack the post-processor that says so.
  if (!explicit_add_bos && d.pre == "llama-bpe" && d.bos_id >= 0) d.add_bos = true;

  // End of turn: the chat families' turn terminators.
  for (const char* eot : {"<|eot_id|>", "<|im_end|>", "<end_of_turn>", "<|end|>"}) {
    int32_t id = find(eot);
    if (id >= 0 && d.types[id] == TokenType::Control) {
      d.eot_id = id;
      break;
    }
  }
  if (d.eos_id < 0)
    for (const char* eos : {"</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>"})
      if ((d.eos_id = find(eos)) >= 0) break;
  return d;
}

}  // namespace wgllm
