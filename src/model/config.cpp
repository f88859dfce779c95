// Reads ModelConfig from GGUF metadata. Key names are llama.cpp's ("{arch}.attention.head_count").
#include "model/config.h"

#include <cmath>

#include "format/gguf.h"
#include "util/error.h"

namespace wgllm {

namespace {

// Reads "{arch}.<suffix>" keys and names the file in every error.
struct Keys {
  const GgufFile& f;
  std::string arch;

  std::string key(const char* suffix) const { return arch + "." + suffix; }
  bool has(const char* suffix) const { return f.has(key(suffix)); }

  int64_t get_int(const char* suffix) const {
    const std::string k = key(suffix);
    if (!f.has(k)) fail(f.path(), ": missing metadata key ", k);
    const int64_t v = f.get_i64(k);
    if (v <= 0 || v > (int64_t(1) << 31)) fail(f.path(), ": metadata key ", k, " = ", v, " is out of range");
    return v;
  }
  int64_t get_int(const char* suffix, int64_t fallback) const {
    return has(suffix) ? get_int(suffix) : fallback;
  }
  float get_float(const char* suffix) const {
    const std::string k = key(suffix);
    if (!f.has(k)) fail(f.path(), ": missing metadata key ", k);
    const double v = f.get_f64(k);
    if (!std::isfinite(v)) fail(f.path(), ": metadata key ", k, " is not finite");
    return float(v);
  }
  float get_float(const char* suffix, float fallback) const {
    return has(suffix) ? get_float(suffix) : fallback;
  }
};

}  // namespace

ModelConfig config_from_gguf(const GgufFile& f) {
  if (!f.has("general.architecture")) fail(f.path(), ": missing metadata key general.architecture");
  const std::string arch_name = f.get_string("general.architecture");
  ModelConfig c;
  c.arch = find_arch(arch_name);
  if (!c.arch)
    fail(f.path(), ": unsupported architecture '", arch_name, "' (supported: ", supported_arch_list(), ")");
  c.name = f.get_string("general.name", "");
  const Keys k{f, arch_name};

  c.n_layers = int(k.get_int("block_count"));
  c.dim = int(k.get_int("embedding_length"));
  c.n_heads = int(k.get_int("attention.head_count"));
  c.n_kv_heads = int(k.get_int("attention.head_count_kv", c.n_heads));
  c.ffn_dim = int(k.get_int("feed_forward_length"));
  c.context_length = int(k.get_int("context_length"));
  c.norm_eps = k.get_float("attention.layer_norm_rms_epsilon");
  if (!(c.norm_eps > 0.f)) fail(f.path(), ": ", k.key("attention.layer_norm_rms_epsilon"), " must be > 0");
  if (c.dim % c.n_heads != 0 && !k.has("attention.key_length"))
    fail(f.path(), ": ", k.key("embedding_length"), " = ", c.dim, " is not a multiple of ",
         k.key("attention.head_count"), " = ", c.n_heads, " and ", k.key("attention.key_length"), " is missing");
  c.head_dim = int(k.get_int("attention.key_length", c.dim / c.n_heads));
  const int v_len = int(k.get_int("attention.value_length", c.head_dim));
  if (v_len != c.head_dim)
    fail(f.path(), ": ", k.key("attention.value_length"), " = ", v_len, " differs from ",
         k.key("attention.key_length"), " = ", c.head_dim, " (unsupported)");
  if (c.n_heads % c.n_kv_heads != 0)
    fail(f.path(), ": ", k.key("attention.head_count"), " = ", c.n_heads, " is not a multiple of ",
         k.key("attention.head_count_kv"), " = ", c.n_kv_heads);

  // RoPE.
  c.rope_theta = k.get_float("rope.freq_base", 10000.f);
  c.rope_dims = int(k.get_int("rope.dimension_count", c.head_dim));
  if (c.rope_dims > c.head_dim || c.rope_dims % 2 != 0)
    fail(f.path(), ": ", k.key("rope.dimension_count"), " = ", c.rope_dims, " must be even and <= head_dim ", c.head_dim);
  const std::string scaling = f.get_string(k.key("rope.scaling.type"), "linear");
  if (scaling == "yarn")
    fail(f.path(), ": ", k.key("rope.scaling.type"), " = yarn is not supported");
  if (scaling != "none" && k.has("rope.scaling.factor")) {
    const float factor = k.get_float("rope.scaling.factor");
    if (factor > 0.f && scaling != "longrope") c.rope_freq_scale = 1.f / factor;
  }
  c.rope_attn_factor = k.get_float("rope.scaling.attn_factor", 1.f);
  c.rope_orig_context = int(k.get_int("rope.scaling.original_context_length", c.context_length));

  // Tensors the config depends on.
  const GgufTensor* embd = f.find_tensor(tensor_name(TensorRole::TokenEmbd));
  if (!embd) fail(f.path(), ": missing tensor ", tensor_name(TensorRole::TokenEmbd));
  if (embd->shape.size() != 2 || embd->shape[0] != c.dim)
    fail(f.path(), ": tensor token_embd.weight has ne[0] = ", embd->shape.empty() ? 0 : embd->shape[0],
         ", expected ", k.key("embedding_length"), " = ", c.dim);
  c.vocab_size = int(embd->shape[1]);
  if (k.has("vocab_size") && k.get_int("vocab_size") != c.vocab_size)
    fail(f.path(), ": ", k.key("vocab_size"), " = ", k.get_int("vocab_size"),
         " differs from token_embd.weight rows ", c.vocab_size);
  c.tied_output = f.find_tensor(tensor_name(TensorRole::Output)) == nullptr;
  c.has_rope_freqs = f.find_tensor(tensor_name(TensorRole::RopeFreqs)) != nullptr;
  c.has_long_rope = c.arch->long_rope &&
                    f.find_tensor(tensor_name(TensorRole::RopeFactorsLong)) != nullptr &&
                    f.find_tensor(tensor_name(TensorRole::RopeFactorsShort)) != nullptr;

  // Attention details.
  c.attn_scale = 1.f / std::sqrt(float(c.head_dim));
  // Gemma-2 27B scales queries by 1/sqrt(dim/n_heads) (query_pre_attn_scalar = 144); llama.cpp
  // recognises it by its 46 layers.
  if (c.arch->has_softcaps && c.n_layers == 46) c.attn_scale = 1.f / std::sqrt(float(c.dim / c.n_heads));
  // An explicit q.k multiplier (llama.cpp's {arch}.attention.scale), which `wgllm convert` writes
  // for a Gemma-2 checkpoint whose query_pre_attn_scalar differs from the rule above.
  c.attn_scale = k.get_float("attention.scale", c.attn_scale);
  if (!(c.attn_scale > 0.f)) fail(f.path(), ": ", k.key("attention.scale"), " must be > 0");
  if (c.arch->has_softcaps) {
    c.attn_softcap = k.get_float("attn_logit_softcapping", 50.f);
    c.final_softcap = k.get_float("final_logit_softcapping", 30.f);
  }
  c.layer_sliding.assign(c.n_layers, false);
  if (c.arch->sliding != SlidingPattern::None) {
    c.sliding_window = int(k.get_int("attention.sliding_window", c.arch->default_sliding_window));
    for (int l = 0; l < c.n_layers; l++)
      c.layer_sliding[l] = c.arch->sliding == SlidingPattern::EvenLayers && l % 2 == 0;
  }
  c.embed_scale = c.arch->embed_scale_sqrt_dim ? std::sqrt(float(c.dim)) : 1.f;
  return c;
}

std::string describe(const ModelConfig& c) {
  std::string s = cat(c.arch->gguf_name, ": ", c.n_layers, " layers, dim ", c.dim, ", ", c.n_heads, "/",
                      c.n_kv_heads, " heads x ", c.head_dim, ", ffn ", c.ffn_dim, ", vocab ", c.vocab_size,
                      ", ctx ", c.context_length);
  if (c.tied_output) s += ", tied output";
  if (c.sliding_window) s += cat(", window ", c.sliding_window);
  if (c.attn_softcap > 0) s += cat(", softcaps ", c.attn_softcap, "/", c.final_softcap);
  return s;
}

}  // namespace wgllm
