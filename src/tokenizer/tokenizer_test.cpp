// Unit tests on small hand-made vocabularies and the synthetic byte-level vocabulary.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include "tokenizer/pretokenize.h"
#include "tokenizer/unicode.h"
#include "util/error.h"
#include "util/rng.h"

namespace wgllm {
namespace {

TEST(Tokenizer, placeholder) {}

}  // namespace
}  // namespace wgllm
