// Range checks for numeric options, with messages a user can act on ("--gen: must be at least
// 1, got 0"). CLI11's stock PositiveNumber/Range print the whole double range instead.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <limits>
#include <sstream>
#include <string>

namespace wgllm::cli {

inline std::string number_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

constexpr double kNoLimit = std::numeric_limits<double>::infinity();

// The help's short form: "INT:POSITIVE=128", "FLOAT:[0,1]=0.95" (CLI11 adds the type and default).
inline std::string type_hint(double lo, double hi, bool lo_open) {
  if (hi == kNoLimit && lo == 0) return lo_open ? "POSITIVE" : "NONNEGATIVE";
  if (hi == kNoLimit && lo == 1 && !lo_open) return "POSITIVE";  // integer options
  return (lo_open ? "(" : "[") + number_text(lo) + "," + (hi == kNoLimit ? "inf)" : number_text(hi) + "]");
}

// Accepts a number in [lo, hi], or (lo, hi] when lo_open; hi = kNoLimit reads as "at least lo".
inline CLI::Validator in_range(double lo, double hi = kNoLimit, bool lo_open = false) {
  const std::string low = (lo_open ? "more than " : "at least ") + number_text(lo);
  const std::string want = hi == kNoLimit ? low : low + " and at most " + number_text(hi);
  return CLI::Validator(
      [lo, hi, lo_open, want](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0') return "'" + text + "' is not a number";
        if (v < lo || (lo_open && v == lo) || v > hi) return "must be " + want + ", got " + text;
        return {};
      },
      type_hint(lo, hi, lo_open));
}

}  // namespace wgllm::cli
