// The CPU reference forward pass: one plain function for every family, switched by the
// family flags in ModelConfig/ArchInfo (llama2.c's forward() with parameters). float32
// activations, weights dequantized row by row from the GGUF map, a KV cache per layer.
#pragma once
#include <span>
#include <string>
#include <vector>

#include "model/weights.h"

namespace wgllm::ref {

class Transformer {
 public:
  // max_context: KV cache capacity in tokens (<= 0: the model's context length). Also picks
  // Phi-3's long/short RoPE factors as llama.cpp does from the context it is given.
  explicit Transformer(const std::string& path, int max_context = 4096);
  explicit Transformer(ModelWeights weights, int max_context = 4096);

  const ModelConfig& config() const { return w_.config; }
  const ModelWeights& weights() const { return w_; }
  int max_context() const { return max_context_; }

  // Runs `token` at position `pos` (0 <= pos <= number of tokens already cached; a smaller pos
  // rewinds the cache) and returns the logits (vocab_size).
  std::vector<float> forward(int token, int pos);
  // Runs tokens at positions start_pos, start_pos+1, ...; returns logits for every token
  // ([n_tokens x vocab_size], row-major) when all_logits, else for the last one only.
  std::vector<float> forward_tokens(std::span<const int> tokens, int start_pos, bool all_logits = true);

 private:
  struct LayerNorms {  // float copies of the small per-layer vectors (empty if absent)
    std::vector<float> attn_norm, ffn_norm, attn_post_norm, ffn_post_norm, q_norm, k_norm;
    std::vector<float> q_bias, k_bias, v_bias;
  };
  ModelWeights w_;
  int max_context_;
  std::vector<LayerNorms> norms_;     // (n_layers)
  std::vector<float> output_norm_;    // (dim)
  std::vector<float> rope_factors_;   // (rope_dims/2)
  // KV cache: (n_layers, max_context, kv_dim)
  std::vector<float> key_cache_, value_cache_;
  int n_cached_ = 0;
  // Activations for the current token.
  std::vector<float> x_, xb_, xb2_, q_, k_, v_, att_, hb_, hb2_, logits_;
  void init();
};

}  // namespace wgllm::ref
