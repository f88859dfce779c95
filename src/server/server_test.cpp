// The server end to end on the CPU backend: a real Server on an ephemeral loopback port, talked
// to with httplib::Client. Replies are checked against the CPU reference generator run here.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <thread>

#include "server/server.h"
#include "server/test_support.h"

// AddressSanitizer builds (GCC defines __SANITIZE_ADDRESS__, Clang answers __has_feature): the
// sanitizer runtime's C interface, declared here because GCC ships no header for it.
#if defined(__SANITIZE_ADDRESS__)
#define WGLLM_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WGLLM_TEST_ASAN 1
#endif
#endif
#ifdef WGLLM_TEST_ASAN
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace wgllm::server {
namespace {

using namespace test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Running {
  std::unique_ptr<Server> server;
  int port = 0;
};

Running start(ServerOptions o) {
  o.engine.model_path = model_path();
  o.port = 0;
  Running r;
  r.server = std::make_unique<Server>(o);
  r.port = r.server->start();
  return r;
}

ServerOptions cpu_options() {
  ServerOptions o;
  o.engine.backend = "cpu";
  o.engine.context = 256;
  o.engine.queue = 4;
  o.max_body_bytes = 64 << 10;
  return o;
}

// One CPU server shared by the tests that need no special setting.
class ServeCpu : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { shared_ = new Running(start(cpu_options())); }
  static void TearDownTestSuite() { delete shared_; }
  int port() const { return shared_->port; }
  static Running* shared_;
};
Running* ServeCpu::shared_ = nullptr;

TEST_F(ServeCpu, CompletionEqualsTheReferenceGreedyText) {
  const Reply r = post(port(), "/v1/completions", {{"prompt", "Once upon a time"}, {"max_tokens", 12}, {"temperature", 0}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  const json j = r.json_body();
  const std::vector<int> ids = prompt_ids("Once upon a time");
  const Generated ref = reference_text(ids, 12, greedy());
  ASSERT_EQ(ref.tokens, 12);  // the test needs a reply that runs to max_tokens
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["model"], "tiny");
  EXPECT_EQ(j["choices"][0]["text"], ref.text);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(j["usage"]["prompt_tokens"], int(ids.size()));
  EXPECT_EQ(j["usage"]["completion_tokens"], 12);
  EXPECT_EQ(j["usage"]["total_tokens"], int(ids.size()) + 12);
}

TEST_F(ServeCpu, ChatCompletionUsesTheChatTemplateAndReusesTheConversation) {
  std::vector<ChatMessage> conv = {{"system", "You are terse."}, {"user", "Hello there"}};
  auto body = [](const std::vector<ChatMessage>& m) {
    json msgs = json::array();
    for (const ChatMessage& c : m) msgs.push_back({{"role", c.role}, {"content", c.content}});
    return json{{"messages", msgs}, {"max_tokens", 10}, {"temperature", 0}};
  };
  const Reply first = post(port(), "/v1/chat/completions", body(conv));
  ASSERT_EQ(first.status, 200) << first.body;
  const json j = first.json_body();
  const Generated ref = reference_text(chat_ids(conv), 10, greedy());
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], ref.text);
  EXPECT_EQ(j["usage"]["prompt_tokens"], int(chat_ids(conv).size()));
  EXPECT_EQ(j["usage"]["completion_tokens"], ref.tokens);
  // The second turn starts with the first one's tokens: the server feeds only the new part, and
  // the reply must still equal a fresh run of the whole conversation.
  conv.push_back({"assistant", ref.text});
  conv.push_back({"user", "Tell me more"});
  const Reply second = post(port(), "/v1/chat/completions", body(conv));
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.json_body()["choices"][0]["message"]["content"], reference_text(chat_ids(conv), 10, greedy()).text);
}

TEST_F(ServeCpu, StreamedTextEqualsTheNonStreamedText) {
  const json chat = {{"messages", {{{"role", "user"}, {"content", "Write a poem"}}}},
                     {"max_tokens", 16},
                     {"temperature", 0},
                     {"stream", true},
                     {"stream_options", {{"include_usage", true}}}};
  const Stream s = post_stream(port(), "/v1/chat/completions", chat);
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(s.content_type, "text/event-stream");
  EXPECT_TRUE(s.done_last);
  ASSERT_GE(s.chunks.size(), 3u);
  EXPECT_EQ(s.chunks.front()["object"], "chat.completion.chunk");
  EXPECT_EQ(s.chunks.front()["choices"][0]["delta"]["role"], "assistant");
  const std::vector<int> ids = chat_ids({{"user", "Write a poem"}});
  const Generated ref = reference_text(ids, 16, greedy());
  EXPECT_EQ(s.text, ref.text);
  EXPECT_EQ(s.finish_reason, ref.stopped_by_token ? "stop" : "length");
  EXPECT_EQ(s.usage["prompt_tokens"], int(ids.size()));
  EXPECT_EQ(s.usage["completion_tokens"], ref.tokens);
  json plain = chat;
  plain.erase("stream");
  plain.erase("stream_options");
  const Reply r = post(port(), "/v1/chat/completions", plain);
  EXPECT_EQ(r.json_body()["choices"][0]["message"]["content"], s.text);

  const Stream c = post_stream(port(), "/v1/completions", {{"prompt", "The sky"}, {"max_tokens", 9}, {"temperature", 0}, {"stream", true}});
  ASSERT_EQ(c.status, 200);
  EXPECT_TRUE(c.done_last);
  EXPECT_EQ(c.chunks.front()["object"], "text_completion");
  EXPECT_EQ(c.text, reference_text(prompt_ids("The sky"), 9, greedy()).text);
  EXPECT_TRUE(c.usage.is_null());  // only with stream_options.include_usage
}

TEST_F(ServeCpu, StopStringsEndTheReplyBeforeThem) {
  const std::vector<int> ids = prompt_ids("Once upon a time");
  const std::string full = reference_text(ids, 40, greedy()).text;
  // A two-character stop string from the middle of the reply (ASCII, so it cannot split a character).
  size_t at = full.size() / 2;
  while (at + 1 < full.size() && (uint8_t(full[at]) >= 0x80 || uint8_t(full[at + 1]) >= 0x80)) at++;
  ASSERT_LT(at + 1, full.size()) << full;
  const std::string stop = full.substr(at, 2);
  const std::string expected = full.substr(0, full.find(stop));
  const json body = {{"prompt", "Once upon a time"}, {"max_tokens", 40}, {"temperature", 0}, {"stop", {"\x01zz", stop}}};
  const Reply r = post(port(), "/v1/completions", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["choices"][0]["text"], expected);
  EXPECT_EQ(r.json_body()["choices"][0]["finish_reason"], "stop");
  json streamed = body;
  streamed["stream"] = true;
  streamed["stop"] = stop;  // the string form
  const Stream s = post_stream(port(), "/v1/completions", streamed);
  EXPECT_EQ(s.text, expected);
  EXPECT_EQ(s.finish_reason, "stop");
}

TEST_F(ServeCpu, SeededSamplingFollowsTheSamplerSettings) {
  SamplerParams sp;
  sp.temperature = 0.9f, sp.top_p = 0.8f, sp.top_k = 20, sp.min_p = 0.02f, sp.repeat_penalty = 1.2f, sp.seed = 1234;
  const json body = {{"prompt", "Hello"},  {"max_tokens", 12}, {"temperature", 0.9}, {"top_p", 0.8}, {"top_k", 20},
                     {"min_p", 0.02},      {"repeat_penalty", 1.2}, {"seed", 1234}};
  const Reply a = post(port(), "/v1/completions", body), b = post(port(), "/v1/completions", body);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.json_body()["choices"][0]["text"], reference_text(prompt_ids("Hello"), 12, sp).text);
  EXPECT_EQ(b.json_body()["choices"][0]["text"], a.json_body()["choices"][0]["text"]);
}

TEST_F(ServeCpu, ModelsAndHealth) {
  const Reply m = request(port(), "GET", "/v1/models");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.json_body()["object"], "list");
  EXPECT_EQ(m.json_body()["data"][0]["id"], "tiny");
  const Reply h = request(port(), "GET", "/health");
  ASSERT_EQ(h.status, 200);
  EXPECT_EQ(h.json_body()["status"], "ok");
  EXPECT_EQ(h.json_body()["backend"], "cpu");
}

struct BadRequest {
  std::string method, path, body;
  int status;
  std::string message, param, code;  // "" = null
};

TEST_F(ServeCpu, BadInputGetsAnOpenAiErrorAndTheServerKeepsServing) {
  std::string long_prompt;
  for (int i = 0; i < 300; i++) long_prompt += "word ";
  const int long_tokens = int(prompt_ids(long_prompt).size());
  const BadRequest cases[] = {
      {"POST", "/v1/chat/completions", "{\"messages\": [", 400,
       "The request body is not valid JSON (it ends early, after 14 bytes).", "", "invalid_json"},
      {"POST", "/v1/chat/completions", R"({"messages": {"role": "user"}})", 400,
       "Invalid type for 'messages': expected an array, but got object instead.", "messages", "invalid_type"},
      {"POST", "/v1/chat/completions", R"({"model": "tiny"})", 400, "Missing required parameter: 'messages'.",
       "messages", "missing_required_parameter"},
      {"POST", "/v1/completions", R"({"max_tokens": 3})", 400, "Missing required parameter: 'prompt'.", "prompt",
       "missing_required_parameter"},
      {"POST", "/v1/completions", json{{"prompt", long_prompt}}.dump(), 400,
       "This model's maximum context length is 256 tokens, but the prompt has " + std::to_string(long_tokens) + " tokens.",
       "prompt", "context_length_exceeded"},
      {"POST", "/v1/completions", R"({"prompt": "a", "temperature": -1})", 400,
       "Invalid value for 'temperature': expected a number from 0 to 2, got -1.", "temperature", "invalid_value"},
      {"POST", "/v1/chat/completions", R"({"messages": [{"role": "user", "content": "a"}], "n": 2})", 400,
       "Invalid value for 'n': only n = 1 is supported, got 2.", "n", "invalid_value"},
      {"POST", "/v1/chat/completions", R"({"messages": [{"role": "wizard", "content": "a"}]})", 400,
       "Invalid value for 'messages[0].role': \"wizard\" is not one of 'system', 'user', 'assistant'.",
       "messages[0].role", "invalid_value"},
      {"POST", "/v1/nope", "{}", 404, "Invalid URL (POST /v1/nope)", "", "unknown_url"},
      {"GET", "/v1/chat/completions", "", 404, "Invalid URL (GET /v1/chat/completions)", "", "unknown_url"},
      {"POST", "/v1/completions", std::string(70 << 10, ' '), 413, "The request body is larger than 65536 bytes.", "",
       "request_too_large"},
  };
  ASSERT_GT(long_tokens, 256);
  for (const BadRequest& c : cases) {
    const Reply r = request(port(), c.method, c.path, c.body);
    SCOPED_TRACE(c.method + " " + c.path + " " + c.body.substr(0, 80));
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    const json e = r.json_body();
    ASSERT_TRUE(e.contains("error")) << r.body;
    EXPECT_EQ(e["error"]["message"], c.message);
    EXPECT_EQ(e["error"]["type"], "invalid_request_error");
    EXPECT_EQ(e["error"]["param"], c.param.empty() ? json() : json(c.param));
    EXPECT_EQ(e["error"]["code"], c.code.empty() ? json() : json(c.code));
  }
  // A bad streaming request is refused before any event is sent.
  const Stream s = post_stream(port(), "/v1/completions", {{"prompt", "a"}, {"stream", true}, {"top_p", 2}});
  EXPECT_EQ(s.status, 400);
  EXPECT_TRUE(s.chunks.empty());
  const Reply ok = post(port(), "/v1/completions", {{"prompt", "Still there?"}, {"max_tokens", 3}, {"temperature", 0}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json_body()["choices"][0]["text"], reference_text(prompt_ids("Still there?"), 3, greedy()).text);
}

TEST(Serve, ApiKeyIsRequiredOnEveryRouteButHealth) {
  ServerOptions o = cpu_options();
  o.api_key = "sekret-42";
  Running s = start(o);
  EXPECT_EQ(request(s.port, "GET", "/health").status, 200);
  const Reply missing = request(s.port, "GET", "/v1/models");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.json_body()["error"]["message"], "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.");
  EXPECT_EQ(missing.json_body()["error"]["code"], "invalid_api_key");
  const Reply wrong = request(s.port, "POST", "/v1/completions", R"({"prompt":"a"})", "sekret-43");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.json_body()["error"]["message"], "Incorrect API key provided.");
  EXPECT_EQ(request(s.port, "GET", "/v1/nope", "", "wrong").status, 401);  // unknown routes too
  EXPECT_EQ(request(s.port, "GET", "/v1/models", "", "sekret-42").status, 200);
  const Reply ok = request(s.port, "POST", "/v1/completions", R"({"prompt":"a","max_tokens":2})", "sekret-42");
  EXPECT_EQ(ok.status, 200) << ok.body;
}

// ---- Queueing and cancellation: a backend whose steps wait at a gate the test controls -------

struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = true;
  int delay_ms = 0;  // per step
  void set(bool o) {
    std::lock_guard lock(mutex);
    open = o;
    cv.notify_all();
  }
};
Gate g_gate;

class GatedBackend : public Backend {
 public:
  explicit GatedBackend(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}
  std::string name() const override { return "gated-cpu"; }
  const ModelConfig& config() const override { return inner_->config(); }
  int max_context() const override { return inner_->max_context(); }
  int n_past() const override { return inner_->n_past(); }
  void reset() override { inner_->reset(); }
  void rewind(int n) override { inner_->rewind(n); }
  std::vector<float> eval(std::span<const int> tokens, bool all_logits) override {
    {
      std::unique_lock lock(g_gate.mutex);
      g_gate.cv.wait(lock, [] { return g_gate.open; });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(g_gate.delay_ms));
    return inner_->eval(tokens, all_logits);
  }

 private:
  std::unique_ptr<Backend> inner_;
};

Running start_gated(int queue, int delay_ms) {
  register_backend("gated-cpu", [](const std::string& path, const BackendOptions& o) -> std::unique_ptr<Backend> {
    return std::make_unique<GatedBackend>(open_backend("cpu", path, o));
  });
  g_gate.set(true);
  g_gate.delay_ms = delay_ms;
  ServerOptions o = cpu_options();
  o.engine.backend = "gated-cpu";
  o.engine.queue = queue;
  return start(o);
}

// Polls /health until `pred` holds (5 s at most); returns the last answer.
json wait_health(int port, const std::function<bool(const json&)>& pred) {
  json h;
  for (auto end = Clock::now() + 5s; Clock::now() < end; std::this_thread::sleep_for(10ms)) {
    h = request(port, "GET", "/health").json_body();
    if (pred(h)) break;
  }
  return h;
}

const json kLongStream = {{"prompt", "Go on and on"}, {"max_tokens", 200}, {"temperature", 0}, {"stream", true}};

TEST(ServeQueue, FullQueueAnswers429AndTheQueuedRequestsStillRun) {
  Running s = start_gated(/*queue=*/1, 0);
  g_gate.set(false);
  Stream a;
  Reply b;
  std::thread ta([&] { a = post_stream(s.port, "/v1/completions", kLongStream); });
  EXPECT_EQ(wait_health(s.port, [](const json& h) { return h["running"] == 1; })["running"], 1);
  std::thread tb([&] { b = post(s.port, "/v1/completions", {{"prompt", "B"}, {"max_tokens", 3}, {"temperature", 0}}); });
  EXPECT_EQ(wait_health(s.port, [](const json& h) { return h["waiting"] == 1; })["waiting"], 1);
  const Reply c = post(s.port, "/v1/completions", {{"prompt", "C"}, {"max_tokens", 3}});
  EXPECT_EQ(c.status, 429);
  EXPECT_EQ(c.body,
            R"({"error":{"message":"The server is busy: its queue of 1 waiting requests is full (--queue). Retry later.",)"
            R"("type":"server_busy","param":null,"code":"queue_full"}})");
  g_gate.set(true);
  ta.join();
  tb.join();
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(a.done_last);
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.json_body()["choices"][0]["text"], reference_text(prompt_ids("B"), 3, greedy()).text);
  EXPECT_EQ(request(s.port, "GET", "/health").json_body()["rejected"], 1);
}

TEST(ServeCancel, ClientLeavingMidStreamStopsGenerationAndTheNextRequestRunsPromptly) {
  Running s = start_gated(4, /*delay_ms=*/20);  // 200 tokens would take 4 s
  const Stream a = post_stream(s.port, "/v1/completions", kLongStream, [](const Stream& st) { return st.chunks.size() < 3; });
  EXPECT_EQ(a.chunks.size(), 3u);
  EXPECT_FALSE(a.done_last);
  const auto left = Clock::now();
  const Reply b = post(s.port, "/v1/completions", {{"prompt", "Next"}, {"max_tokens", 3}, {"temperature", 0}});
  const double waited = std::chrono::duration<double>(Clock::now() - left).count();
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_LT(waited, 2.0);  // 4 steps at 20 ms + compute + noticing the hang-up; uncancelled: 200 steps, > 4 s
  const json h = request(s.port, "GET", "/health").json_body();
  EXPECT_EQ(h["cancelled"], 1);
  EXPECT_EQ(h["completed"], 1);
  EXPECT_LT(h["generated_tokens"].get<int>(), 3 + 50);
}

TEST(ServeCancel, QueuedRequestIsDroppedWhenItsClientLeaves) {
  Running s = start_gated(4, 0);
  g_gate.set(false);
  Stream a;
  std::thread ta([&] { a = post_stream(s.port, "/v1/completions", kLongStream); });
  wait_health(s.port, [](const json& h) { return h["running"] == 1; });
  std::thread tb([&] {
    httplib::Client impatient("127.0.0.1", s.port);
    impatient.set_read_timeout(0, 500000);  // gives up after 0.5 s and closes the connection
    EXPECT_FALSE(impatient.Post("/v1/completions", R"({"prompt":"B","max_tokens":3})", "application/json"));
  });
  EXPECT_EQ(wait_health(s.port, [](const json& h) { return h["waiting"] == 1; })["waiting"], 1);  // it was queued
  tb.join();
  const json h = wait_health(s.port, [](const json& h) { return h["waiting"] == 0; });
  EXPECT_EQ(h["waiting"], 0);
  EXPECT_EQ(h["cancelled"], 1);
  EXPECT_EQ(h["running"], 1);  // the first request is untouched
  g_gate.set(true);
  ta.join();
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(a.done_last);
  EXPECT_EQ(request(s.port, "GET", "/health").json_body()["completed"], 1);
}

TEST(ServeShutdown, StopEndsRunningAndQueuedRequests) {
  Running s = start_gated(4, 0);
  g_gate.set(false);
  Stream a;
  Reply b;
  std::thread ta([&] { a = post_stream(s.port, "/v1/completions", kLongStream); });
  wait_health(s.port, [](const json& h) { return h["running"] == 1; });
  std::thread tb([&] { b = post(s.port, "/v1/completions", {{"prompt", "B"}, {"max_tokens", 3}}); });
  wait_health(s.port, [](const json& h) { return h["waiting"] == 1; });
  std::thread opener([] {
    std::this_thread::sleep_for(100ms);  // the running step finishes; the flag stops the next
    g_gate.set(true);
  });
  const auto t0 = Clock::now();
  s.server->stop();
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 3.0);
  opener.join();
  ta.join();
  tb.join();
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(a.done_last);  // the stream is closed properly
  EXPECT_EQ(b.status, 503);
  EXPECT_EQ(b.json_body()["error"]["message"], "The request was cancelled: the server is shutting down.");
}


// ---- Load: the CI-sized run of the load client (docs/serve.md has a longer one) ---------------

TEST(ServeLoad, ConcurrentStreamingClientsAllSucceed) {
  ServerOptions o = cpu_options();
  o.engine.queue = 8;
  Running s = start(o);
#ifdef WGLLM_TEST_ASAN
  const int64_t live_start = int64_t(__sanitizer_get_current_allocated_bytes());
#endif
  const LoadReport r = run_load({.port = s.port, .clients = 4, .seconds = 6, .max_tokens = 16, .server_pid = int(::getpid())});
  std::printf("%s", r.text().c_str());
  EXPECT_EQ(r.failures, 0) << r.first_failure;
  EXPECT_EQ(r.rejected, 0);  // 4 clients never fill a queue of 8
  EXPECT_GE(r.requests, 4);  // each client finished at least one
  EXPECT_GE(r.tokens, uint64_t(r.requests));  // sampled at temperature 1: an end token may come early
  EXPECT_LE(r.tokens, uint64_t(r.requests) * 16);
  EXPECT_GT(r.prompt_tokens, uint64_t(r.requests) * 10);
  EXPECT_LE(r.p50_latency, r.p95_latency);
  EXPECT_GT(r.rss_start_kb, 0);
#ifdef WGLLM_TEST_ASAN
  // Under AddressSanitizer the RSS also holds the quarantine of freed blocks (up to 256 MiB by
  // default; a CI run grew 35 MiB that way), so the growth is read as the heap's live bytes.
  EXPECT_LT(int64_t(__sanitizer_get_current_allocated_bytes()) - live_start, int64_t(32) << 20);
#else
  EXPECT_LT(r.rss_end_kb - r.rss_start_kb, 32 << 10);  // KiB: no growth with the request count
#endif
  EXPECT_EQ(request(s.port, "GET", "/health").json_body()["completed"], r.requests);
}

TEST(ServeLoad, RefusalsAreCountedApartFromFailures) {
  ServerOptions o = cpu_options();
  o.engine.queue = 0;  // only the running request: every overlap is refused
  Running s = start(o);
  const LoadReport r = run_load({.port = s.port, .clients = 4, .seconds = 2, .max_tokens = 24});
  EXPECT_EQ(r.failures, 0) << r.first_failure;
  EXPECT_GT(r.rejected, 0);
  EXPECT_GT(r.requests, 0);
  EXPECT_EQ(request(s.port, "GET", "/health").json_body()["rejected"], r.rejected);
}

}  // namespace
}  // namespace wgllm::server
