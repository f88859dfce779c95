// `wgllm serve [-m MODEL] [--host 127.0.0.1] [--port 8080] [--api-key K] [--backend webgpu|cpu]`:
// an OpenAI-compatible HTTP server (src/server, docs/serve.md). Ctrl-C or SIGTERM stops it:
// queued and running requests are cancelled, connections closed, the model freed.
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "cli/gpu_options.h"
#include "cli/option_checks.h"
#include "model/demo_model.h"
#include "runtime/webgpu_backend.h"
#include "server/server.h"

namespace wgllm::cli {
namespace {

struct ServeArgs {
  server::ServerOptions server;
  gpu::ContextOptions gpu;
};

void serve(ServeArgs& a) {
  // Every thread (the engine's worker, the HTTP pool) inherits this mask, so SIGINT and SIGTERM
  // reach only the sigwait below: shutdown runs on this thread, not in a signal handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  runtime::register_webgpu_backend(a.gpu);
  server::Server srv(a.server);
  const int port = srv.start();
  const server::EngineOptions& e = srv.engine().options();
  std::fprintf(stderr, "wgllm serve: model '%s' on the %s backend (context %d, queue %d)%s\n", srv.model_id().c_str(),
               srv.engine().backend_name().c_str(), srv.engine().context(), e.queue,
               a.server.api_key.empty() ? "" : ", API key required");
  std::fprintf(stderr, "listening on http://%s:%d\n", a.server.host.c_str(), port);
  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "wgllm serve: %s, shutting down\n", sig == SIGINT ? "interrupted" : "terminated");
  srv.stop();
}

Command serve_command("serve", "Serve a model over an OpenAI-compatible HTTP API", [](CLI::App& sub) {
  auto a = std::make_shared<ServeArgs>();
  server::ServerOptions& s = a->server;
  sub.add_option("-m,--model", s.engine.model_path, "GGUF model (default: the built-in demo model)");
  sub.add_option("--host", s.host, "Address to listen on (0.0.0.0: every interface)")->capture_default_str();
  sub.add_option("--port", s.port, "Port (0: any free one)")->capture_default_str()->check(in_range(0, 65535));
  sub.add_option("--api-key", s.api_key, "Require 'Authorization: Bearer KEY' on every route but /health")
      ->envname("WGLLM_API_KEY");
  sub.add_option("--backend", s.engine.backend, "Backend: webgpu or cpu (the reference)")->capture_default_str();
  sub.add_option("--ctx", s.engine.context, "KV cache size in tokens (capped by the model)")
      ->capture_default_str()
      ->check(in_range(1));
  sub.add_option("--queue", s.engine.queue, "Requests that may wait while one runs; more get 429")
      ->capture_default_str()
      ->check(in_range(0));
  sub.add_option("--alias", s.model_id, "Model id in /v1/models and responses (default: the file name)");
  sub.add_option("--max-body", s.max_body_bytes, "Largest request body in bytes (413 above)")
      ->capture_default_str()
      ->check(in_range(1));
  sub.add_flag("!--no-log", s.log_requests, "Do not print a line per request on stderr");
  s.log_requests = true;
  add_gpu_options(sub, a->gpu);
  sub.callback([a] {
    a->server.engine.model_path = model_or_demo(a->server.engine.model_path);
    serve(*a);
  });
});

}  // namespace
}  // namespace wgllm::cli
