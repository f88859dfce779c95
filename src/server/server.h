// `wgllm serve`: an OpenAI-compatible HTTP server (cpp-httplib) in front of one Engine.
//   POST /v1/chat/completions, POST /v1/completions (streamed as server-sent events or not),
//   GET /v1/models, GET /health (never needs the API key).
// Requests are parsed and checked on the HTTP threads, then queued for the engine's worker; a
// full queue answers 429. A request whose client goes away (the connection closes while it waits
// or while it streams) is dropped or stopped after the current token.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "server/engine.h"

namespace httplib {
class Server;
}

namespace wgllm::server {

struct ServerOptions {
  EngineOptions engine;
  std::string host = "127.0.0.1";  // loopback unless asked otherwise
  int port = 8080;                 // 0: any free port (start() says which)
  std::string api_key;             // when set, every route but /health needs "Authorization: Bearer <key>"
  std::string model_id;            // the id /v1/models lists; default: the file name without .gguf
  size_t max_body_bytes = 1 << 20;
  bool log_requests = false;  // one line per request on stderr
};

class Server {
 public:
  explicit Server(ServerOptions options);  // loads the model; throws Error when it cannot
  ~Server();                               // stop()

  // Binds and serves on a background thread; returns the port. Throws Error when it cannot bind.
  int start();
  // Stops accepting, cancels queued and running requests, waits for the HTTP threads (idempotent).
  void stop();

  Engine& engine() { return *engine_; }
  const std::string& model_id() const { return options_.model_id; }

 private:
  void routes();
  ServerOptions options_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<httplib::Server> http_;
  std::thread listener_;
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace wgllm::server
