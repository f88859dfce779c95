#include "convert/hf_config.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "format/gguf.h"
#include "model/presets.h"
#include "util/error.h"
#include "util/json_file.h"

namespace wgllm {

namespace {

using nlohmann::json;

// Reads config.json values; null counts as absent (HF writes "head_dim": null and the like).
struct ConfigJson {
  std::string path;
  json j;

  bool has(const char* key) const { return j.contains(key) && !j[key].is_null(); }
  int64_t get_int(const char* key) const {
    if (!has(key)) fail(path, ": missing key ", key);
    if (!j[key].is_number_integer() || j[key].get<int64_t>() <= 0 || j[key].get<int64_t>() > (int64_t(1) << 31))
      fail(path, ": key ", key, " = ", j[key].dump(), " must be a positive integer");
    return j[key].get<int64_t>();
  }
  int64_t get_int(const char* key, int64_t fallback) const { return has(key) ? get_int(key) : fallback; }
  double get_number(const json& obj, const char* key, double fallback, const char* where = "") const {
    if (!obj.contains(key) || obj[key].is_null()) return fallback;
    if (!obj[key].is_number() || !std::isfinite(obj[key].get<double>()))
      fail(path, ": key ", where, key, " = ", obj[key].dump(), " must be a number");
    return obj[key].get<double>();
  }
  double get_number(const char* key, double fallback) const { return get_number(j, key, fallback); }
  bool get_bool(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j[key].is_boolean()) fail(path, ": key ", key, " = ", j[key].dump(), " must be true or false");
    return j[key].get<bool>();
  }
  double get_number(const char* key) const {
    if (!has(key)) fail(path, ": missing key ", key);
    return get_number(j, key, 0.0);
  }
};

// The RoPE settings as one object: transformers 5 writes rope_parameters {rope_type, rope_theta,
// factor, ...}; earlier versions rope_theta plus rope_scaling {type|rope_type, factor, ...}.
// Returns the scaling object (null when none) and sets theta.
json rope_settings(const ConfigJson& c, double& theta, const char*& where) {
  json rope;
  where = "rope_scaling.";
  if (c.has("rope_parameters")) {
    json p = c.j["rope_parameters"];
    if (!p.is_object()) fail(c.path, ": rope_parameters must be an object");
    if (!p.contains("rope_type") && !p.contains("rope_theta") && !p.empty()) {
      // One entry per attention type ({"full_attention": {...}, ...}): they must agree.
      const json first = p.begin().value();
      for (const auto& [type, params] : p.items())
        if (params != first)
          fail(c.path, ": rope_parameters differ between attention types (", p.begin().key(), " vs ", type, ")");
      p = first;
    }
    theta = c.get_number(p, "rope_theta", theta, "rope_parameters.");
    rope = p;
    where = "rope_parameters.";
  }
  theta = c.get_number("rope_theta", theta);
  if (c.has("rope_scaling")) {
    if (!c.j["rope_scaling"].is_object()) fail(c.path, ": rope_scaling must be an object or null");
    rope = c.j["rope_scaling"];
    where = "rope_scaling.";
  }
  return rope;
}

std::vector<float> float_list(const ConfigJson& c, const json& obj, const char* key, const char* where, size_t n) {
  if (!obj.contains(key) || !obj[key].is_array()) fail(c.path, ": missing key ", where, key);
  std::vector<float> out;
  for (const json& v : obj[key]) {
    if (!v.is_number()) fail(c.path, ": ", where, key, " holds a non-number ", v.dump());
    out.push_back(v.get<float>());
  }
  if (out.size() != n) fail(c.path, ": ", where, key, " has ", out.size(), " values, expected rope dims / 2 = ", n);
  return out;
}

int first_token_id(const ConfigJson& c, const char* key) {
  if (!c.has(key)) return -1;
  const json& v = c.j[key].is_array() && !c.j[key].empty() ? c.j[key][0] : c.j[key];
  return v.is_number_integer() ? int(v.get<int64_t>()) : -1;
}

}  // namespace

const std::vector<HfFamily>& hf_families() {
  // clang-format off
  static const std::vector<HfFamily> table = {
    // architectures[0]       gguf      norm+1 tied   hidden_act
    {"LlamaForCausalLM",      "llama",  false, false, "silu"},
    {"MistralForCausalLM",    "llama",  false, false, "silu"},
    {"Qwen2ForCausalLM",      "qwen2",  false, false, "silu"},
    {"Qwen3ForCausalLM",      "qwen3",  false, false, "silu"},
    {"Phi3ForCausalLM",       "phi3",   false, false, "silu"},
    {"GemmaForCausalLM",      "gemma",  true,  true,  "gelu_pytorch_tanh"},
    {"Gemma2ForCausalLM",     "gemma2", true,  true,  "gelu_pytorch_tanh"},
  };
  // clang-format on
  return table;
}

std::string hf_family_list() {
  std::string s;
  for (const HfFamily& f : hf_families()) s += cat(s.empty() ? "" : ", ", f.hf_name);
  return s;
}

HfModel read_hf_config(const std::string& dir) {
  namespace fs = std::filesystem;
  HfModel m;
  m.config_path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(m.config_path)) fail(dir, ": no config.json (is this a Hugging Face model folder?)");
  const ConfigJson c{m.config_path, read_json_file(m.config_path, " (is this a Hugging Face model folder?)")};
  if (!c.j.is_object()) fail(c.path, ": not a JSON object");
  if (!c.has("architectures") || !c.j["architectures"].is_array() || c.j["architectures"].empty() ||
      !c.j["architectures"][0].is_string())
    fail(c.path, ": missing key architectures (supported: ", hf_family_list(), ")");
  const std::string arch_name = c.j["architectures"][0].get<std::string>();
  for (const HfFamily& f : hf_families())
    if (arch_name == f.hf_name) m.family = &f;
  if (!m.family) fail(c.path, ": architecture ", arch_name, " is not supported (supported: ", hf_family_list(), ")");
  ModelConfig& mc = m.config;
  mc.arch = find_arch(m.family->gguf_arch);
  if (!mc.arch) fail("internal: the engine has no arch ", m.family->gguf_arch);
  m.permute_qk = mc.arch->rope_order == RopeOrder::Normal;
  if (c.has("_name_or_path") && c.j["_name_or_path"].is_string()) m.name = c.j["_name_or_path"].get<std::string>();
  if (m.name.empty()) m.name = fs::path(dir).lexically_normal().filename().string();
  if (m.name.empty() || m.name == ".") m.name = fs::absolute(dir).lexically_normal().parent_path().filename().string();

  mc.name = m.name;
  mc.n_layers = int(c.get_int("num_hidden_layers"));
  mc.dim = int(c.get_int("hidden_size"));
  mc.n_heads = int(c.get_int("num_attention_heads"));
  mc.n_kv_heads = int(c.get_int("num_key_value_heads", mc.n_heads));
  if (!c.has("head_dim") && mc.dim % mc.n_heads != 0)
    fail(c.path, ": hidden_size ", mc.dim, " is not a multiple of num_attention_heads ", mc.n_heads, " and head_dim is missing");
  mc.head_dim = int(c.get_int("head_dim", mc.dim / mc.n_heads));
  if (mc.n_heads % mc.n_kv_heads != 0)
    fail(c.path, ": num_attention_heads ", mc.n_heads, " is not a multiple of num_key_value_heads ", mc.n_kv_heads);
  mc.ffn_dim = int(c.get_int("intermediate_size"));
  mc.vocab_size = int(c.get_int("vocab_size"));
  mc.context_length = int(c.get_int("max_position_embeddings"));
  mc.norm_eps = float(c.get_number("rms_norm_eps"));
  if (!(mc.norm_eps > 0.f)) fail(c.path, ": rms_norm_eps must be > 0");
  mc.tied_output = c.get_bool("tie_word_embeddings", m.family->default_tied);
  mc.embed_scale = mc.arch->embed_scale_sqrt_dim ? std::sqrt(float(mc.dim)) : 1.f;

  const char* act_key = c.has("hidden_activation") ? "hidden_activation" : "hidden_act";
  if (c.has(act_key)) {
    const std::string act = c.j[act_key].is_string() ? c.j[act_key].get<std::string>() : c.j[act_key].dump();
    const bool ok = act == m.family->activation || (std::string(m.family->activation) == "gelu_pytorch_tanh" &&
                                                    (act == "gelu_new" || act == "gelu_fast"));
    if (!ok) fail(c.path, ": ", act_key, " = ", act, " is not supported for ", arch_name, " (the engine computes ",
                  m.family->activation, ")");
  }
  if (c.get_bool("attention_bias", false) && !mc.arch->qkv_bias)
    fail(c.path, ": attention_bias = true is not supported for ", arch_name);
  if (c.get_bool("mlp_bias", false)) fail(c.path, ": mlp_bias = true is not supported");

  // RoPE.
  double theta = 10000.0;
  const char* where = "";
  const json rope = rope_settings(c, theta, where);
  mc.rope_theta = float(theta);
  const double partial = c.get_number("partial_rotary_factor",
                                      rope.is_object() ? c.get_number(rope, "partial_rotary_factor", 1.0, where) : 1.0);
  mc.rope_dims = int(mc.head_dim * partial);
  if (mc.rope_dims <= 0 || mc.rope_dims % 2 != 0 || mc.rope_dims > mc.head_dim)
    fail(c.path, ": partial_rotary_factor ", partial, " gives ", mc.rope_dims, " rotary dims of ", mc.head_dim);
  const size_t n_freq = size_t(mc.rope_dims / 2);
  std::string type = "default";
  if (rope.is_object()) type = rope.value("rope_type", rope.value("type", std::string("default")));
  if (type == "su") type = "longrope";  // early Phi-3 configs
  mc.rope_orig_context = mc.context_length;
  if (type == "default") {
  } else if (type == "linear") {
    m.rope_scaling = type;
    m.rope_linear_factor = float(c.get_number(rope, "factor", 1.0, where));
    if (!(m.rope_linear_factor > 0.f)) fail(c.path, ": ", where, "factor must be > 0");
    mc.rope_freq_scale = 1.f / m.rope_linear_factor;
  } else if (type == "llama3") {
    m.rope_scaling = type;
    m.rope_freqs = llama3_rope_factors(mc.rope_dims, mc.rope_theta, float(c.get_number(rope, "factor", 8.0, where)),
                                       float(c.get_number(rope, "low_freq_factor", 1.0, where)),
                                       float(c.get_number(rope, "high_freq_factor", 4.0, where)),
                                       int(c.get_number(rope, "original_max_position_embeddings", 8192, where)));
    mc.has_rope_freqs = true;
  } else if (type == "longrope" && mc.arch->long_rope) {
    m.rope_scaling = type;
    m.rope_long = float_list(c, rope, "long_factor", where, n_freq);
    m.rope_short = float_list(c, rope, "short_factor", where, n_freq);
    mc.has_long_rope = true;
    const double orig = c.get_number("original_max_position_embeddings",
                                     c.get_number(rope, "original_max_position_embeddings", 0, where));
    if (!(orig > 0)) fail(c.path, ": missing key original_max_position_embeddings (LongRoPE needs it)");
    mc.rope_orig_context = int(orig);
    // As transformers computes it (and llama.cpp writes it): sqrt(1 + ln(s)/ln(orig)), s > 1.
    const double scale = double(mc.context_length) / orig;
    const double attn = c.get_number(rope, "attention_factor", scale <= 1 ? 1.0 : std::sqrt(1 + std::log(scale) / std::log(orig)), where);
    mc.rope_attn_factor = float(attn);
  } else {
    fail(c.path, ": ", where, "rope_type ", type, " is not supported for ", arch_name,
         " (supported: default, linear, llama3", mc.arch->long_rope ? ", longrope" : "", ")");
  }

  // Attention details the arch table switches on.
  mc.attn_scale = 1.f / std::sqrt(float(mc.head_dim));
  mc.layer_sliding.assign(mc.n_layers, false);
  if (mc.arch->has_softcaps) {
    mc.attn_softcap = float(c.get_number("attn_logit_softcapping", 50.0));
    mc.final_softcap = float(c.get_number("final_logit_softcapping", 30.0));
    // An explicit null switches a cap off (the engine's defaults when the key is absent are 50/30).
    if (c.j.contains("attn_logit_softcapping") && c.j["attn_logit_softcapping"].is_null()) mc.attn_softcap = 0;
    if (c.j.contains("final_logit_softcapping") && c.j["final_logit_softcapping"].is_null()) mc.final_softcap = 0;
    // transformers scales q.k by query_pre_attn_scalar^-0.5. GGUF readers assume 1/sqrt(head_dim)
    // (1/sqrt(dim/heads) for the 46-layer 27B), true of the released models; any other value is
    // written as {arch}.attention.scale.
    const double usual = mc.n_layers == 46 ? double(mc.dim) / mc.n_heads : mc.head_dim;
    const double qpas = c.get_number("query_pre_attn_scalar", usual);
    if (!(qpas > 0)) fail(c.path, ": query_pre_attn_scalar must be > 0");
    mc.attn_scale = float(1.0 / std::sqrt(usual));
    if (qpas != usual) {
      mc.attn_scale = float(1.0 / std::sqrt(qpas));
      m.explicit_attn_scale = true;
    }
  }
  if (mc.arch->sliding != SlidingPattern::None) {
    mc.sliding_window = int(c.get_int("sliding_window", mc.arch->default_sliding_window));
    for (int l = 0; l < mc.n_layers; l++) mc.layer_sliding[l] = l % 2 == 0;
    if (c.has("layer_types") && c.j["layer_types"].is_array()) {
      for (int l = 0; l < mc.n_layers && l < int(c.j["layer_types"].size()); l++)
        if ((c.j["layer_types"][l] == "sliding_attention") != bool(mc.layer_sliding[l]))
          fail(c.path, ": layer_types[", l, "] = ", c.j["layer_types"][l].dump(),
               " breaks the sliding/full alternation the engine implements (even layers slide)");
    }
  } else if (c.has("sliding_window") && c.get_bool("use_sliding_window", true) && mc.arch->gguf_name == std::string("llama")) {
    m.warnings.push_back(cat(c.path, ": sliding_window ", c.j["sliding_window"].dump(),
                             " is ignored as llama.cpp does (attention is global; the same within the window)"));
  }
  if (c.get_bool("use_sliding_window", false))
    fail(c.path, ": use_sliding_window = true is not supported for ", arch_name);

  m.bos_id = first_token_id(c, "bos_token_id");
  m.eos_id = first_token_id(c, "eos_token_id");
  m.pad_id = first_token_id(c, "pad_token_id");
  return m;
}

void write_model_metadata(GgufWriter& w, const HfModel& m) {
  const ModelConfig& c = m.config;
  const std::string a = c.arch->gguf_name;
  w.set_string("general.architecture", a);
  w.set_string("general.name", m.name);
  w.set_u32(a + ".context_length", uint32_t(c.context_length));
  w.set_u32(a + ".embedding_length", uint32_t(c.dim));
  w.set_u32(a + ".block_count", uint32_t(c.n_layers));
  w.set_u32(a + ".feed_forward_length", uint32_t(c.ffn_dim));
  w.set_u32(a + ".attention.head_count", uint32_t(c.n_heads));
  w.set_u32(a + ".attention.head_count_kv", uint32_t(c.n_kv_heads));
  w.set_u32(a + ".attention.key_length", uint32_t(c.head_dim));
  w.set_u32(a + ".attention.value_length", uint32_t(c.head_dim));
  w.set_f32(a + ".attention.layer_norm_rms_epsilon", c.norm_eps);
  w.set_f32(a + ".rope.freq_base", c.rope_theta);
  w.set_u32(a + ".rope.dimension_count", uint32_t(c.rope_dims));
  w.set_u32(a + ".vocab_size", uint32_t(c.vocab_size));
  if (m.rope_scaling == "linear") {
    w.set_string(a + ".rope.scaling.type", "linear");
    w.set_f32(a + ".rope.scaling.factor", m.rope_linear_factor);
  }
  if (m.rope_scaling == "longrope") {
    w.set_f32(a + ".rope.scaling.attn_factor", c.rope_attn_factor);
    w.set_u32(a + ".rope.scaling.original_context_length", uint32_t(c.rope_orig_context));
  }
  if (c.arch->has_softcaps) {
    w.set_f32(a + ".attn_logit_softcapping", c.attn_softcap);
    w.set_f32(a + ".final_logit_softcapping", c.final_softcap);
  }
  if (m.explicit_attn_scale) w.set_f32(a + ".attention.scale", c.attn_scale);
  if (c.sliding_window > 0) w.set_u32(a + ".attention.sliding_window", uint32_t(c.sliding_window));
}

}  // namespace wgllm
