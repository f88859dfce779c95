#include "server/server.h"

#include <dirent.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <httplib.h>

#include "server/openai.h"
#include "util/error.h"

namespace wgllm::server {
namespace {

using namespace std::chrono_literals;

// ---- Noticing that a client went away ---------------------------------------------------------
// httplib 0.11 does not give handlers the connection's socket, and a write is the only other way
// to learn the peer left (too late for a request still waiting in the queue). The socket is found
// by its address pair among our descriptors; it stays open while the handler runs.

std::string numeric_host(const sockaddr_storage& a, socklen_t len, int* port) {
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&a), len, host, sizeof host, serv, sizeof serv,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return "";
  *port = std::atoi(serv);
  return host;
}

int connection_fd(const httplib::Request& req) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  int found = -1;
  while (dirent* e = readdir(dir)) {
    const int fd = std::atoi(e->d_name);
    if (fd <= 2) continue;
    sockaddr_storage peer{}, local{};
    socklen_t peer_len = sizeof peer, local_len = sizeof local;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
    int peer_port = -1, local_port = -1;
    if (numeric_host(peer, peer_len, &peer_port) == req.remote_addr && peer_port == req.remote_port &&
        (numeric_host(local, local_len, &local_port), local_port == req.local_port)) {
      found = fd;
      break;
    }
  }
  closedir(dir);
  return found;
}

// True once the peer has closed (or reset) the connection. A client waiting for its answer does
// not shut down its sending side, so a hang-up means it is gone.
bool peer_gone(int fd) {
  if (fd < 0) return false;
  pollfd p{fd, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

// ---- Responses --------------------------------------------------------------------------------

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(wire(error_body(e)), "application/json");
}

std::string sse(const json& j) { return "data: " + wire(j) + "\n\n"; }

// Writes a streaming job's events as its text comes; false when the client left (the job is
// then cancelled), else the stream ends with `data: [DONE]`.
bool stream_events(Engine& engine, const std::shared_ptr<Job>& job, const ResponseHead& head, int fd,
                   bool include_usage, httplib::DataSink& sink) {
  auto send = [&](const std::string& s) { return sink.write(s.data(), s.size()); };
  const bool chat = head.endpoint == Endpoint::Chat;
  bool first = true, done = false;
  while (!done) {
    const std::string text = job->take(50ms, &done);
    if (peer_gone(fd)) break;
    if (text.empty() && !(first && chat)) continue;  // chat opens with the assistant's role at once
    if (!send(sse(chunk_json(head, text, first, "")))) break;
    first = false;
  }
  if (!done) {
    engine.cancel(job);
    return false;
  }
  if (!job->error.empty())
    send(sse(error_body(ApiError(500, job->error, "", "", "server_error"))));
  else if (job->finish_reason != "cancelled")
    send(sse(chunk_json(head, "", first, job->finish_reason)));
  if (include_usage) send(sse(usage_chunk_json(head, {job->prompt_tokens, job->completion_tokens})));
  send("data: [DONE]\n\n");
  sink.done();
  return true;
}

}  // namespace

Server::Server(ServerOptions options) : options_(std::move(options)) {
  if (options_.model_id.empty()) options_.model_id = std::filesystem::path(options_.engine.model_path).stem().string();
  engine_ = std::make_unique<Engine>(options_.engine);
  http_ = std::make_unique<httplib::Server>();
  routes();
}

Server::~Server() { stop(); }

int Server::start() {
  // A write to a socket whose peer has gone raises SIGPIPE, which would end the process; we want
  // the write's error instead (it is how a streaming request learns its client left).
  std::signal(SIGPIPE, SIG_IGN);
  int port = options_.port;
  if (port == 0) {
    port = http_->bind_to_any_port(options_.host);
    if (port < 0) fail("cannot listen on ", options_.host, " (any port)");
  } else if (!http_->bind_to_port(options_.host, port)) {
    fail("cannot listen on ", options_.host, ":", port, " (in use, or not an address of this machine)");
  }
  listener_ = std::thread([this] { http_->listen_after_bind(); });
  return port;
}

void Server::stop() {
  engine_->shutdown();  // first, so that handlers waiting on jobs return
  http_->stop();
  if (listener_.joinable()) listener_.join();
}

void Server::routes() {
  httplib::Server& http = *http_;
  Engine& engine = *engine_;
  // Every waiting request holds an HTTP thread; the spare ones answer 429s, /health and /v1/models.
  const size_t threads = size_t(options_.engine.queue) + 1 + 8;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(options_.max_body_bytes);

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (options_.api_key.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    if (auth == "Bearer " + options_.api_key) return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, ApiError(401,
                             auth.empty() ? "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."
                                          : "Incorrect API key provided.",
                             "", "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });

  // Statuses httplib sets itself (no route, body too large, unreadable request) get an error body too.
  http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 404)
      send_error(res, ApiError(404, cat("Invalid URL (", req.method, " ", req.path, ")"), "", "unknown_url"));
    else if (res.status == 413)
      send_error(res, ApiError(413, cat("The request body is larger than ", options_.max_body_bytes, " bytes."), "",
                               "request_too_large"));
    else
      send_error(res, ApiError(res.status, cat("The request could not be handled (HTTP ", res.status, ").")));
    return httplib::Server::HandlerResponse::Handled;
  }));

  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, ApiError(500, what, "", "", "server_error"));
  });

  if (options_.log_requests)
    http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      std::fprintf(stderr, "%s %s %d\n", req.method.c_str(), req.path.c_str(), res.status);
    });

  http.Get("/health", [&engine](const httplib::Request&, httplib::Response& res) {
    const EngineStats s = engine.stats();
    const json body = {{"status", "ok"},       {"backend", engine.backend_name()},
                       {"running", s.running}, {"waiting", s.waiting},
                       {"completed", s.completed}, {"cancelled", s.cancelled},
                       {"rejected", s.rejected}, {"generated_tokens", s.generated_tokens}};
    res.set_content(wire(body), "application/json");
  });

  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    const json model = {{"id", options_.model_id}, {"object", "model"}, {"created", 0}, {"owned_by", "wgllm"}};
    res.set_content(wire(json({{"object", "list"}, {"data", json::array({model})}})), "application/json");
  });

  auto completion = [this, &engine](Endpoint endpoint, const httplib::Request& req, httplib::Response& res) {
    try {
      const CompletionRequest r = parse_request(endpoint, req.body);
      const bool chat = endpoint == Endpoint::Chat;
      auto job = std::make_shared<Job>();
      job->prompt = chat ? engine.encode_chat(r.messages) : engine.encode_prompt(r.prompt);
      const char* param = chat ? "messages" : "prompt";
      if (job->prompt.empty()) throw ApiError(400, "The prompt encodes to no tokens.", param);
      const int n_prompt = int(job->prompt.size());
      if (n_prompt >= engine.context())
        throw ApiError(400,
                       cat("This model's maximum context length is ", engine.context(), " tokens, but the prompt has ",
                           n_prompt, " tokens."),
                       param, "context_length_exceeded");
      job->max_tokens = r.max_tokens.value_or(chat ? engine.context() - n_prompt : 16);
      job->sampling = r.sampling;
      if (!r.seed_given)
        job->sampling.seed = uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                             (next_id_.load() * 0x9E3779B97F4A7C15ull);
      job->stop = r.stop;
      const int fd = connection_fd(req);
      if (!engine.submit(job))
        throw ApiError(429,
                       cat("The server is busy: its queue of ", engine.options().queue,
                           " waiting requests is full (--queue). Retry later."),
                       "", "queue_full", "server_busy");
      const ResponseHead head{endpoint, cat(chat ? "chatcmpl-" : "cmpl-", next_id_++), options_.model_id,
                              int64_t(std::time(nullptr))};

      if (!r.stream) {
        std::string text;
        for (bool done = false; !done;) {
          text += job->take(50ms, &done);
          if (!done && peer_gone(fd)) engine.cancel(job);
        }
        if (!job->error.empty()) throw ApiError(500, job->error, "", "", "server_error");
        if (job->finish_reason == "cancelled")  // the client left (then nobody reads this) or we are stopping
          throw ApiError(503, "The request was cancelled: the server is shutting down.", "", "", "server_error");
        res.set_content(wire(completion_json(head, text, job->finish_reason, {job->prompt_tokens, job->completion_tokens})),
                        "application/json");
        return;
      }

      res.set_header("Cache-Control", "no-cache");
      const bool include_usage = r.include_usage;
      res.set_chunked_content_provider(
          "text/event-stream",
          [&engine, job, head, fd, include_usage](size_t, httplib::DataSink& sink) {
            try {
              return stream_events(engine, job, head, fd, include_usage, sink);
            } catch (const std::exception& e) {  // httplib does not catch here: it would end the process
              std::fprintf(stderr, "wgllm serve: stream ended by an error: %s\n", e.what());
              engine.cancel(job);
              return false;
            }
          },
          [&engine, job](bool) { engine.cancel(job); });  // no-op unless the stream ended early
    } catch (const ApiError& e) {
      send_error(res, e);
    } catch (const Error& e) {  // e.g. a tokenizer limit
      send_error(res, ApiError(400, e.what()));
    }
  };
  http.Post("/v1/chat/completions", [completion](const httplib::Request& req, httplib::Response& res) {
    completion(Endpoint::Chat, req, res);
  });
  http.Post("/v1/completions", [completion](const httplib::Request& req, httplib::Response& res) {
    completion(Endpoint::Completion, req, res);
  });
}

}  // namespace wgllm::server
