#include "model/weights.h"

#include "util/error.h"

namespace wgllm {

namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); i++) out += cat(i ? ", " : "", s[i]);
  return out + "]";
}

}  // namespace

std::vector<int64_t> expected_shape(const ModelConfig& c, TensorRole role) {
  using T = TensorRole;
  const int64_t d = c.dim, q = c.q_dim(), kv = c.kv_dim(), f = c.ffn_dim;
  switch (role) {
    case T::TokenEmbd: case T::Output: return {d, c.vocab_size};
    case T::OutputNorm: case T::AttnNorm: case T::FfnNorm:
    case T::AttnPostNorm: case T::FfnPostNorm: return {d};
    case T::RopeFreqs: case T::RopeFactorsLong: case T::RopeFactorsShort: return {c.rope_dims / 2};
    case T::AttnQ: return {d, q};
    case T::AttnK: case T::AttnV: return {d, kv};
    case T::AttnQkv: return {d, q + 2 * kv};
    case T::AttnQBias: return {q};
    case T::AttnKBias: case T::AttnVBias: return {kv};
    case T::AttnQNorm: case T::AttnKNorm: return {c.head_dim};
    case T::AttnOut: return {q, d};
    case T::FfnGate: return {d, f};
    case T::FfnUp: return {d, c.arch->fused_gate_up ? 2 * f : f};
    case T::FfnDown: return {f, d};
    case T::Count: break;
  }
  return {};
}

const GgufTensor& ModelWeights::output() const {
  const GgufTensor* t = get(TensorRole::Output);
  return t ? *t : *get(TensorRole::TokenEmbd);
}

std::vector<float> ModelWeights::rope_factors(int context_used) const {
  const GgufTensor* t = get(TensorRole::RopeFreqs);
  if (!t && config.has_long_rope)
    t = get(context_used > config.rope_orig_context ? TensorRole::RopeFactorsLong : TensorRole::RopeFactorsShort);
  if (!t) return std::vector<float>(config.rope_dims / 2, 1.f);
  return tensor_to_f32(*t);
}

std::vector<float> tensor_to_f32(const GgufTensor& t) {
  std::vector<float> out(t.n_elements());
  const int64_t cols = t.shape.empty() ? 1 : t.shape[0];
  const size_t rb = row_bytes(t.type, cols);
  const TensorBytes bytes(t, 0, t.size);
  for (int64_t r = 0; r < t.n_rows(); r++) dequantize_row(t.type, bytes.data() + r * rb, out.data() + r * cols, cols);
  return out;
}

ModelWeights load_model_weights(const std::string& path) {
  ModelWeights w;
  w.file = GgufFile::open(path);
  w.config = config_from_gguf(*w.file);
  const ModelConfig& c = w.config;

  auto find = [&](TensorRole role, int layer, bool required) -> const GgufTensor* {
    const std::string name = tensor_name(role, layer);
    const GgufTensor* t = w.file->find_tensor(name);
    if (!t) {
      if (required) fail(path, ": missing tensor ", name, " (", c.arch->gguf_name, " needs it)");
      return nullptr;
    }
    const std::vector<int64_t> want = expected_shape(c, role);
    if (t->shape != want)
      fail(path, ": tensor ", name, " has shape ", shape_str(t->shape), ", expected ", shape_str(want));
    return t;
  };

  using T = TensorRole;
  w.global[size_t(T::TokenEmbd)] = find(T::TokenEmbd, -1, true);
  w.global[size_t(T::OutputNorm)] = find(T::OutputNorm, -1, true);
  w.global[size_t(T::Output)] = find(T::Output, -1, false);
  w.global[size_t(T::RopeFreqs)] = find(T::RopeFreqs, -1, false);
  if (c.arch->long_rope) {
    w.global[size_t(T::RopeFactorsLong)] = find(T::RopeFactorsLong, -1, false);
    w.global[size_t(T::RopeFactorsShort)] = find(T::RopeFactorsShort, -1, false);
  }
  const std::vector<TensorRole> roles = layer_roles(*c.arch);
  w.layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; l++)
    for (TensorRole role : roles) w.layers[l][size_t(role)] = find(role, l, true);
  return w;
}

}  // namespace wgllm
