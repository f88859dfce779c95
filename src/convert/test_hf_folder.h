// Test-only: writes Hugging Face model folders — a small safetensors writer and tiny random
// models of each family with transformers' tensor names and config keys.
#pragma once
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "util/fp16.h"
#include "util/rng.h"

namespace wgllm::test {

struct HfTensor {
  std::string name;
  std::vector<int64_t> shape;  // PyTorch order (rows, cols)
  std::vector<float> values;
};

// dtype: "F32", "F16" or "BF16" for every tensor. Header padded with spaces to 8 bytes as the
// reference writer does.
inline void write_safetensors(const std::string& path, const std::vector<HfTensor>& tensors,
                              const std::string& dtype = "F32") {
  const size_t esize = dtype == "F32" ? 4 : 2;
  nlohmann::json header = {{"__metadata__", {{"format", "pt"}}}};
  std::string data;
  for (const HfTensor& t : tensors) {
    const size_t begin = data.size();
    for (float v : t.values) {
      if (dtype == "F32") {
        data.append(reinterpret_cast<const char*>(&v), 4);
      } else {
        const uint16_t h = dtype == "F16" ? f32_to_f16(v) : f32_to_bf16(v);
        data.append(reinterpret_cast<const char*>(&h), 2);
      }
    }
    header[t.name] = {{"dtype", dtype}, {"shape", t.shape}, {"data_offsets", {begin, begin + t.values.size() * esize}}};
  }
  std::string h = header.dump();
  while (h.size() % 8) h += ' ';
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = h.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << h << data;
}

inline void write_json(const std::string& path, const nlohmann::json& j) { std::ofstream(path) << j.dump(2); }

// A tiny model: config.json values and tensors for one family (architectures[0] = hf_arch).
struct TinyModel {
  nlohmann::json config;
  std::vector<HfTensor> tensors;
};

inline TinyModel tiny_model(const std::string& hf_arch, int vocab, uint64_t seed = 7) {
  const bool gemma = hf_arch.rfind("Gemma", 0) == 0, gemma2 = hf_arch == "Gemma2ForCausalLM";
  const bool phi3 = hf_arch == "Phi3ForCausalLM", qwen2 = hf_arch == "Qwen2ForCausalLM",
             qwen3 = hf_arch == "Qwen3ForCausalLM";
  const int dim = 32, heads = 4, kv_heads = 2, head_dim = qwen3 || gemma ? 16 : 8, ffn = 48, layers = 2;
  TinyModel m;
  m.config = {{"architectures", {hf_arch}}, {"hidden_size", dim}, {"num_attention_heads", heads},
              {"num_key_value_heads", kv_heads}, {"intermediate_size", ffn}, {"num_hidden_layers", layers},
              {"vocab_size", vocab}, {"max_position_embeddings", 256}, {"rms_norm_eps", 1e-6},
              {"rope_theta", 10000.0}, {"tie_word_embeddings", gemma},
              {"hidden_act", gemma ? "gelu_pytorch_tanh" : "silu"}};
  if (qwen3 || gemma) m.config["head_dim"] = head_dim;
  if (gemma2) {
    m.config["query_pre_attn_scalar"] = head_dim;
    m.config["sliding_window"] = 4;
    m.config["attn_logit_softcapping"] = 50.0;
    m.config["final_logit_softcapping"] = 30.0;
  }
  Rng rng(seed);
  auto tensor = [&](const std::string& name, std::vector<int64_t> shape, float scale, float center = 0.f) {
    HfTensor t{name, shape, {}};
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    for (int64_t i = 0; i < n; i++) t.values.push_back(center + scale * float(2 * rng.uniform() - 1));
    m.tensors.push_back(std::move(t));
  };
  const int q = heads * head_dim, kv = kv_heads * head_dim;
  const float norm_center = gemma ? 0.f : 1.f;  // Gemma stores w for (1 + w)
  tensor("model.embed_tokens.weight", {vocab, dim}, 0.5f);
  for (int l = 0; l < layers; l++) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    tensor(p + "input_layernorm.weight", {dim}, 0.1f, norm_center);
    if (phi3) {
      tensor(p + "self_attn.qkv_proj.weight", {q + 2 * kv, dim}, 0.3f);
    } else {
      tensor(p + "self_attn.q_proj.weight", {q, dim}, 0.3f);
      tensor(p + "self_attn.k_proj.weight", {kv, dim}, 0.3f);
      tensor(p + "self_attn.v_proj.weight", {kv, dim}, 0.3f);
    }
    if (qwen2) {
      tensor(p + "self_attn.q_proj.bias", {q}, 0.1f);
      tensor(p + "self_attn.k_proj.bias", {kv}, 0.1f);
      tensor(p + "self_attn.v_proj.bias", {kv}, 0.1f);
    }
    if (qwen3) {
      tensor(p + "self_attn.q_norm.weight", {head_dim}, 0.1f, 1.f);
      tensor(p + "self_attn.k_norm.weight", {head_dim}, 0.1f, 1.f);
    }
    tensor(p + "self_attn.o_proj.weight", {dim, q}, 0.3f);
    tensor(p + "post_attention_layernorm.weight", {dim}, 0.1f, norm_center);
    if (gemma2) {
      tensor(p + "pre_feedforward_layernorm.weight", {dim}, 0.1f, norm_center);
      tensor(p + "post_feedforward_layernorm.weight", {dim}, 0.1f, norm_center);
    }
    if (phi3) {
      tensor(p + "mlp.gate_up_proj.weight", {2 * ffn, dim}, 0.3f);
    } else {
      tensor(p + "mlp.gate_proj.weight", {ffn, dim}, 0.3f);
      tensor(p + "mlp.up_proj.weight", {ffn, dim}, 0.3f);
    }
    tensor(p + "mlp.down_proj.weight", {dim, ffn}, 0.3f);
  }
  tensor("model.norm.weight", {dim}, 0.1f, norm_center);
  if (!gemma) tensor("lm_head.weight", {vocab, dim}, 0.3f);
  return m;
}

// Writes config.json and model.safetensors of `m` into dir (created), plus any tokenizer files
// copied from `tokenizer_files`.
inline void write_hf_folder(const std::string& dir, const TinyModel& m, const std::vector<std::string>& tokenizer_files,
                            const std::string& dtype = "F32") {
  std::filesystem::create_directories(dir);
  write_json(dir + "/config.json", m.config);
  write_safetensors(dir + "/model.safetensors", m.tensors, dtype);
  for (const std::string& f : tokenizer_files)
    std::filesystem::copy_file(f, dir + "/" + std::filesystem::path(f).filename().string(),
                               std::filesystem::copy_options::overwrite_existing);
}

}  // namespace wgllm::test
