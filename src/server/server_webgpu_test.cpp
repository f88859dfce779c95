// The server on its default backend (WebGPU; SwiftShader in CI): greedy replies, streamed or
// not, equal the CPU reference generator's text.
#include <gtest/gtest.h>

#include "runtime/webgpu_backend.h"
#include "server/server.h"
#include "server/test_support.h"

namespace wgllm::server {
namespace {

using namespace test;

TEST(ServeWebGpu, DefaultBackendMatchesTheCpuReference) {
  runtime::register_webgpu_backend();
  ServerOptions o;
  o.engine.model_path = model_path();
  o.engine.context = 256;
  o.port = 0;
  ASSERT_EQ(o.engine.backend, "webgpu");
  Server server(o);
  const int port = server.start();
  EXPECT_EQ(request(port, "GET", "/health").json_body()["backend"], "webgpu");

  const std::vector<ChatMessage> conv = {{"user", "Hello there"}};
  const Generated ref = reference_text(chat_ids(conv), 12, greedy());
  const json body = {{"messages", {{{"role", "user"}, {"content", "Hello there"}}}}, {"max_tokens", 12}, {"temperature", 0}};
  const Reply r = post(port, "/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["choices"][0]["message"]["content"], ref.text);
  EXPECT_EQ(r.json_body()["usage"]["completion_tokens"], ref.tokens);
  json streamed = body;
  streamed["stream"] = true;
  const Stream s = post_stream(port, "/v1/chat/completions", streamed);
  ASSERT_EQ(s.status, 200);
  EXPECT_TRUE(s.done_last);
  EXPECT_EQ(s.text, ref.text);
}

}  // namespace
}  // namespace wgllm::server
