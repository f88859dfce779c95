// Chat prompts: the model's tokenizer.chat_template (Jinja) is recognised by family and rendered
// by a small C++ function per family that writes what that template writes. We do not run Jinja.
// The rendered text never starts with the BOS token: encode it with add_special=true, which adds
// BOS where the vocabulary says so (llama.cpp's convention for its built-in templates).
#pragma once
#include <string>
#include <vector>

namespace wgllm {

enum class ChatFamily {
  Llama3,   // <|start_header_id|>role<|end_header_id|>\n\n content <|eot_id|>
  Llama2,   // [INST] <<SYS>>\n system \n<</SYS>>\n\n user [/INST] assistant </s>
  Mistral,  // [INST] user [/INST]assistant</s> (system text joins the first user turn)
  Phi3,     // <|user|>\n content <|end|>\n
  Gemma,    // <start_of_turn>user\n content <end_of_turn>\n ; assistant is "model", no system role
  ChatML,   // <|im_start|>role\n content <|im_end|>\n (Qwen, and the fallback)
};

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant"
  std::string content;
};

const char* chat_family_name(ChatFamily f);
// Recognises the family from marker strings in the template. `known` is set to false (and
// ChatML returned) for an empty or unrecognised template.
ChatFamily detect_chat_family(const std::string& chat_template, bool* known = nullptr);

// Renders the conversation as the family's template does. add_generation_prompt appends the
// opening of the assistant's turn. eos_text is the EOS token's text (used after assistant turns
// by the [INST] families).
std::string render_chat(ChatFamily family, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt, const std::string& eos_text = "</s>");

// detect + render; prints a warning on stderr when the template is not recognised.
std::string apply_chat_template(const std::string& chat_template, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt, const std::string& eos_text = "</s>");

}  // namespace wgllm
