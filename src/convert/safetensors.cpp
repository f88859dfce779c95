#include "convert/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "util/error.h"
#include "util/json_file.h"

namespace wgllm {

namespace {

using nlohmann::json;

struct DtypeName {
  const char* name;
  TensorType type;
};
constexpr DtypeName kDtypes[] = {{"F32", TensorType::F32}, {"F16", TensorType::F16}, {"BF16", TensorType::BF16}};

uint64_t element_bytes(TensorType t) { return t == TensorType::F32 ? 4 : 2; }

}  // namespace

int64_t SafeTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); i++) s += cat(i ? ", " : "", shape[i]);
  return s + "]";
}

SafetensorsFile::SafetensorsFile(const std::string& path) : map_(std::make_unique<MappedFile>(path)) {
  const uint64_t size = map_->size();
  if (size < 8) fail(path, ": ", size, " bytes is too small for a safetensors file (8-byte header length missing)");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; i--) header_len = (header_len << 8) | map_->data()[i];
  if (header_len > kMaxHeaderBytes)
    fail(path, ": safetensors header length ", header_len, " is absurd (limit ", kMaxHeaderBytes, " bytes)");
  if (header_len > size - 8)
    fail(path, ": safetensors header length ", header_len, " runs past the end of the file (", size,
         " bytes): the file is truncated or not safetensors");
  json header;
  try {
    header = json::parse(map_->data() + 8, map_->data() + 8 + header_len);
  } catch (const json::exception& e) {
    fail(path, ": safetensors header is not valid JSON: ", e.what());
  }
  if (!header.is_object()) fail(path, ": safetensors header is not a JSON object");

  const uint8_t* data = map_->data() + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    auto bad = [&](const std::string& why) { fail(path, ": tensor ", name, ": ", why); };
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
      bad("entry needs dtype, shape and data_offsets");
    SafeTensor t;
    t.name = name;
    t.file = path;
    const std::string dtype = entry["dtype"].is_string() ? entry["dtype"].get<std::string>() : entry["dtype"].dump();
    const DtypeName* d = std::find_if(std::begin(kDtypes), std::end(kDtypes),
                                      [&](const DtypeName& x) { return dtype == x.name; });
    if (d == std::end(kDtypes)) bad(cat("dtype ", dtype, " is not supported (F32, F16, BF16)"));
    t.type = d->type;
    if (!entry["shape"].is_array() || entry["shape"].size() > 8) bad("shape must be an array of up to 8 sizes");
    uint64_t n = 1;
    for (const json& dim : entry["shape"]) {
      if (!dim.is_number_unsigned() || dim.get<uint64_t>() > (uint64_t(1) << 40)) bad(cat("shape ", entry["shape"].dump(), " is invalid"));
      t.shape.push_back(dim.get<int64_t>());
      n *= dim.get<uint64_t>();
      if (n > (uint64_t(1) << 40)) bad(cat("shape ", entry["shape"].dump(), " is too large"));
    }
    const json& off = entry["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      bad(cat("data_offsets ", off.dump(), " must be [begin, end]"));
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end) bad(cat("data_offsets [", begin, ", ", end, "] are reversed"));
    if (end > data_size)
      bad(cat("data [", begin, ", ", end, ") runs past the end of the data section (", data_size,
              " bytes): the file is truncated"));
    if (end - begin != n * element_bytes(t.type))
      bad(cat("data_offsets [", begin, ", ", end, ") hold ", end - begin, " bytes but ", dtype, " ",
              shape_string(t.shape), " needs ", n * element_bytes(t.type)));
    t.data = data + begin;
    t.size = end - begin;
    tensors_.push_back(std::move(t));
  }
  // No two tensors may share bytes (a writer bug, or a crafted file aliasing weights).
  std::vector<const SafeTensor*> by_offset;
  for (const SafeTensor& t : tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->data < b->data; });
  for (size_t i = 1; i < by_offset.size(); i++) {
    const SafeTensor *a = by_offset[i - 1], *b = by_offset[i];
    if (a->size && b->size && b->data < a->data + a->size)
      fail(path, ": tensors ", a->name, " and ", b->name, " overlap in the data section");
  }
}

void Checkpoint::add(const std::string& path) {
  open_.push_back(std::make_unique<SafetensorsFile>(path));
  files_.push_back(path);
  for (const SafeTensor& t : open_.back()->tensors()) {
    auto [it, inserted] = tensors_.emplace(t.name, t);
    if (!inserted) fail("tensor ", t.name, " is in both ", it->second.file, " and ", path);
  }
}

Checkpoint Checkpoint::open_files(const std::vector<std::string>& paths) {
  Checkpoint c;
  for (const std::string& p : paths) c.add(p);
  return c;
}

Checkpoint Checkpoint::open_folder(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string index_path = (fs::path(dir) / "model.safetensors.index.json").string();
  const std::string single = (fs::path(dir) / "model.safetensors").string();
  if (!fs::exists(index_path)) {
    if (fs::exists(single)) return open_files({single});
    if (fs::exists(fs::path(dir) / "pytorch_model.bin") || fs::exists(fs::path(dir) / "pytorch_model.bin.index.json"))
      fail(dir, ": has only a PyTorch .bin checkpoint; re-save it with save_pretrained(safe_serialization=True)");
    fail(dir, ": no model.safetensors or model.safetensors.index.json");
  }
  json index = read_json_file(index_path);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    fail(index_path, ": missing weight_map");
  std::set<std::string> shards;
  for (const auto& [name, file] : index["weight_map"].items()) {
    if (!file.is_string()) fail(index_path, ": weight_map entry ", name, " is not a file name");
    const std::string f = file.get<std::string>();
    if (f.empty() || f.find('/') != std::string::npos || f == "..")
      fail(index_path, ": weight_map entry ", name, " names '", f, "', not a file in the folder");
    shards.insert(f);
  }
  std::vector<std::string> paths;
  for (const std::string& s : shards) paths.push_back((fs::path(dir) / s).string());
  Checkpoint c = open_files(paths);
  for (const auto& [name, file] : index["weight_map"].items()) {
    const SafeTensor* t = c.find(name);
    const std::string want = (fs::path(dir) / file.get<std::string>()).string();
    if (!t) fail(index_path, ": weight_map names tensor ", name, " in ", file.get<std::string>(), " but it is not there");
    if (t->file != want) fail(index_path, ": weight_map puts tensor ", name, " in ", want, " but it is in ", t->file);
  }
  for (const auto& [name, t] : c.tensors())
    if (!index["weight_map"].contains(name)) fail(t.file, ": tensor ", name, " is not in ", index_path, "'s weight_map");
  return c;
}

const SafeTensor* Checkpoint::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

}  // namespace wgllm
