// A progress bar on stderr for long work (loading, converting, quantizing, benchmarking).
// Redraws in place on a terminal; on a pipe it prints a line every 10% so logs stay short.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace wgllm {

class ProgressBar {
 public:
  ProgressBar(std::string label, uint64_t total, std::string unit = "");
  ~ProgressBar();
  void update(uint64_t done);
  void advance(uint64_t delta) { update(done_ + delta); }
  void finish();
  // Silences every progress bar in the process (tests, --quiet).
  static void set_enabled(bool enabled);

 private:
  std::string label_, unit_;
  uint64_t total_, done_ = 0;
  int last_tenth_ = -1;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace wgllm
