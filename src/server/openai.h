// The OpenAI HTTP API as data: request bodies parsed and validated into a CompletionRequest, and
// the JSON of responses, stream chunks and errors. No sockets here, so every rule is unit-tested
// on plain strings. Unknown keys are ignored (clients send many); a known key with a wrong type
// or value is a 400 naming the key.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reference/sampler.h"
#include "tokenizer/chat_template.h"

namespace wgllm::server {

using json = nlohmann::ordered_json;

// An error the client caused (or a server state it must know about), sent as OpenAI sends them:
// {"error":{"message":...,"type":...,"param":...,"code":...}}; empty param/code become null.
struct ApiError : std::runtime_error {
  int status;
  std::string type, param, code;
  ApiError(int status, std::string message, std::string param = "", std::string code = "",
           std::string type = "invalid_request_error")
      : std::runtime_error(std::move(message)), status(status), type(std::move(type)), param(std::move(param)),
        code(std::move(code)) {}
};
json error_body(const ApiError& e);

// JSON text for the wire. A model can emit any byte sequence, and JSON strings carry only UTF-8:
// bytes that do not form UTF-8 characters become U+FFFD (as TokenStreamDecoder::finish does).
inline std::string wire(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

enum class Endpoint { Chat, Completion };

struct CompletionRequest {
  Endpoint endpoint = Endpoint::Chat;
  std::vector<ChatMessage> messages;  // chat: roles system | user | assistant ("developer" = system)
  std::string prompt;                 // completion
  std::optional<int> max_tokens;      // unset: chat runs to the context end, completion to 16
  SamplerParams sampling;             // OpenAI defaults: temperature 1, top_p 1, top_k/min_p off
  bool seed_given = false;
  std::vector<std::string> stop;  // at most 4, none empty
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage: a last chunk with the usage
};

// Throws ApiError(400) for malformed JSON, wrong types, missing messages/prompt, out-of-range values.
CompletionRequest parse_request(Endpoint endpoint, const std::string& body);

struct Usage {
  int prompt_tokens = 0, completion_tokens = 0;
};

// What every response and chunk of one request shares.
struct ResponseHead {
  Endpoint endpoint;
  std::string id;     // "chatcmpl-7" / "cmpl-7"
  std::string model;  // the served model's id
  int64_t created;    // unix seconds
};

json usage_json(const Usage& u);
// The whole non-streamed response.
json completion_json(const ResponseHead& h, const std::string& text, const std::string& finish_reason, const Usage& u);
// One streamed chunk: text (chat: the delta's content; first: also role "assistant"), or the final
// chunk when finish_reason is set, or (usage) the include_usage chunk with no choices.
json chunk_json(const ResponseHead& h, const std::string& text, bool first, const std::string& finish_reason);
json usage_chunk_json(const ResponseHead& h, const Usage& u);

}  // namespace wgllm::server
