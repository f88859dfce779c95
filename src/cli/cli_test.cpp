// End-to-end checks of the wgllm command as a user runs it (a real process, real adapter).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

namespace {

struct Result {
  int status;
  std::string output;  // stdout and stderr together
};

Result run(const std::string& args, const std::string& env = "") {
  const std::string cmd = env + " " WGLLM_CLI " " + args + " 2>&1";
  Result r{-1, ""};
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
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

}  // namespace
