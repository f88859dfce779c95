#include "util/progress.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

namespace wgllm {
namespace {
std::atomic<bool> g_enabled{true};

std::string human(double v, const std::string& unit) {
  char buf[64];
  if (unit == "B") {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (v >= 1024 && i < 4) v /= 1024, ++i;
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[i]);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f%s%s", v, unit.empty() ? "" : " ", unit.c_str());
  }
  return buf;
}
}  // namespace

void ProgressBar::set_enabled(bool enabled) { g_enabled = enabled; }

ProgressBar::ProgressBar(std::string label, uint64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(uint64_t done) {
  done_ = done > total_ ? total_ : done;
  if (!g_enabled || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  const double frac = total_ ? double(done_) / double(total_) : 1.0;
  const bool tty = ::isatty(STDERR_FILENO);
  if (tty) {
    if (done_ != total_ && now - last_draw_ < std::chrono::milliseconds(80)) return;
    last_draw_ = now;
    const int width = 30, filled = int(frac * width);
    const double secs = std::chrono::duration<double>(now - start_).count();
    std::fprintf(stderr, "\r%s [%.*s%*s] %3d%% %s/%s", label_.c_str(), filled,
                 "##############################", width - filled, "", int(frac * 100),
                 human(double(done_), unit_).c_str(), human(double(total_), unit_).c_str());
    if (secs > 0 && unit_ == "B") std::fprintf(stderr, " %.2f GB/s", double(done_) / secs / 1e9);
    std::fflush(stderr);
  } else {
    const int tenth = int(frac * 10);
    if (tenth == last_tenth_) return;
    last_tenth_ = tenth;
    std::fprintf(stderr, "%s: %d%%\n", label_.c_str(), tenth * 10);
  }
}

void ProgressBar::finish() {
  if (finished_) return;
  update(total_);
  finished_ = true;
  if (g_enabled && ::isatty(STDERR_FILENO)) std::fprintf(stderr, "\n");
}

}  // namespace wgllm
