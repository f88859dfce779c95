// ModelWeights: an opened GGUF file, its ModelConfig, and every tensor the family needs, found
// by role and shape-checked against the config (a missing tensor or a wrong shape raises an
// Error naming the file, the tensor and the expected shape). Tensor data stays in the mmap.
#pragma once
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "model/config.h"

namespace wgllm {

struct ModelWeights {
  std::unique_ptr<GgufFile> file;
  ModelConfig config;
  // [role] -> tensor, null where the family lacks it (or it is optional and absent).
  std::array<const GgufTensor*, size_t(TensorRole::Count)> global{};
  std::vector<std::array<const GgufTensor*, size_t(TensorRole::Count)>> layers;  // (n_layers)

  const GgufTensor* get(TensorRole role) const { return global[size_t(role)]; }
  const GgufTensor* get(TensorRole role, int layer) const { return layers[layer][size_t(role)]; }
  // The output projection: output.weight, or token_embd.weight when tied.
  const GgufTensor& output() const;

  // RoPE frequency divisors (rope_dims/2), all 1 when the model has none. For Phi-3 LongRoPE
  // the long factors are chosen when the context used exceeds the original training context,
  // as llama.cpp does.
  std::vector<float> rope_factors(int context_used) const;
};

// Opens `path`, reads the config and finds every tensor.
ModelWeights load_model_weights(const std::string& path);

// The shape (ne order: [cols, rows]) each role must have under `c`; empty for unknown.
std::vector<int64_t> expected_shape(const ModelConfig& c, TensorRole role);

// Reads a whole tensor as float32 (dequantized), e.g. norms and biases.
std::vector<float> tensor_to_f32(const GgufTensor& t);

}  // namespace wgllm
