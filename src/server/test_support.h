// Shared by the server's integration tests: a tiny model made once per test binary, the CPU
// reference's greedy/seeded text for a prompt, and small HTTP helpers over httplib::Client.
#pragma once
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "model/presets.h"
#include "reference/backend.h"
#include "reference/generator.h"
#include "server/loadtest.h"
#include "server/openai.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_data.h"

namespace wgllm::server::test {

// tiny-llama, Q8_0, seed 1, in a temporary folder removed at exit.
inline const std::string& model_path() {
  static const std::string path = [] {
    char dir[] = "/tmp/wgllm-serve-XXXXXX";
    if (!::mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
    static const std::string folder = dir;
    std::atexit([] { std::filesystem::remove_all(folder); });
    MakeModelOptions o;
    o.quant = "Q8_0";
    o.progress = false;
    write_synthetic_model(find_preset("tiny-llama"), o, folder + "/tiny.gguf");
    return folder + "/tiny.gguf";
  }();
  return path;
}

inline Tokenizer model_tokenizer() { return Tokenizer(tokenizer_data_from_gguf(*GgufFile::open(model_path()))); }

inline std::vector<int> prompt_ids(const std::string& text) {
  const std::vector<int32_t> ids = model_tokenizer().encode(text, true);
  return {ids.begin(), ids.end()};
}

inline std::vector<int> chat_ids(const std::vector<ChatMessage>& messages) {
  const Tokenizer tok = model_tokenizer();
  const std::string eos = tok.eos() >= 0 ? tok.token_bytes(tok.eos()) : "</s>";
  const std::vector<int32_t> ids = tok.encode(apply_chat_template(tok.data().chat_template, messages, true, eos), true);
  return {ids.begin(), ids.end()};
}

struct Generated {
  std::string text;
  int tokens = 0;
  bool stopped_by_token = false;
};

// What the CPU reference generator produces for these prompt tokens, from an empty cache.
inline Generated reference_text(const std::vector<int>& prompt, int max_tokens, SamplerParams sampling) {
  const Tokenizer tok = model_tokenizer();
  BackendOptions bo;
  bo.max_context = 256;
  std::unique_ptr<Backend> backend = open_backend("cpu", model_path(), bo);
  Sampler sampler(sampling);
  GenerateOptions gen;
  gen.max_tokens = max_tokens;
  for (int id = 0; id < tok.n_vocab(); id++)
    if (tok.is_eog(id)) gen.stop_tokens.push_back(id);
  TokenStreamDecoder stream(tok);
  Generated g;
  const GenerationStats st = generate(*backend, sampler, prompt, gen, [&](int t) {
    g.text += stream.push(t);
    return true;
  });
  g.text += stream.finish();
  g.text = json::parse(wire(json(g.text))).get<std::string>();  // what JSON can carry (openai.h: wire)
  g.tokens = st.generated_tokens;
  g.stopped_by_token = st.stopped_by_token;
  return g;
}

inline SamplerParams greedy() {
  SamplerParams s;
  s.temperature = 0;
  return s;
}

struct Reply {
  int status = -1;  // -1: no answer
  std::string body, content_type;
  json json_body() const { return json::parse(body, nullptr, false); }
};

inline Reply request(int port, const std::string& method, const std::string& path, const std::string& body = "",
                     const std::string& api_key = "") {
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(60, 0);
  httplib::Headers headers;
  if (!api_key.empty()) headers.emplace("Authorization", "Bearer " + api_key);
  httplib::Result r = method == "GET" ? http.Get(path.c_str(), headers)
                                      : http.Post(path.c_str(), headers, body, "application/json");
  Reply reply;
  if (!r) return reply;
  reply.status = r->status;
  reply.body = r->body;
  reply.content_type = r->get_header_value("Content-Type");
  return reply;
}

inline Reply post(int port, const std::string& path, const json& body, const std::string& api_key = "") {
  return request(port, "POST", path, body.dump(), api_key);
}

struct Stream {
  int status = -1;
  std::string content_type;
  std::vector<json> chunks;  // every data payload but [DONE]
  bool done_last = false;    // the last payload was [DONE]
  std::string text;          // the concatenated content / text of the chunks
  std::string finish_reason;
  json usage;
};

// POSTs a streaming request and parses its events. `on_chunk` may return false to hang up.
inline Stream post_stream(int port, const std::string& path, const json& body,
                          const std::function<bool(const Stream&)>& on_chunk = nullptr) {
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(60, 0);
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  Stream s;
  SseParser parser;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    for (const std::string& payload : parser.feed(data, n)) {
      s.done_last = payload == "[DONE]";
      if (s.done_last) continue;
      json chunk = json::parse(payload);
      if (chunk.contains("usage") && chunk["usage"].is_object()) s.usage = chunk["usage"];
      if (!chunk["choices"].empty()) {
        const json& c = chunk["choices"][0];
        s.text += c.contains("delta") ? c["delta"].value("content", std::string()) : c.value("text", std::string());
        if (c["finish_reason"].is_string()) s.finish_reason = c["finish_reason"];
      }
      s.chunks.push_back(std::move(chunk));
      if (on_chunk && !on_chunk(s)) return false;
    }
    return true;
  };
  httplib::Response res;
  httplib::Error error;
  if (http.send(req, res, error)) {
    s.status = res.status;
    s.content_type = res.get_header_value("Content-Type");
  }
  return s;
}

}  // namespace wgllm::server::test
