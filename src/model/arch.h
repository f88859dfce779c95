// Architectures as data: one table row per model family saying which GGUF architecture name it
// has, which tensors each layer carries and which features the forward pass must switch on.
// Adding a family = adding a row here (and its GGUF keys, if new, in config.cpp); the forward
// passes read only these flags, never the family name.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace wgllm {

// Every tensor a supported model can have. Names follow llama.cpp's GGUF tensor names.
enum class TensorRole {
  TokenEmbd,         // token_embd.weight          (vocab, dim)      ne = [dim, vocab]
  OutputNorm,        // output_norm.weight         (dim)
  Output,            // output.weight              (vocab, dim); absent => tied to TokenEmbd
  RopeFreqs,         // rope_freqs.weight          (rope_dims/2) Llama-3.1 frequency divisors
  RopeFactorsLong,   // rope_factors_long.weight   (rope_dims/2) Phi-3 LongRoPE, long context
  RopeFactorsShort,  // rope_factors_short.weight  (rope_dims/2) Phi-3 LongRoPE, short context
  // Per layer ("blk.%d."):
  AttnNorm,      // attn_norm.weight           (dim)
  AttnQ,         // attn_q.weight              (n_heads*head_dim, dim)
  AttnK,         // attn_k.weight              (n_kv_heads*head_dim, dim)
  AttnV,         // attn_v.weight              (n_kv_heads*head_dim, dim)
  AttnQkv,       // attn_qkv.weight            (q_dim + 2*kv_dim, dim) fused (Phi-3)
  AttnQBias,     // attn_q.bias                (n_heads*head_dim)
  AttnKBias,     // attn_k.bias                (n_kv_heads*head_dim)
  AttnVBias,     // attn_v.bias                (n_kv_heads*head_dim)
  AttnQNorm,     // attn_q_norm.weight         (head_dim) RMSNorm per head (Qwen3)
  AttnKNorm,     // attn_k_norm.weight         (head_dim)
  AttnOut,       // attn_output.weight         (dim, n_heads*head_dim)
  AttnPostNorm,  // post_attention_norm.weight (dim) norm of the attention output (Gemma-2)
  FfnNorm,       // ffn_norm.weight            (dim)
  FfnGate,       // ffn_gate.weight            (ffn_dim, dim)
  FfnUp,         // ffn_up.weight              (ffn_dim, dim); Phi-3: (2*ffn_dim, dim) = gate|up
  FfnDown,       // ffn_down.weight            (dim, ffn_dim)
  FfnPostNorm,   // post_ffw_norm.weight       (dim) norm of the FFN output (Gemma-2)
  Count,
};

// "token_embd.weight", or for a per-layer role "blk.<layer>.attn_q.weight".
std::string tensor_name(TensorRole role, int layer = -1);
bool is_layer_role(TensorRole role);

enum class RopeOrder {
  Normal,  // rotates adjacent pairs (x[2i], x[2i+1]) — llama.cpp permutes Llama Q/K to this
  NeoX,    // rotates (x[i], x[i + rope_dims/2]) — the HF layout, kept as is by the converter
};

enum class Activation { SiLU, GeluTanh };  // FFN gate activation: SwiGLU vs GeGLU

// Which layers use a sliding attention window.
enum class SlidingPattern {
  None,       // no layer slides (the window key, if any, is ignored)
  EvenLayers  // layers 0, 2, 4, ... slide, odd ones attend globally (Gemma-2)
};

struct ArchInfo {
  const char* gguf_name;   // general.architecture
  const char* family;      // human name for messages: "Llama / Mistral / SmolLM"
  RopeOrder rope_order;
  Activation activation;
  bool fused_qkv;          // attn_qkv instead of attn_q/k/v (Phi-3)
  bool fused_gate_up;      // ffn_up holds gate then up, no ffn_gate (Phi-3)
  bool qkv_bias;           // attn_q/k/v.bias present (Qwen2)
  bool qk_norm;            // attn_q_norm/attn_k_norm (Qwen3)
  bool post_norms;         // post_attention_norm/post_ffw_norm (Gemma-2)
  bool embed_scale_sqrt_dim;  // embeddings multiplied by sqrt(dim) (Gemma)
  bool has_softcaps;       // reads {arch}.attn_logit_softcapping / final_logit_softcapping
  SlidingPattern sliding;  // which layers use {arch}.attention.sliding_window
  int default_sliding_window;    // when the key is absent (0 = none)
  bool long_rope;          // may carry rope_factors_long/short (Phi-3)
};

// The table of supported families, in a stable order.
const std::vector<ArchInfo>& supported_archs();
// nullptr when unknown.
const ArchInfo* find_arch(std::string_view gguf_name);
// "llama, qwen2, qwen3, phi3, gemma, gemma2" for error messages.
std::string supported_arch_list();

// The per-layer tensors this family requires (optional ones like AttnQBias are in it only when
// the flag says the family has them).
std::vector<TensorRole> layer_roles(const ArchInfo& arch);

}  // namespace wgllm
