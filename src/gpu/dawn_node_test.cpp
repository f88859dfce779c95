// The Dawn inside npm webgpu's Node addon (third_party/dawn/dawn.node, installed by scripts/setup)
// loaded as the webgpu.h library (its functions are local symbols: webgpu_library.cpp): a device,
// an upload and a read-back. Its own process: a process loads one webgpu.h library.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <vector>

#include "gpu/context.h"

namespace wgllm::gpu {
namespace {

TEST(DawnNodeAddon, ServesAsTheWebGpuLibrary) {
  const std::string addon = std::string(WGLLM_SOURCE_DIR) + "/third_party/dawn/dawn.node";
  ASSERT_TRUE(std::ifstream(addon).good()) << addon << " missing: scripts/setup installs it";
  ContextOptions options;
  options.webgpu_lib = addon;
  auto ctx = Context::create(options);
  EXPECT_EQ(ctx->adapter().library, addon);
  std::vector<float> data(1000);
  std::mt19937 rng(5);
  for (float& v : data) v = std::uniform_real_distribution<float>(-1, 1)(rng);
  Buffer b = ctx->create_buffer(data.size() * 4, kStorage, "round-trip");
  ctx->write(b, data.data(), data.size() * 4);
  EXPECT_EQ(ctx->read_vector<float>(b, data.size()), data);
}

}  // namespace
}  // namespace wgllm::gpu
