// End to end: build a small F32 model with the writer, requantize it with quantize_gguf (what
// `wgllm quantize` calls) and check every tensor's type, metadata and values within error bounds.
#include "format/quantize.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "format/gguf.h"
#include "util/error.h"
#include "util/progress.h"
#include "util/rng.h"

namespace wgllm {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("wgllm_quant_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::vector<float> normal(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> x(n);
  for (auto& v : x) v = rng.normal() * 0.02f;
  return x;
}

std::vector<uint8_t> as_bytes(const std::vector<float>& x) {
  std::vector<uint8_t> b(x.size() * 4);
  std::memcpy(b.data(), x.data(), b.size());
  return b;
}

struct Model {
  std::map<std::string, std::vector<float>> weights;
  std::map<std::string, std::vector<int64_t>> shapes;
};

// 8 layers, dim 256, ffn 512 (all rows multiples of 256), stored as F32.
Model write_f32_model(const std::string& path) {
  Model m;
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 8);
  w.set_u32("general.file_type", 0);
  w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "c"});
  uint64_t seed = 1;
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    size_t n = 1;
    for (auto d : shape) n *= size_t(d);
    m.weights[name] = normal(n, seed++);
    m.shapes[name] = shape;
    w.add_tensor(name, TensorType::F32, shape, as_bytes(m.weights[name]));
  };
  add("token_embd.weight", {256, 64});
  for (int i = 0; i < 8; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    add(b + "attn_norm.weight", {256});
    add(b + "attn_v.weight", {256, 64});
    add(b + "ffn_down.weight", {512, 256});
    add(b + "ffn_up.weight", {256, 512});
  }
  add("output_norm.weight", {256});
  add("output.weight", {256, 64});
  w.write(path);
  return m;
}

double nmse(const std::vector<float>& ref, const float* got) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    num += double(ref[i] - got[i]) * double(ref[i] - got[i]);
    den += double(ref[i]) * double(ref[i]);
  }
  return num / den;
}

TEST(Quantize, Q4_K_MEndToEnd) {
  ProgressBar::set_enabled(false);
  const std::string in = temp_path("in.gguf"), out = temp_path("out.gguf");
  const Model m = write_f32_model(in);
  const QuantizeResult r = quantize_gguf(in, out, FileType::Q4_K_M, 3);
  const auto f = GgufFile::open(out);
  EXPECT_EQ(f->get_u64("general.file_type"), 15u);
  EXPECT_EQ(f->get_u64("llama.block_count"), 8u);
  EXPECT_EQ(f->get_string_array("tokenizer.ggml.tokens"), (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(f->tensors().size(), m.weights.size());
  int q6 = 0;
  for (const auto& [name, w] : m.weights) {
    const GgufTensor& t = f->tensor(name);
    EXPECT_EQ(t.shape, m.shapes.at(name));
    EXPECT_EQ(t.type, choose_tensor_type(FileType::Q4_K_M, name, 8, t.shape)) << name;
    std::vector<float> y(w.size());
    for (int64_t row = 0; row < t.n_rows(); ++row)
      dequantize_row(t.type, t.data + size_t(row) * row_bytes(t.type, t.shape[0]), y.data() + row * t.shape[0], t.shape[0]);
    const double bound = t.type == TensorType::F32 ? 0.0 : t.type == TensorType::Q6_K ? 1e-3 : 1.1e-2;
    EXPECT_LE(nmse(w, y.data()), bound) << name << " " << tensor_type_name(t.type);
    q6 += t.type == TensorType::Q6_K;
  }
  // 8 layers (n/8 = 1, 7n/8 = 7): use_more_bits picks layers 0, 3, 6 ((i - 1) % 3 == 2) and 7
  // for attn_v and ffn_down: 8 tensors, plus output.weight.
  EXPECT_EQ(f->tensor("blk.0.attn_v.weight").type, TensorType::Q6_K);
  EXPECT_EQ(f->tensor("blk.1.attn_v.weight").type, TensorType::Q4_K);
  EXPECT_EQ(f->tensor("blk.3.ffn_down.weight").type, TensorType::Q6_K);
  EXPECT_EQ(f->tensor("blk.6.attn_v.weight").type, TensorType::Q6_K);
  EXPECT_EQ(f->tensor("blk.5.ffn_down.weight").type, TensorType::Q4_K);
  EXPECT_EQ(f->tensor("blk.7.ffn_down.weight").type, TensorType::Q6_K);
  EXPECT_EQ(f->tensor("output.weight").type, TensorType::Q6_K);
  EXPECT_EQ(f->tensor("token_embd.weight").type, TensorType::Q4_K);
  EXPECT_EQ(f->tensor("output_norm.weight").type, TensorType::F32);
  EXPECT_EQ(q6, 9);
  EXPECT_EQ(r.tensors_per_type.at(TensorType::Q6_K), 9);
  EXPECT_LT(r.out_bytes, r.in_bytes / 5);

  // Requantizing the Q4_K_M file to Q8_0 goes through dequantization of every K-quant type.
  const std::string out2 = temp_path("out2.gguf");
  quantize_gguf(out, out2, FileType::Q8_0, 2);
  const auto g = GgufFile::open(out2);
  EXPECT_EQ(g->get_u64("general.file_type"), 7u);
  for (const auto& t : g->tensors()) {
    EXPECT_EQ(t.type, t.shape.size() == 1 ? TensorType::F32 : TensorType::Q8_0) << t.name;
    const auto& w = m.weights.at(t.name);
    std::vector<float> y(w.size());
    for (int64_t row = 0; row < t.n_rows(); ++row)
      dequantize_row(t.type, t.data + size_t(row) * row_bytes(t.type, t.shape[0]), y.data() + row * t.shape[0], t.shape[0]);
    EXPECT_LE(nmse(w, y.data()), 1.15e-2) << t.name;
  }
  for (auto p : {in, out, out2}) std::filesystem::remove(p);
}

// Rows of 896 (Qwen2.5-0.5B's dim) take llama.cpp's fallbacks in Q4_K_M: Q5_0 for Q4_K, Q8_0 for
// Q6_K; `quantize ... Q5_1` makes Q5_1 tensors. Values within the types' round-trip bounds.
TEST(Quantize, RowsNotAMultipleOf256FallBackToQ5_0) {
  ProgressBar::set_enabled(false);
  const std::string in = temp_path("q5_in.gguf"), out = temp_path("q5_out.gguf"), out1 = temp_path("q5_1.gguf");
  GgufWriter w;
  w.set_string("general.architecture", "qwen2");
  w.set_u32("qwen2.block_count", 24);
  std::map<std::string, std::vector<float>> weights;
  uint64_t seed = 40;
  for (const std::string name : {"blk.1.attn_q.weight", "blk.0.attn_v.weight", "token_embd.weight"}) {
    weights[name] = normal(896 * 48, seed++);
    w.add_tensor(name, TensorType::F32, {896, 48}, as_bytes(weights[name]));
  }
  w.write(in);
  quantize_gguf(in, out, FileType::Q4_K_M, 2);
  quantize_gguf(in, out1, FileType::Q5_1, 2);
  const auto f = GgufFile::open(out), f1 = GgufFile::open(out1);
  EXPECT_EQ(f->tensor("blk.1.attn_q.weight").type, TensorType::Q5_0);
  EXPECT_EQ(f->tensor("blk.0.attn_v.weight").type, TensorType::Q8_0);  // use_more_bits: Q6_K -> Q8_0
  EXPECT_EQ(f->tensor("token_embd.weight").type, TensorType::Q8_0);    // tied output: Q6_K -> Q8_0
  EXPECT_EQ(f1->get_u64("general.file_type"), 9u);
  for (const auto* file : {f.get(), f1.get()})
    for (const auto& [name, x] : weights) {
      const GgufTensor& t = file->tensor(name);
      if (file == f1.get() && name != "token_embd.weight") EXPECT_EQ(t.type, TensorType::Q5_1) << name;
      EXPECT_EQ(t.size, 48 * row_bytes(t.type, 896)) << name;
      std::vector<float> y(x.size());
      for (int64_t row = 0; row < 48; ++row)
        dequantize_row(t.type, t.data + size_t(row) * row_bytes(t.type, 896), y.data() + row * 896, 896);
      EXPECT_LE(nmse(x, y.data()), 2.1e-3) << name << " " << tensor_type_name(t.type);
    }
  for (auto p : {in, out, out1}) std::filesystem::remove(p);
}

TEST(Quantize, RefusesSameFileAndReportsBadInput) {
  ProgressBar::set_enabled(false);
  const std::string in = temp_path("same.gguf");
  write_f32_model(in);
  try {
    quantize_gguf(in, in, FileType::Q8_0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input and output are the same file"), std::string::npos);
  }
  EXPECT_THROW(quantize_gguf(temp_path("missing.gguf"), temp_path("x.gguf"), FileType::Q8_0), Error);
  std::filesystem::remove(in);
}

TEST(Quantize, ConvertRowsMatchesSingleThreaded) {
  const int64_t row = 512, rows = 301;
  const auto x = normal(size_t(row * rows), 77);
  std::vector<uint8_t> a(row_bytes(TensorType::Q5_K, row) * rows), b(a.size());
  convert_rows(TensorType::F32, reinterpret_cast<const uint8_t*>(x.data()), TensorType::Q5_K, a.data(), row, rows, 1);
  int64_t last = 0;
  convert_rows(TensorType::F32, reinterpret_cast<const uint8_t*>(x.data()), TensorType::Q5_K, b.data(), row, rows, 4,
               [&](int64_t done) { EXPECT_GE(done, last); last = done; });
  EXPECT_EQ(a, b);
  EXPECT_EQ(last, rows);
}

}  // namespace
}  // namespace wgllm
