// Converted checkpoints compute transformers' logits. tests/data/hf/<name>/ holds tiny random
// checkpoints of each family saved by transformers 5.17 (save_pretrained) and the logits it
// computed in float32 with eager attention (see tests/data/hf/README.md). Each is converted here
// and run through the CPU reference; the logits must match and the greedy token must be the same
// at every position.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "convert/convert.h"
#include "reference/forward.h"
#include "util/error.h"

namespace wgllm {
namespace {

namespace fs = std::filesystem;

struct Compared {
  double nmse = 0;       // sum (ours - theirs)^2 / sum theirs^2
  int argmax_diffs = 0;  // positions whose greedy token differs
  int positions = 0;
};

Compared compare(const std::string& name, const std::string& outtype) {
  const std::string dir = "tests/data/hf/" + name;
  std::ifstream in(dir + "/expected.json");
  if (!in) throw Error(dir + "/expected.json is missing (run from the repository root)");
  const nlohmann::json expected = nlohmann::json::parse(in);
  const std::vector<int> tokens = expected["tokens"].get<std::vector<int>>();
  const int n_vocab = expected["n_vocab"].get<int>();
  std::vector<float> want(tokens.size() * size_t(n_vocab));
  std::ifstream logits(dir + "/" + expected["logits"].get<std::string>(), std::ios::binary);
  logits.read(reinterpret_cast<char*>(want.data()), std::streamsize(want.size() * 4));
  if (!logits) throw Error(dir + ": logits file shorter than n_tokens x n_vocab floats");

  const std::string out = (fs::temp_directory_path() / ("wgllm_fixture_" + name + "_" + outtype + "_" +
                                                        std::to_string(::getpid()) + ".gguf")).string();
  ConvertOptions o;
  o.outtype = outtype;
  o.progress = false;
  convert_hf_to_gguf(dir, out, o);
  // A context of the prompt's length: Phi-3 then uses its short LongRoPE factors, as
  // transformers does for sequences within original_max_position_embeddings.
  ref::Transformer model(out, int(tokens.size()));
  const std::vector<float> got = model.forward_tokens(tokens, 0, true);
  fs::remove(out);
  if (got.size() != want.size()) throw Error(name + ": vocabulary differs from expected.json's n_vocab");

  Compared c;
  c.positions = int(tokens.size());
  double err = 0, ref = 0;
  for (size_t i = 0; i < got.size(); i++) err += (got[i] - want[i]) * double(got[i] - want[i]), ref += double(want[i]) * want[i];
  c.nmse = err / ref;
  for (size_t t = 0; t < tokens.size(); t++) {
    const float* a = got.data() + t * n_vocab;
    const float* b = want.data() + t * n_vocab;
    if (std::max_element(a, a + n_vocab) - a != std::max_element(b, b + n_vocab) - b) c.argmax_diffs++;
  }
  return c;
}

// float32 end to end: the only differences are summation order and libm (RoPE angles, tanh,
// exp), each ~1e-7 relative, so the NMSE sits near 1e-13. A bound of 1e-9 leaves that a wide
// margin and still fails on any real mistake: a wrong q/k order, a norm without its +1, a wrong
// attention scale or a missed RoPE factor each give NMSE above 1e-4 (measured on these
// fixtures: no permutation 0.05-0.06, no +1 0.9, Gemma-2 with 1/sqrt(head_dim) 2.4e-4).
constexpr double kF32Bound = 1e-9;

class Fixture : public ::testing::TestWithParam<const char*> {};

TEST_P(Fixture, ConvertedF32MatchesTransformers) {
  const Compared c = compare(GetParam(), "f32");
  std::printf("%-8s f32: NMSE %.3g over %d positions\n", GetParam(), c.nmse, c.positions);
  EXPECT_LT(c.nmse, kF32Bound) << GetParam();
  EXPECT_EQ(c.argmax_diffs, 0) << GetParam();
}

// The default f16 weights: rounding each weight to 11 significant bits costs ~1e-7 relative
// error squared per weight; the logits' NMSE stays below 1e-5.
TEST_P(Fixture, ConvertedF16StaysClose) {
  const Compared c = compare(GetParam(), "f16");
  std::printf("%-8s f16: NMSE %.3g\n", GetParam(), c.nmse);
  EXPECT_LT(c.nmse, 1e-5) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(HfFixtures, Fixture,
                         ::testing::Values("llama3", "mistral", "qwen2", "qwen3", "phi3", "gemma", "gemma2"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace wgllm
