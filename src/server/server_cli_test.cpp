// `wgllm serve` as users run it: a child process on a free port. Its greedy completion equals
// `wgllm run --temp 0`'s output, and SIGTERM shuts it down cleanly (exit status 0).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

#include "server/test_support.h"
#include "util/shell.h"

namespace wgllm::server {
namespace {

using namespace test;
using namespace std::chrono_literals;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// stdout of a shell command.
std::string shell(const std::string& cmd) { return wgllm::run_shell(cmd).output; }

struct Child {
  pid_t pid = -1;
  int port = -1;
  std::string log;  // its stderr
};

// Starts `wgllm serve ARGS --port 0` and waits for its "listening on http://127.0.0.1:PORT" line.
Child serve(const std::vector<std::string>& args) {
  Child c;
  c.log = model_path() + ".serve-log";
  c.pid = ::fork();
  if (c.pid == 0) {
    FILE* f = std::freopen(c.log.c_str(), "w", stderr);
    (void)f;
    std::vector<std::string> all = {WGLLM_CLI, "serve", "--port", "0"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(WGLLM_CLI, argv.data());
    std::_Exit(127);
  }
  for (auto end = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < end;) {
    const std::string log = read_file(c.log);
    const size_t at = log.find("listening on http://127.0.0.1:");
    if (at != std::string::npos && log.find('\n', at) != std::string::npos) {
      c.port = std::atoi(log.c_str() + at + 30);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  return c;
}

TEST(ServeCli, CompletionEqualsWgllmRunAndSigtermStopsCleanly) {
  Child c = serve({"-m", model_path(), "--backend", "cpu", "--ctx", "256", "--api-key", "k1"});
  ASSERT_GT(c.port, 0) << read_file(c.log);
  const Reply r = post(c.port, "/v1/completions", {{"prompt", "Once upon a time"}, {"max_tokens", 10}, {"temperature", 0}}, "k1");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string run = shell(std::string(WGLLM_CLI) + " run -m " + model_path() +
                                " -p 'Once upon a time' -n 10 --temp 0 --backend cpu 2>/dev/null");
  ASSERT_FALSE(run.empty());
  EXPECT_EQ(r.json_body()["choices"][0]["text"].get<std::string>() + "\n", run);  // run ends with a newline
  EXPECT_EQ(post(c.port, "/v1/completions", {{"prompt", "a"}}).status, 401);

  ASSERT_EQ(::kill(c.pid, SIGTERM), 0);
  int status = -1;
  for (int i = 0; i < 500 && ::waitpid(c.pid, &status, WNOHANG) == 0; i++) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(WIFEXITED(status)) << "still running 5 s after SIGTERM";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const std::string log = read_file(c.log);
  EXPECT_NE(log.find("wgllm serve: terminated, shutting down"), std::string::npos) << log;
  EXPECT_NE(log.find("POST /v1/completions 200"), std::string::npos) << log;
}

TEST(ServeCli, BadModelIsAnErrorNotACrash) {
  const std::string out = shell(std::string(WGLLM_CLI) + " serve -m /nonexistent/m.gguf --backend cpu 2>&1; echo status=$?");
  EXPECT_NE(out.find("wgllm: error: "), std::string::npos) << out;
  EXPECT_NE(out.find("/nonexistent/m.gguf"), std::string::npos) << out;
  EXPECT_NE(out.find("status=1"), std::string::npos) << out;
}

}  // namespace
}  // namespace wgllm::server
