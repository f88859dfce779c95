// A load client for `wgllm serve`: N clients, each sending streaming chat requests back to back
// for a fixed time, then a report: requests done, failures (anything but a 200 stream ending in
// `data: [DONE]`), 429s (counted apart: the queue refusing is the server working as designed),
// tokens/s, latency percentiles and the server's resident memory at start and end.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace wgllm::server {

// Splits a server-sent-event stream into the payloads of its `data:` lines, as bytes arrive.
class SseParser {
 public:
  // Payloads of the events completed by these bytes (comments and other fields skipped).
  std::vector<std::string> feed(const char* data, size_t n);

 private:
  std::string buffer_;
};

struct LoadOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key;
  int clients = 8;
  double seconds = 10;
  int max_tokens = 32;
  int server_pid = 0;  // whose VmRSS to report (0: none)
};

struct LoadReport {
  int clients = 0;
  double seconds = 0;  // wall time from the first request to the last answer
  int requests = 0;    // completed 200 streams that ended in [DONE]
  int failures = 0;
  int rejected = 0;  // 429: queue full
  uint64_t tokens = 0;         // completion tokens, from each stream's usage chunk
  uint64_t prompt_tokens = 0;  // prompt tokens of the completed requests (each one prefilled, less any cached prefix)
  double p50_latency = 0, p95_latency = 0, p50_first_token = 0;  // seconds
  long rss_start_kb = -1, rss_end_kb = -1;
  std::string first_failure;
  std::string text() const;  // the report as a few lines for people
};

LoadReport run_load(const LoadOptions& options);
long rss_kb(int pid);  // VmRSS in /proc/<pid>/status; -1 when unreadable

}  // namespace wgllm::server
