#include "server/openai.h"

#include "util/error.h"

namespace wgllm::server {
namespace {

// The value of `key`, or nullptr when absent or null (OpenAI treats null as "use the default").
const json* find(const json& object, const std::string& key) {
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

[[noreturn]] void wrong_type(const std::string& key, const char* expected, const json& got) {
  throw ApiError(400, cat("Invalid type for '", key, "': expected ", expected, ", but got ", got.type_name(), " instead."),
                 key, "invalid_type");
}

[[noreturn]] void invalid_value(const std::string& key, const std::string& why) {
  throw ApiError(400, cat("Invalid value for '", key, "': ", why), key, "invalid_value");
}

// A number in [lo, hi] (or (lo, hi] when lo_open).
float number(const json& v, const std::string& key, double lo, double hi, bool lo_open = false) {
  if (!v.is_number()) wrong_type(key, "a number", v);
  const double x = v.get<double>();
  if (x < lo || x > hi || (lo_open && x == lo))
    invalid_value(key, cat("expected a number ", lo_open ? "above " : "from ", lo, lo_open ? " up to " : " to ", hi,
                           ", got ", v.dump(), "."));
  return float(x);
}

int64_t integer(const json& v, const std::string& key, int64_t lo, int64_t hi) {
  if (!v.is_number_integer()) wrong_type(key, "an integer", v);
  const int64_t x = v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX : v.get<int64_t>();
  if (x < lo || x > hi) invalid_value(key, cat("expected an integer from ", lo, " to ", hi, ", got ", v.dump(), "."));
  return x;
}

bool boolean(const json& v, const std::string& key) {
  if (!v.is_boolean()) wrong_type(key, "a boolean", v);
  return v.get<bool>();
}

// A message's content: a string, or an array of {"type":"text","text":...} parts (joined).
std::string content_text(const json& v, const std::string& key) {
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_array()) wrong_type(key, "a string or an array of content parts", v);
  std::string text;
  for (size_t i = 0; i < v.size(); i++) {
    const std::string part = cat(key, "[", i, "]");
    if (!v[i].is_object()) wrong_type(part, "an object", v[i]);
    const json* type = find(v[i], "type");
    if (!type || *type != "text")
      invalid_value(part + ".type", cat("only text content parts are supported, got ", type ? type->dump() : "none", "."));
    const json* t = find(v[i], "text");
    if (!t || !t->is_string()) wrong_type(part + ".text", "a string", t ? *t : json());
    text += t->get<std::string>();
  }
  return text;
}

std::vector<ChatMessage> parse_messages(const json& body) {
  const json* m = find(body, "messages");
  if (!m) throw ApiError(400, "Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
  if (!m->is_array()) wrong_type("messages", "an array", *m);
  if (m->empty())
    throw ApiError(400, "Invalid 'messages': empty array. Expected an array with at least one message.", "messages",
                   "empty_array");
  std::vector<ChatMessage> messages;
  for (size_t i = 0; i < m->size(); i++) {
    const std::string key = cat("messages[", i, "]");
    const json& msg = (*m)[i];
    if (!msg.is_object()) wrong_type(key, "an object", msg);
    const json* role = find(msg, "role");
    if (!role) throw ApiError(400, cat("Missing required parameter: '", key, ".role'."), key + ".role", "missing_required_parameter");
    if (!role->is_string()) wrong_type(key + ".role", "a string", *role);
    std::string r = role->get<std::string>();
    if (r == "developer") r = "system";
    if (r != "system" && r != "user" && r != "assistant")
      invalid_value(key + ".role", cat(role->dump(), " is not one of 'system', 'user', 'assistant'."));
    const json* content = find(msg, "content");
    if (!content && r != "assistant")
      throw ApiError(400, cat("Missing required parameter: '", key, ".content'."), key + ".content", "missing_required_parameter");
    messages.push_back({r, content ? content_text(*content, key + ".content") : ""});
  }
  return messages;
}

std::string parse_prompt(const json& body) {
  const json* p = find(body, "prompt");
  if (!p) throw ApiError(400, "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter");
  if (p->is_string()) return p->get<std::string>();
  if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) return (*p)[0].get<std::string>();
  if (p->is_array() && !p->empty() && (*p)[0].is_string())
    invalid_value("prompt", cat("only one prompt per request is supported, got ", p->size(), "."));
  wrong_type("prompt", "a string", *p);
}

std::vector<std::string> parse_stop(const json& v) {
  std::vector<std::string> stop;
  if (v.is_string()) {
    stop.push_back(v.get<std::string>());
  } else if (v.is_array()) {
    if (v.size() > 4) invalid_value("stop", cat("at most 4 stop sequences are supported, got ", v.size(), "."));
    for (size_t i = 0; i < v.size(); i++) {
      if (!v[i].is_string()) wrong_type(cat("stop[", i, "]"), "a string", v[i]);
      stop.push_back(v[i].get<std::string>());
    }
  } else {
    wrong_type("stop", "a string or an array of strings", v);
  }
  for (const std::string& s : stop)
    if (s.empty()) invalid_value("stop", "a stop sequence is empty.");
  return stop;
}

}  // namespace

json error_body(const ApiError& e) {
  auto or_null = [](const std::string& s) { return s.empty() ? json() : json(s); };
  return {{"error", {{"message", e.what()}, {"type", e.type}, {"param", or_null(e.param)}, {"code", or_null(e.code)}}}};
}

CompletionRequest parse_request(Endpoint endpoint, const std::string& body_text) {
  json body;
  try {
    body = json::parse(body_text);
  } catch (const json::parse_error& e) {
    // e.byte counts from 1 and is one past the end when the text stops early.
    throw ApiError(400,
                   e.byte > body_text.size()
                       ? cat("The request body is not valid JSON (it ends early, after ", body_text.size(), " bytes).")
                       : cat("The request body is not valid JSON (syntax error at byte ", e.byte, ")."),
                   "", "invalid_json");
  }
  if (!body.is_object()) throw ApiError(400, cat("The request body must be a JSON object, got ", body.type_name(), "."));

  CompletionRequest r;
  r.endpoint = endpoint;
  if (endpoint == Endpoint::Chat)
    r.messages = parse_messages(body);
  else
    r.prompt = parse_prompt(body);
  if (const json* m = find(body, "model"); m && !m->is_string()) wrong_type("model", "a string", *m);

  SamplerParams& s = r.sampling;
  s.temperature = 1, s.top_p = 1, s.top_k = 0, s.min_p = 0;
  if (const json* v = find(body, "temperature")) s.temperature = number(*v, "temperature", 0, 2);
  if (const json* v = find(body, "top_p")) s.top_p = number(*v, "top_p", 0, 1, true);
  if (const json* v = find(body, "top_k")) s.top_k = int(integer(*v, "top_k", 0, 1 << 30));
  if (const json* v = find(body, "min_p")) s.min_p = number(*v, "min_p", 0, 1);
  for (const char* key : {"repeat_penalty", "repetition_penalty"})
    if (const json* v = find(body, key)) s.repeat_penalty = number(*v, key, 0, 10, true);
  if (const json* v = find(body, "repeat_last_n")) s.repeat_last_n = int(integer(*v, "repeat_last_n", 0, 1 << 20));
  if (const json* v = find(body, "seed")) {
    s.seed = uint64_t(integer(*v, "seed", INT64_MIN, INT64_MAX));
    r.seed_given = true;
  }
  for (const char* key : {"max_tokens", "max_completion_tokens"})
    if (const json* v = find(body, key)) r.max_tokens = int(integer(*v, key, 1, 1 << 30));
  if (const json* v = find(body, "n"); v && integer(*v, "n", 1, 1 << 30) != 1)
    invalid_value("n", cat("only n = 1 is supported, got ", v->dump(), "."));
  if (const json* v = find(body, "stop")) r.stop = parse_stop(*v);
  if (const json* v = find(body, "stream")) r.stream = boolean(*v, "stream");
  if (const json* v = find(body, "stream_options")) {
    if (!v->is_object()) wrong_type("stream_options", "an object", *v);
    if (const json* u = find(*v, "include_usage")) r.include_usage = boolean(*u, "stream_options.include_usage");
  }
  // Accepted at their neutral value only: refusing beats silently ignoring what was asked.
  for (const char* key : {"presence_penalty", "frequency_penalty"})
    if (const json* v = find(body, key); v && number(*v, key, -2, 2) != 0)
      invalid_value(key, cat("only 0 is supported, got ", v->dump(), "."));
  for (const char* key : {"logprobs", "echo"})
    if (const json* v = find(body, key); v && boolean(*v, key))
      invalid_value(key, cat(key, " is not supported."));
  if (const json* v = find(body, "best_of"); v && integer(*v, "best_of", 1, 1 << 30) != 1)
    invalid_value("best_of", cat("only best_of = 1 is supported, got ", v->dump(), "."));
  return r;
}

json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens}};
}

namespace {
json head_json(const ResponseHead& h, bool chunk) {
  const bool chat = h.endpoint == Endpoint::Chat;
  return {{"id", h.id},
          {"object", chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion"},
          {"created", h.created},
          {"model", h.model}};
}
}  // namespace

json completion_json(const ResponseHead& h, const std::string& text, const std::string& finish_reason, const Usage& u) {
  json r = head_json(h, false);
  json choice = {{"index", 0}};
  if (h.endpoint == Endpoint::Chat)
    choice["message"] = {{"role", "assistant"}, {"content", text}};
  else
    choice["text"] = text;
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = finish_reason;
  r["choices"] = json::array({choice});
  r["usage"] = usage_json(u);
  return r;
}

json chunk_json(const ResponseHead& h, const std::string& text, bool first, const std::string& finish_reason) {
  json r = head_json(h, true);
  json choice = {{"index", 0}};
  if (h.endpoint == Endpoint::Chat) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (finish_reason.empty()) delta["content"] = text;
    choice["delta"] = delta;
  } else {
    choice["text"] = text;
  }
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = finish_reason.empty() ? json() : json(finish_reason);
  r["choices"] = json::array({choice});
  return r;
}

json usage_chunk_json(const ResponseHead& h, const Usage& u) {
  json r = head_json(h, true);
  r["choices"] = json::array();
  r["usage"] = usage_json(u);
  return r;
}

}  // namespace wgllm::server
