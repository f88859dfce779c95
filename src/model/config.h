// ModelConfig: every hyperparameter a forward pass needs, read from GGUF metadata and checked
// against the tensors. Shapes are written (rows, cols) as in llama2.c: a weight of shape
// (out, in) is stored in GGUF with ne = [in, out] (rows of `in` contiguous elements).
#pragma once
#include <string>
#include <vector>

#include "model/arch.h"

namespace wgllm {

class GgufFile;

struct ModelConfig {
  const ArchInfo* arch = nullptr;  // family table row (never null once loaded)
  std::string name;                // general.name, for messages ("" if absent)

  int n_layers = 0;     // transformer blocks                 {arch}.block_count
  int dim = 0;          // residual stream width               {arch}.embedding_length
  int n_heads = 0;      // query heads                         {arch}.attention.head_count
  int n_kv_heads = 0;   // key/value heads (GQA: divides n_heads) .attention.head_count_kv
  int head_dim = 0;     // per-head width of q/k/v             .attention.key_length (dim/n_heads)
  int ffn_dim = 0;      // FFN hidden width                    {arch}.feed_forward_length
  int vocab_size = 0;   // rows of token_embd                  token_embd ne[1]
  int context_length = 0;  // trained context                  {arch}.context_length
  float norm_eps = 1e-5f;  // RMSNorm epsilon                  .attention.layer_norm_rms_epsilon

  // RoPE: angle(pos, i) = pos * freq_scale * rope_theta^(-2i/rope_dims) / factor[i], applied to
  // the first rope_dims of each head in rope order (arch->rope_order).
  float rope_theta = 10000.f;  // {arch}.rope.freq_base
  int rope_dims = 0;           // {arch}.rope.dimension_count (head_dim when absent)
  float rope_freq_scale = 1.f; // 1 / {arch}.rope.scaling.factor for linear scaling, else 1
  float rope_attn_factor = 1.f;  // {arch}.rope.scaling.attn_factor: multiplies cos and sin
  int rope_orig_context = 0;   // {arch}.rope.scaling.original_context_length (Phi-3 long/short)
  // Per-frequency divisors (rope_dims/2) from rope_freqs.weight (Llama-3.1/3.2 scaling) or
  // rope_factors_long/short (Phi-3 LongRoPE): the tensors are read by the weights loader;
  // these flags say which exist.
  bool has_rope_freqs = false;
  bool has_long_rope = false;

  int sliding_window = 0;           // tokens a sliding layer sees, itself included (0 = none)
  std::vector<bool> layer_sliding;  // (n_layers) true where this layer uses the window

  float attn_scale = 0.f;      // q.k multiplier: 1/sqrt(head_dim) (Gemma-2 27B: 1/sqrt(dim/heads))
  float attn_softcap = 0.f;    // scores = c*tanh(scores/c) when > 0   {arch}.attn_logit_softcapping
  float final_softcap = 0.f;   // logits = c*tanh(logits/c) when > 0   .final_logit_softcapping
  float embed_scale = 1.f;     // embeddings multiplied by this (Gemma: sqrt(dim))
  bool tied_output = false;    // no output.weight: logits use token_embd

  int q_dim() const { return n_heads * head_dim; }      // (n_heads * head_dim)
  int kv_dim() const { return n_kv_heads * head_dim; }  // (n_kv_heads * head_dim)
};

// Reads and validates the config: a missing key, a shape mismatch between metadata and tensors
// or an unsupported architecture raises wgllm::Error naming the file and the key/tensor.
ModelConfig config_from_gguf(const GgufFile& file);

// One line for logs: "llama: 16 layers, dim 2048, 32/8 heads x 64, ffn 8192, vocab 128256".
std::string describe(const ModelConfig& c);

}  // namespace wgllm
