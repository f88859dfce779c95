// End-to-end checks of the wgllm command as a user runs it (a real process, real adapter).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>

#include "util/shell.h"

namespace {

using Result = wgllm::ShellResult;
using wgllm::run_shell;

// Runs wgllm with `args` (and environment assignments `env`); stdout and stderr together.
Result run(const std::string& args, const std::string& env = "") {
  return run_shell(env + " " WGLLM_CLI " " + args + " 2>&1");
}

TEST(CliInfo, NamesTheAdapterFeaturesLimitsAndBandwidth) {
  Result r = run("info");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("adapter:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("backend:   Vulkan"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("subgroups"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("max storage binding"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("bandwidth: copy"), std::string::npos) << r.output;
}

TEST(CliInfo, OnlyNullBackendGivesAClearError) {
  // No Vulkan driver at all: Dawn can offer only its Null backend, which computes nothing.
  Result r = run("info --no-bandwidth", "VK_ICD_FILENAMES=/nonexistent/icd.json");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("wgllm: error: no usable WebGPU adapter: Dawn offered only its Null backend"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("chromium"), std::string::npos) << r.output;
}

TEST(CliInfo, MissingWebGpuLibraryIsNamed) {
  Result r = run("info --no-bandwidth --webgpu-lib /nonexistent/libwebgpu.so");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/libwebgpu.so"), std::string::npos) << r.output;
}

TEST(CliInfo, UnknownAdapterListsTheAvailableOnes) {
  Result r = run("info --no-bandwidth --adapter no-such-gpu");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("no adapter matches --adapter 'no-such-gpu'; available:"), std::string::npos) << r.output;
}

// Two turns of greedy chat: the second reuses the cached conversation, and the WebGPU replies
// equal the CPU reference's byte for byte.
TEST(CliChat, MultiTurnReusesTheCacheAndMatchesTheReference) {
  char dir[] = "/tmp/wgllm-chat-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string model = std::string(dir) + "/m.gguf";
  ASSERT_EQ(run("make-model --preset tiny-llama --quant Q8_0 -o " + model).status, 0);
  const std::string input = std::string("printf 'Hello there\\nTell me more\\n' |");
  auto chat = [&](const char* backend) {  // replies on stdout; stats into err-<backend>.txt
    return run_shell(input + " " WGLLM_CLI " chat -m " + model + " --temp 0 -n 6 --backend " + backend + " 2>" + dir +
                 "/err-" + backend + ".txt");
  };
  const Result gpu = chat("webgpu"), cpu = chat("cpu");
  ASSERT_EQ(gpu.status, 0);
  ASSERT_EQ(cpu.status, 0);
  EXPECT_EQ(std::count(gpu.output.begin(), gpu.output.end(), '\n'), 2) << gpu.output;  // one line per reply
  EXPECT_EQ(gpu.output, cpu.output);
  std::ifstream in(std::string(dir) + "/err-webgpu.txt");
  const std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t second = err.find("reused ", err.find("reused ") + 1);  // the second turn's stats
  ASSERT_NE(second, std::string::npos) << err;
  EXPECT_GT(std::atoi(err.c_str() + second + 7), 0) << err;
  std::filesystem::remove_all(dir);
}

// A turn too long for the context is refused with the numbers, and the chat goes on with the
// next one (it used to end the session). The demo model has no template: one warning, not one
// per turn.
TEST(CliChat, AnOverlongTurnIsRefusedAndTheChatGoesOn) {
  std::string words;
  for (int i = 0; i < 10; i++) words += "and the earth was without form ";
  const Result r = run_shell("printf '" + words + "\\nHi\\n' | " WGLLM_CLI " chat --backend cpu --ctx 64 -n 4 --temp 0 2>&1");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("(with that message the conversation is 104 tokens; the context holds 64: /reset, or restart "
                          "with a larger --ctx)\n> "),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("[cpu] reused 0 cached tokens, fed 35 |"), std::string::npos) << r.output;
  const std::string warning = "wgllm: warning: no chat template; using ChatML";
  const size_t first = r.output.find(warning);
  ASSERT_NE(first, std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(warning, first + 1), std::string::npos) << "warned twice:\n" << r.output;
}

TEST(CliRun, GpuMemoryBudgetIsCheckedBeforeAllocating) {
  char dir[] = "/tmp/wgllm-budget-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string model = std::string(dir) + "/m.gguf";
  ASSERT_EQ(run("make-model --preset tiny-llama --quant Q8_0 -o " + model).status, 0);
  const Result small = run("run -m " + model + " -p hi -n 2 --gpu-memory 1");
  EXPECT_EQ(small.status, 1) << small.output;
  EXPECT_NE(small.output.find("wgllm: error: the model needs "), std::string::npos) << small.output;
  EXPECT_NE(small.output.find(" MiB + KV cache "), std::string::npos) << small.output;
  EXPECT_NE(small.output.find("but only 1.0 MiB are available on SwiftShader"), std::string::npos) << small.output;
  EXPECT_EQ(small.output.find("loading weights to the GPU"), std::string::npos) << "nothing may be uploaded:\n" << small.output;
  const Result env = run("run -m " + model + " -p hi -n 2", "WGLLM_GPU_MEMORY=lots");
  EXPECT_EQ(env.status, 1);
  EXPECT_NE(env.output.find("wgllm: error: WGLLM_GPU_MEMORY must be a positive number of MiB, not 'lots'"),
            std::string::npos) << env.output;
  const Result enough = run("run -m " + model + " -p hi -n 2 --temp 0 --gpu-memory 4096");
  EXPECT_EQ(enough.status, 0) << enough.output;
  std::filesystem::remove_all(dir);
}

// A run cut short by the KV cache says so, instead of looking like a finished one.
TEST(CliRun, AFullContextIsNamedAsTheReasonItStopped) {
  const Result r = run("run -p 'And God said' -n 20 --ctx 8 --temp 0 --backend cpu");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("prompt: 4 tokens"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("generated: 5 tokens"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("tok/s (the context of 8 tokens is full; --ctx raises it)\n"), std::string::npos) << r.output;
}

// Out-of-range numbers are refused by name, before any model is opened, rather than quietly
// reinterpreted (a negative -n generated nothing, a negative --temp meant greedy).
TEST(CliOptions, OutOfRangeNumbersAreRefusedByName) {
  const std::pair<const char*, const char*> cases[] = {
      {"run -p hi -n -5", "--n-predict: must be at least 1, got -5"},
      {"run -p hi -n many", "--n-predict: 'many' is not a number"},
      {"run -p hi --ctx 0", "--ctx: must be at least 1, got 0"},
      {"run -p hi --temp -1", "--temp: must be at least 0, got -1"},
      {"run -p hi --top-p 1.5", "--top-p: must be at least 0 and at most 1, got 1.5"},
      {"run -p hi --repeat-penalty 0", "--repeat-penalty: must be more than 0, got 0"},
      {"chat --top-k -2", "--top-k: must be at least 0, got -2"},
      {"chat --min-p 2", "--min-p: must be at least 0 and at most 1, got 2"},
      {"serve --port 70000", "--port: must be at least 0 and at most 65535, got 70000"},
      {"serve --queue -1", "--queue: must be at least 0, got -1"},
      {"bench -r 0", "--reps: must be at least 1, got 0"},
      {"bench --kernels --kernel-steps 0", "--kernel-steps: must be at least 1, got 0"},
      {"bench -p 128,-5", "--prompt-lengths: must be at least 1, got -5"},
      {"run -p hi --gpu-memory 0", "--gpu-memory: must be at least 1, got 0"},
      {"quantize in.gguf out.gguf Q4_0 -t -1", "--threads: must be at least 0, got -1"},
  };
  for (const auto& [args, message] : cases) {
    const Result r = run(args);
    EXPECT_EQ(r.status, 105) << args << "\n" << r.output;  // CLI11's ValidationError exit code
    EXPECT_EQ(r.output, std::string(message) + "\nRun with --help for more information.\n") << args;
  }
  const Result quant = run("bench --quant Q9_X --adapters cpu");
  EXPECT_EQ(quant.status, 1) << quant.output;
  EXPECT_EQ(quant.output.find("bench: measuring"), std::string::npos) << "no adapter may be probed first:\n" << quant.output;
  EXPECT_NE(quant.output.find("wgllm: error: unknown quantization 'Q9_X'"), std::string::npos) << quant.output;
}

}  // namespace
