#include "tokenizer/chat_template.h"

#include <atomic>
#include <cstdio>

namespace wgllm {
namespace {

// Python's str.strip() on ASCII whitespace, as the templates' `| trim` does.
std::string trim(const std::string& s) {
  const char* ws = " \t\n\r\f\v";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) + 1 - b);
}

bool contains(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

std::string llama3(const std::vector<ChatMessage>& msgs, bool gen) {
  std::string out;
  for (const auto& m : msgs) out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + trim(m.content) + "<|eot_id|>";
  if (gen) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

std::string chatml(const std::vector<ChatMessage>& msgs, bool gen) {
  std::string out;
  for (const auto& m : msgs) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  if (gen) out += "<|im_start|>assistant\n";
  return out;
}

std::string phi3(const std::vector<ChatMessage>& msgs, bool gen) {
  std::string out;
  for (const auto& m : msgs) out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
  if (gen) out += "<|assistant|>\n";
  return out;
}

// Gemma has no system role: the system text opens the first user turn, followed by a blank line.
std::string gemma(const std::vector<ChatMessage>& msgs, bool gen) {
  std::string out, prefix;
  size_t first = 0;
  if (!msgs.empty() && msgs[0].role == "system") prefix = msgs[0].content + "\n\n", first = 1;
  for (size_t i = first; i < msgs.size(); ++i) {
    std::string role = msgs[i].role == "assistant" ? "model" : msgs[i].role;
    out += "<start_of_turn>" + role + "\n" + (i == first ? prefix : "") + trim(msgs[i].content) + "<end_of_turn>\n";
  }
  if (gen) out += "<start_of_turn>model\n";
  return out;
}

// The [INST] families walk a conversation alike: a leading system message is held back for the
// first user turn. They differ only in how one user turn and one assistant turn read.
struct InstStyle {
  std::string (*user)(const std::string& content, const std::string& system, bool first);
  std::string (*assistant)(const std::string& content, const std::string& eos);
};

std::string inst_turns(const std::vector<ChatMessage>& msgs, const std::string& eos, const InstStyle& style) {
  std::string out, system;
  size_t first = 0;
  if (!msgs.empty() && msgs[0].role == "system") system = msgs[0].content, first = 1;
  bool first_user = true;
  for (size_t i = first; i < msgs.size(); ++i) {
    if (msgs[i].role == "user") {
      out += style.user(msgs[i].content, system, first_user);
      first_user = false;
    } else if (msgs[i].role == "assistant") {
      out += style.assistant(msgs[i].content, eos);
    }
  }
  return out;
}

// Llama-2: each user turn after the first starts with BOS text; the system prompt sits inside
// the first [INST] block.
constexpr InstStyle kLlama2{
    [](const std::string& content, const std::string& system, bool first) {
      std::string sys = first && !system.empty() ? "<<SYS>>\n" + system + "\n<</SYS>>\n\n" : "";
      return std::string(first ? "" : "<s>") + "[INST] " + sys + trim(content) + " [/INST]";
    },
    [](const std::string& content, const std::string& eos) { return " " + trim(content) + " " + eos; }};

// Mistral v0.1-style: no system role; its text joins the first user message.
constexpr InstStyle kMistral{
    [](const std::string& content, const std::string& system, bool first) {
      return "[INST] " + (first && !system.empty() ? system + "\n\n" + content : content) + " [/INST]";
    },
    [](const std::string& content, const std::string& eos) { return content + eos; }};

}  // namespace

const char* chat_family_name(ChatFamily f) {
  switch (f) {
    case ChatFamily::Llama3: return "llama3";
    case ChatFamily::Llama2: return "llama2";
    case ChatFamily::Mistral: return "mistral";
    case ChatFamily::Phi3: return "phi3";
    case ChatFamily::Gemma: return "gemma";
    case ChatFamily::ChatML: return "chatml";
  }
  return "chatml";
}

ChatFamily detect_chat_family(const std::string& t, bool* known) {
  if (known) *known = true;
  if (contains(t, "<|start_header_id|>")) return ChatFamily::Llama3;
  if (contains(t, "<|im_start|>")) return ChatFamily::ChatML;
  if (contains(t, "<start_of_turn>")) return ChatFamily::Gemma;
  if (contains(t, "<|user|>") && contains(t, "<|end|>")) return ChatFamily::Phi3;
  if (contains(t, "[INST]")) return contains(t, "<<SYS>>") ? ChatFamily::Llama2 : ChatFamily::Mistral;
  if (known) *known = false;
  return ChatFamily::ChatML;
}

std::string render_chat(ChatFamily family, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt, const std::string& eos_text) {
  switch (family) {
    case ChatFamily::Llama3: return llama3(messages, add_generation_prompt);
    case ChatFamily::Llama2: return inst_turns(messages, eos_text, kLlama2);
    case ChatFamily::Mistral: return inst_turns(messages, eos_text, kMistral);
    case ChatFamily::Phi3: return phi3(messages, add_generation_prompt);
    case ChatFamily::Gemma: return gemma(messages, add_generation_prompt);
    case ChatFamily::ChatML: return chatml(messages, add_generation_prompt);
  }
  return chatml(messages, add_generation_prompt);
}

std::string apply_chat_template(const std::string& chat_template, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt, const std::string& eos_text) {
  bool known = false;
  ChatFamily family = detect_chat_family(chat_template, &known);
  // Once per process: chat and the server render every turn, and one model is loaded at a time.
  static std::atomic<bool> warned{false};
  if (!known && !warned.exchange(true))
    std::fprintf(stderr, "wgllm: warning: %s chat template; using ChatML (<|im_start|>role ... <|im_end|>)\n",
                 chat_template.empty() ? "no" : "unrecognised");
  return render_chat(family, messages, add_generation_prompt, eos_text);
}

}  // namespace wgllm
