#include "server/loadtest.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

#include "server/openai.h"
#include "util/error.h"

namespace wgllm::server {

std::vector<std::string> SseParser::feed(const char* data, size_t n) {
  buffer_.append(data, n);
  std::vector<std::string> payloads;
  for (size_t end; (end = buffer_.find("\n\n")) != std::string::npos;) {
    const std::string event = buffer_.substr(0, end);
    buffer_.erase(0, end + 2);
    size_t line_start = 0;
    while (line_start <= event.size()) {
      size_t line_end = event.find('\n', line_start);
      if (line_end == std::string::npos) line_end = event.size();
      const std::string line = event.substr(line_start, line_end - line_start);
      if (line.rfind("data: ", 0) == 0) payloads.push_back(line.substr(6));
      line_start = line_end + 1;
    }
  }
  return payloads;
}

long rss_kb(int pid) {
  std::ifstream in(cat("/proc/", pid, "/status"));
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

namespace {

using Clock = std::chrono::steady_clock;

struct Sample {
  double latency, first_token;
  int tokens, prompt_tokens;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5))];
}

}  // namespace

LoadReport run_load(const LoadOptions& o) {
  LoadReport report;
  report.clients = o.clients;
  if (o.server_pid > 0) report.rss_start_kb = rss_kb(o.server_pid);
  std::mutex mutex;
  std::vector<Sample> samples;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));

  auto client = [&](int index) {
    httplib::Client http(o.host, o.port);
    http.set_read_timeout(120, 0);
    for (int iteration = 0; Clock::now() < deadline; iteration++) {
      // Different prompts, so that the server's prefix cache does not turn the run into a replay.
      const json body = {{"messages", {{{"role", "user"}, {"content", cat("Client ", index, " asks question ", iteration)}}}},
                         {"max_tokens", o.max_tokens},
                         {"stream", true},
                         {"stream_options", {{"include_usage", true}}}};
      httplib::Request req;
      req.method = "POST";
      req.path = "/v1/chat/completions";
      req.body = body.dump();
      req.set_header("Content-Type", "application/json");
      if (!o.api_key.empty()) req.set_header("Authorization", "Bearer " + o.api_key);
      SseParser parser;
      std::string raw;
      bool saw_done = false;
      int tokens = -1, prompt_tokens = 0;
      double first_token = -1;
      const auto t0 = Clock::now();
      req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
        raw.append(data, std::min<size_t>(n, 512 - std::min<size_t>(raw.size(), 512)));
        for (const std::string& payload : parser.feed(data, n)) {
          if (payload == "[DONE]") {
            saw_done = true;
            continue;
          }
          const json chunk = json::parse(payload, nullptr, false);
          if (chunk.contains("usage") && chunk["usage"].is_object()) {
            tokens = chunk["usage"]["completion_tokens"].get<int>();
            prompt_tokens = chunk["usage"]["prompt_tokens"].get<int>();
          }
          if (first_token < 0 && chunk.contains("choices") && !chunk["choices"].empty() &&
              !chunk["choices"][0]["delta"].value("content", std::string()).empty())
            first_token = std::chrono::duration<double>(Clock::now() - t0).count();
        }
        return true;
      };
      httplib::Response res;
      httplib::Error error = httplib::Error::Success;
      const bool sent = http.send(req, res, error);
      const double latency = std::chrono::duration<double>(Clock::now() - t0).count();
      if (!sent) std::this_thread::sleep_for(std::chrono::milliseconds(100));  // no server: do not spin
      std::lock_guard lock(mutex);
      if (sent && res.status == 429) {
        report.rejected++;
      } else if (sent && res.status == 200 && saw_done && tokens >= 0) {
        report.requests++;
        samples.push_back({latency, first_token, tokens, prompt_tokens});
      } else {
        report.failures++;
        if (report.first_failure.empty())
          report.first_failure = sent ? cat("HTTP ", res.status, saw_done ? "" : " (no [DONE])", ": ", raw)
                                      : cat("request failed: ", httplib::to_string(error));
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < o.clients; i++) threads.emplace_back(client, i);
  for (auto& t : threads) t.join();
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (o.server_pid > 0) report.rss_end_kb = rss_kb(o.server_pid);
  std::vector<double> latencies, first_tokens;
  for (const Sample& s : samples) {
    latencies.push_back(s.latency);
    if (s.first_token >= 0) first_tokens.push_back(s.first_token);
    report.tokens += uint64_t(s.tokens);
    report.prompt_tokens += uint64_t(s.prompt_tokens);
  }
  report.p50_latency = percentile(latencies, 0.5);
  report.p95_latency = percentile(latencies, 0.95);
  report.p50_first_token = percentile(first_tokens, 0.5);
  return report;
}

std::string LoadReport::text() const {
  std::string s = cat(clients, " clients, ", seconds, " s: ", requests, " requests done, ", failures, " failures, ",
                      rejected, " rejected (429)\n", "tokens: ", tokens, " (", double(tokens) / std::max(seconds, 1e-9),
                      " tok/s generated), prompts: ", prompt_tokens, " tokens; ", double(requests) / std::max(seconds, 1e-9),
                      " requests/s\n",
                      "latency: p50 ", 1e3 * p50_latency, " ms, p95 ", 1e3 * p95_latency, " ms; first token p50 ",
                      1e3 * p50_first_token, " ms\n");
  if (rss_start_kb >= 0)
    s += cat("server RSS: ", rss_start_kb, " KiB at start, ", rss_end_kb, " KiB at end (",
             rss_end_kb - rss_start_kb >= 0 ? "+" : "", rss_end_kb - rss_start_kb, " KiB)\n");
  if (!first_failure.empty()) s += "first failure: " + first_failure + "\n";
  return s;
}

}  // namespace wgllm::server
