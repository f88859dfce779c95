#include "convert/safetensors.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "convert/test_hf_folder.h"
#include "util/error.h"

namespace wgllm {
namespace {

namespace fs = std::filesystem;
using test::HfTensor;

std::string temp_dir(const std::string& name) {
  const std::string d = (fs::temp_directory_path() / ("wgllm_st_" + name + "_" + std::to_string(::getpid()))).string();
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::vector<HfTensor> random_tensors(uint64_t seed) {
  Rng rng(seed);
  std::vector<HfTensor> ts = {{"a.weight", {3, 5}, {}}, {"b.bias", {7}, {}}, {"c", {2, 2, 2}, {}}};
  for (HfTensor& t : ts) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    for (int64_t i = 0; i < n; i++) t.values.push_back(rng.uniform(-4.f, 4.f));
  }
  return ts;
}

// Reads every tensor back as float: the exact values written (F32), or their exact f16/bf16
// rounding.
TEST(Safetensors, ReadsWhatWasWritten) {
  const std::string dir = temp_dir("rw");
  const auto ts = random_tensors(1);
  for (const std::string dtype : {"F32", "F16", "BF16"}) {
    const std::string path = dir + "/m_" + dtype + ".safetensors";
    test::write_safetensors(path, ts, dtype);
    SafetensorsFile f(path);
    ASSERT_EQ(f.tensors().size(), ts.size());
    for (const HfTensor& want : ts) {
      const SafeTensor* got = nullptr;
      for (const SafeTensor& t : f.tensors())
        if (t.name == want.name) got = &t;
      ASSERT_NE(got, nullptr) << want.name;
      EXPECT_EQ(got->shape, want.shape);
      EXPECT_EQ(tensor_type_name(got->type), dtype == "F32" ? "F32" : dtype);
      std::vector<float> back(want.values.size());
      dequantize_row(got->type, got->data, back.data(), int64_t(back.size()));
      for (size_t i = 0; i < back.size(); i++) {
        const float v = want.values[i];
        const float expect = dtype == "F32" ? v : dtype == "F16" ? f16_to_f32(f32_to_f16(v)) : bf16_to_f32(f32_to_bf16(v));
        EXPECT_EQ(back[i], expect) << want.name << "[" << i << "] " << dtype;
      }
    }
  }
  fs::remove_all(dir);
}

TEST(Safetensors, ShardedIndexFindsEveryTensorOnce) {
  const std::string dir = temp_dir("shards");
  auto ts = random_tensors(2);
  test::write_safetensors(dir + "/model-00001-of-00002.safetensors", {ts[0], ts[1]});
  test::write_safetensors(dir + "/model-00002-of-00002.safetensors", {ts[2]}, "BF16");
  nlohmann::json index = {{"metadata", {{"total_size", 1}}},
                          {"weight_map", {{"a.weight", "model-00001-of-00002.safetensors"},
                                          {"b.bias", "model-00001-of-00002.safetensors"},
                                          {"c", "model-00002-of-00002.safetensors"}}}};
  test::write_json(dir + "/model.safetensors.index.json", index);
  const Checkpoint ck = Checkpoint::open_folder(dir);
  EXPECT_EQ(ck.tensors().size(), 3u);
  EXPECT_EQ(ck.files().size(), 2u);
  ASSERT_NE(ck.find("c"), nullptr);
  EXPECT_EQ(ck.find("c")->type, TensorType::BF16);
  EXPECT_EQ(ck.find("c")->file, dir + "/model-00002-of-00002.safetensors");

  // The index placing a tensor in the wrong shard, and a tensor the index does not list.
  index["weight_map"]["c"] = "model-00001-of-00002.safetensors";
  test::write_json(dir + "/model.safetensors.index.json", index);
  try {
    Checkpoint::open_folder(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), dir + "/model.safetensors.index.json: weight_map names tensor c in "
                                           "model-00001-of-00002.safetensors but it is not there");
  }
  // The same tensor in two shards.
  test::write_safetensors(dir + "/model-00002-of-00002.safetensors", {ts[2], ts[1]});
  index["weight_map"]["c"] = "model-00002-of-00002.safetensors";
  test::write_json(dir + "/model.safetensors.index.json", index);
  try {
    Checkpoint::open_folder(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "tensor b.bias is in both " + dir + "/model-00001-of-00002.safetensors and " +
                                         dir + "/model-00002-of-00002.safetensors");
  }
  fs::remove_all(dir);
}

std::string error_of(const std::string& path) {
  try {
    SafetensorsFile f(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Rewrites the file with a different header (JSON) before the same data.
void write_raw(const std::string& path, const std::string& header, size_t data_bytes) {
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << std::string(data_bytes, '\x01');
}

TEST(Safetensors, BadFilesNameFileAndTensor) {
  const std::string dir = temp_dir("bad");
  const std::string p = dir + "/model.safetensors";
  const auto ts = random_tensors(3);

  test::write_safetensors(p, ts);
  const auto full = fs::file_size(p);
  fs::resize_file(p, full - 10);  // a: 60 bytes, b.bias: 28, c: 32 at [88, 120): c loses its tail
  EXPECT_EQ(error_of(p), p + ": tensor c: data [88, 120) runs past the end of the data section (110 bytes): the file is truncated");

  fs::resize_file(p, 5);
  EXPECT_EQ(error_of(p), p + ": 5 bytes is too small for a safetensors file (8-byte header length missing)");

  write_raw(p, "", 0);
  {
    std::ofstream out(p, std::ios::binary);
    const uint64_t absurd = uint64_t(1) << 40;
    out.write(reinterpret_cast<const char*>(&absurd), 8);
  }
  EXPECT_EQ(error_of(p), p + ": safetensors header length 1099511627776 is absurd (limit 104857600 bytes)");

  {
    std::ofstream out(p, std::ios::binary);
    const uint64_t n = 1000;
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << "{}";
  }
  EXPECT_EQ(error_of(p), p + ": safetensors header length 1000 runs past the end of the file (10 bytes): the file is "
                             "truncated or not safetensors");

  write_raw(p, R"({"w": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]}})", 16);
  EXPECT_EQ(error_of(p), p + ": tensor w: dtype I64 is not supported (F32, F16, BF16)");

  write_raw(p, R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 16]}})", 24);
  EXPECT_EQ(error_of(p), p + ": tensor w: data_offsets [0, 16) hold 16 bytes but F32 [2, 3] needs 24");

  write_raw(p, R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                   "v": {"dtype": "F16", "shape": [4], "data_offsets": [8, 16]}})", 16);
  EXPECT_EQ(error_of(p), p + ": tensors w and v overlap in the data section");

  write_raw(p, R"({"w": {"dtype": "F32", "shape": [4]}})", 16);
  EXPECT_EQ(error_of(p), p + ": tensor w: entry needs dtype, shape and data_offsets");

  write_raw(p, R"({"w": )", 0);
  EXPECT_EQ(error_of(p).rfind(p + ": safetensors header is not valid JSON: ", 0), 0u) << error_of(p);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wgllm
