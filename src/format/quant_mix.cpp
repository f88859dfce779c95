// Per-tensor type choice for a target file type; the rule is documented in quant_mix.h.
#include "format/quant_mix.h"

#include <cctype>
#include <cstdlib>

#include "util/error.h"

namespace wgllm {
namespace {

struct FileTypeRow {
  FileType ft;
  const char* name;
  TensorType base;
};
const FileTypeRow kFileTypes[] = {
    {FileType::F32, "F32", TensorType::F32},       {FileType::F16, "F16", TensorType::F16},
    {FileType::BF16, "BF16", TensorType::BF16},    {FileType::Q4_0, "Q4_0", TensorType::Q4_0},
    {FileType::Q4_1, "Q4_1", TensorType::Q4_1},    {FileType::Q5_0, "Q5_0", TensorType::Q5_0},
    {FileType::Q5_1, "Q5_1", TensorType::Q5_1},    {FileType::Q8_0, "Q8_0", TensorType::Q8_0},
    {FileType::Q4_K_M, "Q4_K_M", TensorType::Q4_K}, {FileType::Q5_K_M, "Q5_K_M", TensorType::Q5_K},
    {FileType::Q6_K, "Q6_K", TensorType::Q6_K},
};

const FileTypeRow& row(FileType ft) {
  for (const auto& r : kFileTypes) {
    if (r.ft == ft) return r;
  }
  return kFileTypes[0];
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }
bool is_float_type(TensorType t) {
  return t == TensorType::F32 || t == TensorType::F16 || t == TensorType::BF16;
}

}  // namespace

std::optional<FileType> file_type_from_name(std::string_view name) {
  for (const auto& r : kFileTypes) {
    const std::string_view n = r.name;
    if (n.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < n.size(); ++i) same &= std::toupper(static_cast<unsigned char>(name[i])) == n[i];
    if (same) return r.ft;
  }
  return std::nullopt;
}

FileType find_file_type(std::string_view name) {
  const std::optional<FileType> ft = file_type_from_name(name);
  if (!ft) fail("unknown quantization '", name, "' (one of: ", file_type_names(), ")");
  return *ft;
}

std::string_view file_type_name(FileType ft) { return row(ft).name; }

std::string file_type_names() {
  std::string s;
  for (const auto& r : kFileTypes) s += (s.empty() ? "" : ", ") + std::string(r.name);
  return s;
}

uint32_t gguf_file_type_id(FileType ft) { return uint32_t(ft); }

std::optional<FileType> file_type_from_id(uint64_t id) {
  for (const auto& r : kFileTypes) {
    if (gguf_file_type_id(r.ft) == id) return r.ft;
  }
  return std::nullopt;
}
TensorType default_tensor_type(FileType ft) { return row(ft).base; }

bool use_more_bits(int layer, int n_layers) {
  return layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer - n_layers / 8) % 3 == 2;
}

int layer_of(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  char* end = nullptr;
  const long v = std::strtol(name.c_str() + 4, &end, 10);
  return (end != name.c_str() + 4 && *end == '.' && v >= 0 && v < (1 << 20)) ? int(v) : -1;
}

TensorType choose_tensor_type(FileType ft, const std::string& name, int n_layers,
                              const std::vector<int64_t>& shape, bool has_output) {
  int real_dims = 0;
  for (int64_t d : shape) real_dims += d > 1;
  if (real_dims < 2 || !ends_with(name, "weight") || contains(name, "ffn_gate_inp.weight"))
    return TensorType::F32;
  const TensorType base = default_tensor_type(ft);
  if (is_float_type(base)) return base;

  const int64_t row = shape.empty() ? 1 : shape[0];
  TensorType t = base;
  const bool km = ft == FileType::Q4_K_M || ft == FileType::Q5_K_M;
  if (name == "output.weight" || (!has_output && name == "token_embd.weight")) {
    if (row % 256 != 0) t = TensorType::Q8_0;
    else if (t != TensorType::Q8_0) t = TensorType::Q6_K;
  } else if (km && contains(name, "attn_v.weight")) {
    if (use_more_bits(layer_of(name), n_layers)) t = TensorType::Q6_K;
  } else if (km && contains(name, "ffn_down")) {
    if (use_more_bits(layer_of(name), n_layers)) t = TensorType::Q6_K;
  } else if (km && contains(name, "attn_qkv.weight")) {
    t = ft == FileType::Q4_K_M ? TensorType::Q5_K : TensorType::Q6_K;
  }

  if (row % tensor_type_info(t).block_size != 0) {
    t = t == TensorType::Q4_K ? TensorType::Q5_0 : t == TensorType::Q5_K ? TensorType::Q5_1 : TensorType::Q8_0;
    if (row % 32 != 0) t = TensorType::F16;
  }
  return t;
}

}  // namespace wgllm
