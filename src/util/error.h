// Errors: one exception type carrying a message meant for the user. Messages name the file,
// tensor, key or limit at fault; the CLI prints them and exits non-zero.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace wgllm {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Concatenates any streamable values into one string: cat("tensor ", name, " has ", n, " dims").
template <typename... Args>
std::string cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

template <typename... Args>
[[noreturn]] void fail(const Args&... args) {
  throw Error(cat(args...));
}

}  // namespace wgllm
