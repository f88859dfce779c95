// The family table. Flags come from how llama.cpp builds each architecture's graph on the GGUF
// files its converter writes (see arch.h for what each flag means).
#include "model/arch.h"

#include "util/error.h"

namespace wgllm {

namespace {

struct RoleName {
  TensorRole role;
  const char* name;  // per-layer names are prefixed with "blk.<i>."
  bool per_layer;
};

constexpr RoleName kRoleNames[] = {
    {TensorRole::TokenEmbd, "token_embd.weight", false},
    {TensorRole::OutputNorm, "output_norm.weight", false},
    {TensorRole::Output, "output.weight", false},
    {TensorRole::RopeFreqs, "rope_freqs.weight", false},
    {TensorRole::RopeFactorsLong, "rope_factors_long.weight", false},
    {TensorRole::RopeFactorsShort, "rope_factors_short.weight", false},
    {TensorRole::AttnNorm, "attn_norm.weight", true},
    {TensorRole::AttnQ, "attn_q.weight", true},
    {TensorRole::AttnK, "attn_k.weight", true},
    {TensorRole::AttnV, "attn_v.weight", true},
    {TensorRole::AttnQkv, "attn_qkv.weight", true},
    {TensorRole::AttnQBias, "attn_q.bias", true},
    {TensorRole::AttnKBias, "attn_k.bias", true},
    {TensorRole::AttnVBias, "attn_v.bias", true},
    {TensorRole::AttnQNorm, "attn_q_norm.weight", true},
    {TensorRole::AttnKNorm, "attn_k_norm.weight", true},
    {TensorRole::AttnOut, "attn_output.weight", true},
    {TensorRole::AttnPostNorm, "post_attention_norm.weight", true},
    {TensorRole::FfnNorm, "ffn_norm.weight", true},
    {TensorRole::FfnGate, "ffn_gate.weight", true},
    {TensorRole::FfnUp, "ffn_up.weight", true},
    {TensorRole::FfnDown, "ffn_down.weight", true},
    {TensorRole::FfnPostNorm, "post_ffw_norm.weight", true},
};
static_assert(std::size(kRoleNames) == size_t(TensorRole::Count));

const RoleName& role_name(TensorRole role) { return kRoleNames[size_t(role)]; }

}  // namespace

std::string tensor_name(TensorRole role, int layer) {
  const RoleName& r = role_name(role);
  if (!r.per_layer) return r.name;
  return cat("blk.", layer, ".", r.name);
}

bool is_layer_role(TensorRole role) { return role_name(role).per_layer; }

const std::vector<ArchInfo>& supported_archs() {
  using R = RopeOrder;
  using A = Activation;
  using S = SlidingPattern;
  // clang-format off
  static const std::vector<ArchInfo> table = {
    // name     family                                      rope     act          qkv    gateup bias   qknorm post  embscale caps   sliding        window long_rope
    {"llama",  "Llama 2/3/3.1/3.2, Mistral, TinyLlama, SmolLM", R::Normal, A::SiLU,   false, false, false, false, false, false, false, S::None,       0,    false},
    {"qwen2",  "Qwen2 / Qwen2.5",                           R::NeoX,   A::SiLU,     false, false, true,  false, false, false, false, S::None,       0,    false},
    {"qwen3",  "Qwen3",                                     R::NeoX,   A::SiLU,     false, false, false, true,  false, false, false, S::None,       0,    false},
    // Phi-3's 2047-token window is disabled in llama.cpp (PR 13676): we compute what it computes.
    {"phi3",   "Phi-3",                                     R::NeoX,   A::SiLU,     true,  true,  false, false, false, false, false, S::None,       0,    true},
    {"gemma",  "Gemma",                                     R::NeoX,   A::GeluTanh, false, false, false, false, false, true,  false, S::None,       0,    false},
    {"gemma2", "Gemma 2",                                   R::NeoX,   A::GeluTanh, false, false, false, false, true,  true,  true,  S::EvenLayers, 4096, false},
  };
  // clang-format on
  return table;
}

const ArchInfo* find_arch(std::string_view gguf_name) {
  for (const ArchInfo& a : supported_archs())
    if (gguf_name == a.gguf_name) return &a;
  return nullptr;
}

std::string supported_arch_list() {
  std::string out;
  for (const ArchInfo& a : supported_archs()) {
    if (!out.empty()) out += ", ";
    out += a.gguf_name;
  }
  return out;
}

std::vector<TensorRole> layer_roles(const ArchInfo& arch) {
  using T = TensorRole;
  std::vector<T> roles = {T::AttnNorm};
  if (arch.fused_qkv) {
    roles.push_back(T::AttnQkv);
  } else {
    roles.insert(roles.end(), {T::AttnQ, T::AttnK, T::AttnV});
  }
  if (arch.qkv_bias) roles.insert(roles.end(), {T::AttnQBias, T::AttnKBias, T::AttnVBias});
  if (arch.qk_norm) roles.insert(roles.end(), {T::AttnQNorm, T::AttnKNorm});
  roles.push_back(T::AttnOut);
  if (arch.post_norms) roles.push_back(T::AttnPostNorm);
  roles.push_back(T::FfnNorm);
  if (!arch.fused_gate_up) roles.push_back(T::FfnGate);
  roles.insert(roles.end(), {T::FfnUp, T::FfnDown});
  if (arch.post_norms) roles.push_back(T::FfnPostNorm);
  return roles;
}

}  // namespace wgllm
