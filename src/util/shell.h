// Runs a command line through /bin/sh and collects what it writes to stdout: the end-to-end
// tests drive the wgllm executables this way, as a user's shell would.
#pragma once
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace wgllm {

struct ShellResult {
  int status = -1;     // the exit status; -1 when the command could not run or was killed
  std::string output;  // its stdout (append " 2>&1" to the command for stderr too)
};

inline ShellResult run_shell(const std::string& cmd) {
  ShellResult r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf;
  for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0;) r.output.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace wgllm
