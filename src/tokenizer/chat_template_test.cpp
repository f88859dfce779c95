#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

namespace wgllm {
namespace {
TEST(ChatTemplate, placeholder) {}
}  // namespace
}  // namespace wgllm
