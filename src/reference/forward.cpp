#include "reference/forward.h"

#include <algorithm>
#include <cmath>

#include "reference/ops.h"
#include "util/error.h"

namespace wgllm::ref {

Transformer::Transformer(const std::string& path, int max_context)
    : Transformer(load_model_weights(path), max_context) {}

Transformer::Transformer(ModelWeights weights, int max_context) : w_(std::move(weights)) {
  const ModelConfig& c = w_.config;
  max_context_ = max_context <= 0 ? c.context_length : std::min(max_context, c.context_length);
  init();
}

void Transformer::init() {
  const ModelConfig& c = w_.config;
  auto vec = [&](TensorRole role, int layer) {
    const GgufTensor* t = w_.get(role, layer);
    return t ? tensor_to_f32(*t) : std::vector<float>();
  };
  norms_.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; l++) {
    LayerNorms& n = norms_[l];
    n.attn_norm = vec(TensorRole::AttnNorm, l);
    n.ffn_norm = vec(TensorRole::FfnNorm, l);
    n.attn_post_norm = vec(TensorRole::AttnPostNorm, l);
    n.ffn_post_norm = vec(TensorRole::FfnPostNorm, l);
    n.q_norm = vec(TensorRole::AttnQNorm, l);
    n.k_norm = vec(TensorRole::AttnKNorm, l);
    n.q_bias = vec(TensorRole::AttnQBias, l);
    n.k_bias = vec(TensorRole::AttnKBias, l);
    n.v_bias = vec(TensorRole::AttnVBias, l);
  }
  output_norm_ = tensor_to_f32(*w_.get(TensorRole::OutputNorm));
  rope_factors_ = w_.rope_factors(max_context_);
  key_cache_.assign(size_t(c.n_layers) * max_context_ * c.kv_dim(), 0.f);
  value_cache_.assign(key_cache_.size(), 0.f);
  x_.resize(c.dim);
  xb_.resize(std::max(c.dim, c.q_dim()));
  xb2_.resize(c.dim);
  q_.resize(c.q_dim() + 2 * c.kv_dim());  // room for a fused qkv result
  k_.resize(c.kv_dim());
  v_.resize(c.kv_dim());
  att_.resize(max_context_);
  hb_.resize(2 * c.ffn_dim);  // room for a fused gate|up result
  hb2_.resize(c.ffn_dim);
  logits_.resize(c.vocab_size);
}

std::vector<float> Transformer::forward(int token, int pos) {
  const ModelConfig& c = w_.config;
  const ArchInfo& arch = *c.arch;
  if (token < 0 || token >= c.vocab_size) fail("token id ", token, " is outside the vocabulary (", c.vocab_size, ")");
  if (pos < 0 || pos > n_cached_) fail("position ", pos, " skips past the ", n_cached_, " cached tokens");
  if (pos >= max_context_) fail("position ", pos, " exceeds the context size ", max_context_);
  const int dim = c.dim, hd = c.head_dim, kv_dim = c.kv_dim(), q_dim = c.q_dim();
  const int group = c.n_heads / c.n_kv_heads;  // query heads per kv head (GQA)
  float* x = x_.data();

  // Embedding: one dequantized row of token_embd.
  const GgufTensor& embd = *w_.get(TensorRole::TokenEmbd);
  dequantize_row(embd.type, embd.data + size_t(token) * row_bytes(embd.type, dim), x, dim);
  for (int i = 0; i < dim; i++) x[i] *= c.embed_scale;

  for (int l = 0; l < c.n_layers; l++) {
    const LayerNorms& n = norms_[l];
    auto W = [&](TensorRole role) -> const GgufTensor& { return *w_.get(role, l); };

    // Attention: norm, q/k/v projections (+bias), per-head q/k norm, RoPE.
    rmsnorm(xb_.data(), x, n.attn_norm.data(), dim, c.norm_eps);
    float* q = q_.data();
    float* k = k_.data();
    float* v = v_.data();
    if (arch.fused_qkv) {  // rows: q | k | v
      matvec(q, W(TensorRole::AttnQkv), xb_.data());
      std::copy(q + q_dim, q + q_dim + kv_dim, k);
      std::copy(q + q_dim + kv_dim, q + q_dim + 2 * kv_dim, v);
    } else {
      matvec(q, W(TensorRole::AttnQ), xb_.data());
      matvec(k, W(TensorRole::AttnK), xb_.data());
      matvec(v, W(TensorRole::AttnV), xb_.data());
    }
    if (!n.q_bias.empty()) {
      for (int i = 0; i < q_dim; i++) q[i] += n.q_bias[i];
      for (int i = 0; i < kv_dim; i++) k[i] += n.k_bias[i], v[i] += n.v_bias[i];
    }
    if (!n.q_norm.empty()) {
      for (int h = 0; h < c.n_heads; h++) rmsnorm(q + h * hd, q + h * hd, n.q_norm.data(), hd, c.norm_eps);
      for (int h = 0; h < c.n_kv_heads; h++) rmsnorm(k + h * hd, k + h * hd, n.k_norm.data(), hd, c.norm_eps);
    }
    rope(q, c.n_heads, hd, c.rope_dims, pos, c.rope_theta, c.rope_freq_scale, rope_factors_.data(),
         c.rope_attn_factor, arch.rope_order);
    rope(k, c.n_kv_heads, hd, c.rope_dims, pos, c.rope_theta, c.rope_freq_scale, rope_factors_.data(),
         c.rope_attn_factor, arch.rope_order);

    // Append k, v to this layer's cache at pos.
    float* key_cache = key_cache_.data() + size_t(l) * max_context_ * kv_dim;
    float* value_cache = value_cache_.data() + size_t(l) * max_context_ * kv_dim;
    std::copy(k, k + kv_dim, key_cache + size_t(pos) * kv_dim);
    std::copy(v, v + kv_dim, value_cache + size_t(pos) * kv_dim);

    // Causal attention over positions [first, pos]; a sliding layer sees the last `window`.
    const int first = c.layer_sliding[l] ? std::max(0, pos - c.sliding_window + 1) : 0;
    float* out = xb_.data();  // (q_dim) attention output, all heads
    for (int h = 0; h < c.n_heads; h++) {
      const float* qh = q + h * hd;
      const int kvh = h / group;
      float* att = att_.data();
      for (int t = first; t <= pos; t++) {
        const float* kt = key_cache + size_t(t) * kv_dim + kvh * hd;
        float score = 0;
        for (int i = 0; i < hd; i++) score += qh[i] * kt[i];
        score *= c.attn_scale;
        if (c.attn_softcap > 0) score = softcap(score, c.attn_softcap);
        att[t - first] = score;
      }
      softmax(att, pos - first + 1);
      float* oh = out + h * hd;
      std::fill(oh, oh + hd, 0.f);
      for (int t = first; t <= pos; t++) {
        const float* vt = value_cache + size_t(t) * kv_dim + kvh * hd;
        for (int i = 0; i < hd; i++) oh[i] += att[t - first] * vt[i];
      }
    }
    matvec(xb2_.data(), W(TensorRole::AttnOut), out);
    if (!n.attn_post_norm.empty()) rmsnorm(xb2_.data(), xb2_.data(), n.attn_post_norm.data(), dim, c.norm_eps);
    for (int i = 0; i < dim; i++) x[i] += xb2_[i];

    // FFN: act(gate) * up, then down.
    rmsnorm(xb_.data(), x, n.ffn_norm.data(), dim, c.norm_eps);
    float* gate = hb_.data();
    float* up = hb2_.data();
    if (arch.fused_gate_up) {  // rows: gate | up
      matvec(gate, W(TensorRole::FfnUp), xb_.data());
      std::copy(gate + c.ffn_dim, gate + 2 * c.ffn_dim, up);
    } else {
      matvec(gate, W(TensorRole::FfnGate), xb_.data());
      matvec(up, W(TensorRole::FfnUp), xb_.data());
    }
    for (int i = 0; i < c.ffn_dim; i++)
      gate[i] = (arch.activation == Activation::SiLU ? silu(gate[i]) : gelu_tanh(gate[i])) * up[i];
    matvec(xb2_.data(), W(TensorRole::FfnDown), gate);
    if (!n.ffn_post_norm.empty()) rmsnorm(xb2_.data(), xb2_.data(), n.ffn_post_norm.data(), dim, c.norm_eps);
    for (int i = 0; i < dim; i++) x[i] += xb2_[i];
  }
  n_cached_ = pos + 1;

  rmsnorm(x, x, output_norm_.data(), dim, c.norm_eps);
  matvec(logits_.data(), w_.output(), x);
  if (c.final_softcap > 0)
    for (float& z : logits_) z = softcap(z, c.final_softcap);
  return logits_;
}

std::vector<float> Transformer::forward_tokens(std::span<const int> tokens, int start_pos, bool all_logits) {
  std::vector<float> out;
  const size_t vocab = w_.config.vocab_size;
  if (all_logits) out.reserve(tokens.size() * vocab);
  for (size_t i = 0; i < tokens.size(); i++) {
    std::vector<float> logits = forward(tokens[i], start_pos + int(i));
    if (all_logits || i + 1 == tokens.size()) out.insert(out.end(), logits.begin(), logits.end());
  }
  return out;
}

}  // namespace wgllm::ref
