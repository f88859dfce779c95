// Quantization mixes: the per-tensor choices of llama.cpp's Q4_K_M / Q5_K_M / Q4_0 / Q8_0 / F16.
#include "format/quant_mix.h"

#include <gtest/gtest.h>

namespace wgllm {
namespace {

const std::vector<int64_t> kMat = {4096, 4096};

TEST(QuantMix, FileTypeNamesAndIds) {
  EXPECT_EQ(file_type_from_name("q4_k_m"), FileType::Q4_K_M);
  EXPECT_EQ(file_type_from_name("Q8_0"), FileType::Q8_0);
  EXPECT_FALSE(file_type_from_name("Q4_K").has_value());
  EXPECT_EQ(gguf_file_type_id(FileType::Q4_K_M), 15u);
  EXPECT_EQ(gguf_file_type_id(FileType::Q5_K_M), 17u);
  EXPECT_EQ(gguf_file_type_id(FileType::Q6_K), 18u);
  EXPECT_EQ(gguf_file_type_id(FileType::Q8_0), 7u);
  EXPECT_EQ(gguf_file_type_id(FileType::Q5_0), 8u);
  EXPECT_EQ(gguf_file_type_id(FileType::Q5_1), 9u);
  EXPECT_EQ(file_type_from_name("q5_1"), FileType::Q5_1);
  EXPECT_EQ(file_type_from_id(8), FileType::Q5_0);
  EXPECT_EQ(file_type_from_id(15), FileType::Q4_K_M);
  EXPECT_FALSE(file_type_from_id(10).has_value());  // Q2_K: not made here
  EXPECT_EQ(gguf_file_type_id(FileType::F16), 1u);
  EXPECT_EQ(file_type_names(), "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K_M, Q5_K_M, Q6_K");
  EXPECT_EQ(layer_of("blk.17.attn_v.weight"), 17);
  EXPECT_EQ(layer_of("output.weight"), -1);
  EXPECT_EQ(layer_of("blk.x.attn_v.weight"), -1);
}

// Hand-evaluated use_more_bits for 32 layers (n/8 = 4, 7n/8 = 28):
// layers 0-3, 28-31, and 4 + 2, 4 + 5, ... = 6, 9, 12, 15, 18, 21, 24, 27.
TEST(QuantMix, UseMoreBitsMatchesLlamaCpp32Layers) {
  std::vector<int> picked;
  for (int i = 0; i < 32; ++i) {
    if (use_more_bits(i, 32)) picked.push_back(i);
  }
  EXPECT_EQ(picked, (std::vector<int>{0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31}));
}

TEST(QuantMix, Q4_K_M) {
  const auto ft = FileType::Q4_K_M;
  EXPECT_EQ(choose_tensor_type(ft, "output.weight", 32, {4096, 128256}), TensorType::Q6_K);
  EXPECT_EQ(choose_tensor_type(ft, "token_embd.weight", 32, {4096, 128256}), TensorType::Q4_K);
  EXPECT_EQ(choose_tensor_type(ft, "token_embd.weight", 32, {4096, 128256}, /*has_output=*/false), TensorType::Q6_K);
  EXPECT_EQ(choose_tensor_type(ft, "output_norm.weight", 32, {4096}), TensorType::F32);
  EXPECT_EQ(choose_tensor_type(ft, "blk.0.attn_norm.weight", 32, {4096}), TensorType::F32);
  EXPECT_EQ(choose_tensor_type(ft, "blk.0.attn_q.bias", 32, {4096, 1}), TensorType::F32);
  EXPECT_EQ(choose_tensor_type(ft, "blk.0.attn_q.weight", 32, kMat), TensorType::Q4_K);
  EXPECT_EQ(choose_tensor_type(ft, "blk.31.ffn_up.weight", 32, kMat), TensorType::Q4_K);
  EXPECT_EQ(choose_tensor_type(ft, "blk.0.ffn_gate_inp.weight", 32, {4096, 8}), TensorType::F32);
  for (int i = 0; i < 32; ++i) {
    const TensorType want = use_more_bits(i, 32) ? TensorType::Q6_K : TensorType::Q4_K;
    const std::string blk = "blk." + std::to_string(i) + ".";
    EXPECT_EQ(choose_tensor_type(ft, blk + "attn_v.weight", 32, {4096, 1024}), want) << i;
    EXPECT_EQ(choose_tensor_type(ft, blk + "ffn_down.weight", 32, {14336, 4096}), want) << i;
    EXPECT_EQ(choose_tensor_type(ft, blk + "attn_k.weight", 32, {4096, 1024}), TensorType::Q4_K) << i;
    EXPECT_EQ(choose_tensor_type(ft, blk + "attn_qkv.weight", 32, {3072, 9216}), TensorType::Q5_K) << i;
  }
  EXPECT_EQ(choose_tensor_type(ft, "blk.5.attn_v.weight", 32, {4096, 1024}), TensorType::Q4_K);
  EXPECT_EQ(choose_tensor_type(ft, "blk.6.attn_v.weight", 32, {4096, 1024}), TensorType::Q6_K);
  // Rows that are not a multiple of 256 fall back as llama.cpp's: Q4_K -> Q5_0, Q6_K -> Q8_0;
  // of 32 to F16. Qwen2.5-0.5B (dim 896, 24 layers, tied output) as its Q4_K_M download has it:
  EXPECT_EQ(choose_tensor_type(ft, "blk.1.attn_q.weight", 24, {896, 896}), TensorType::Q5_0);
  EXPECT_EQ(choose_tensor_type(ft, "blk.1.ffn_gate.weight", 24, {896, 4864}), TensorType::Q5_0);
  EXPECT_EQ(choose_tensor_type(ft, "blk.4.attn_v.weight", 24, {896, 128}), TensorType::Q5_0);
  EXPECT_EQ(choose_tensor_type(ft, "blk.0.attn_v.weight", 24, {896, 128}), TensorType::Q8_0);  // Q6_K -> Q8_0
  EXPECT_EQ(choose_tensor_type(ft, "blk.0.ffn_down.weight", 24, {4864, 896}), TensorType::Q6_K);  // 4864 = 19 x 256
  EXPECT_EQ(choose_tensor_type(ft, "token_embd.weight", 24, {896, 151936}, /*has_output=*/false), TensorType::Q8_0);
  EXPECT_EQ(choose_tensor_type(ft, "blk.5.ffn_down.weight", 32, {11008 - 64, 4096}), TensorType::Q5_0);
  EXPECT_EQ(choose_tensor_type(ft, "blk.1.ffn_down.weight", 32, {11008 - 64, 4096}), TensorType::Q8_0);
  EXPECT_EQ(choose_tensor_type(ft, "blk.0.attn_qkv.weight", 32, {3072 + 32, 9216}), TensorType::Q5_1);  // Q5_K -> Q5_1
  EXPECT_EQ(choose_tensor_type(ft, "output.weight", 32, {2560 + 32, 1000}), TensorType::Q8_0);
  EXPECT_EQ(choose_tensor_type(ft, "blk.1.attn_q.weight", 32, {100, 100}), TensorType::F16);
}

TEST(QuantMix, OtherFileTypes) {
  EXPECT_EQ(choose_tensor_type(FileType::Q5_K_M, "blk.0.attn_v.weight", 32, kMat), TensorType::Q6_K);
  EXPECT_EQ(choose_tensor_type(FileType::Q5_K_M, "blk.5.ffn_down.weight", 32, kMat), TensorType::Q5_K);
  EXPECT_EQ(choose_tensor_type(FileType::Q5_K_M, "blk.5.attn_qkv.weight", 32, kMat), TensorType::Q6_K);
  EXPECT_EQ(choose_tensor_type(FileType::Q5_K_M, "blk.5.ffn_down.weight", 32, {896, 4096}), TensorType::Q5_1);
  EXPECT_EQ(choose_tensor_type(FileType::Q6_K, "blk.5.ffn_down.weight", 32, kMat), TensorType::Q6_K);
  EXPECT_EQ(choose_tensor_type(FileType::Q6_K, "blk.5.ffn_down.weight", 32, {896, 4096}), TensorType::Q8_0);
  EXPECT_EQ(choose_tensor_type(FileType::Q5_0, "blk.0.attn_v.weight", 32, {896, 128}), TensorType::Q5_0);
  EXPECT_EQ(choose_tensor_type(FileType::Q5_0, "output.weight", 32, kMat), TensorType::Q6_K);
  EXPECT_EQ(choose_tensor_type(FileType::Q5_1, "blk.2.ffn_down.weight", 32, kMat), TensorType::Q5_1);
  EXPECT_EQ(choose_tensor_type(FileType::Q5_1, "blk.2.ffn_down.weight", 32, {100, 4096}), TensorType::F16);
  EXPECT_EQ(choose_tensor_type(FileType::Q4_0, "blk.0.attn_v.weight", 32, kMat), TensorType::Q4_0);
  EXPECT_EQ(choose_tensor_type(FileType::Q4_0, "output.weight", 32, kMat), TensorType::Q6_K);
  EXPECT_EQ(choose_tensor_type(FileType::Q4_1, "blk.2.ffn_down.weight", 32, kMat), TensorType::Q4_1);
  EXPECT_EQ(choose_tensor_type(FileType::Q8_0, "output.weight", 32, kMat), TensorType::Q8_0);
  EXPECT_EQ(choose_tensor_type(FileType::Q8_0, "token_embd.weight", 32, kMat), TensorType::Q8_0);
  EXPECT_EQ(choose_tensor_type(FileType::F16, "output.weight", 32, kMat), TensorType::F16);
  EXPECT_EQ(choose_tensor_type(FileType::F16, "blk.0.ffn_norm.weight", 32, {4096}), TensorType::F32);
  EXPECT_EQ(choose_tensor_type(FileType::BF16, "blk.0.ffn_up.weight", 32, kMat), TensorType::BF16);
}

}  // namespace
}  // namespace wgllm
