// `wgllm inspect FILE.gguf [--json] [--full]`: the GGUF version, metadata (long arrays and strings
// abbreviated unless --full) and the tensor table (name, type, shape, bytes).
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/command.h"
#include "format/gguf.h"

namespace wgllm::cli {
namespace {

constexpr size_t kArrayHead = 8;     // items shown of a long array
constexpr size_t kStringHead = 120;  // characters shown of a long string

std::string quoted(const std::string& s, bool full) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    if (!full && i == kStringHead) return out + "\"... (" + std::to_string(s.size()) + " bytes)";
    const char c = s[i];
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '"' || c == '\\') out += std::string("\\") + c;
    else if (static_cast<unsigned char>(c) < 32) out += "\\x" + std::string(1, "0123456789abcdef"[c >> 4]) + "0123456789abcdef"[c & 15];
    else out += c;
  }
  return out + "\"";
}

std::string text_value(const GgufValue& v, bool full) {
  if (auto* u = std::get_if<uint64_t>(&v.v)) return std::to_string(*u);
  if (auto* i = std::get_if<int64_t>(&v.v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v.v)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", *d);
    return buf;
  }
  if (auto* b = std::get_if<bool>(&v.v)) return *b ? "true" : "false";
  if (auto* s = std::get_if<std::string>(&v.v)) return quoted(*s, full);
  const auto& a = std::get<GgufValue::Array>(v.v);
  std::string out = "[";
  for (size_t i = 0; i < a.items.size(); ++i) {
    if (!full && i == kArrayHead) {
      out += ", ... " + std::to_string(a.items.size() - kArrayHead) + " more";
      break;
    }
    out += (i ? ", " : "") + text_value(a.items[i], full);
  }
  return out + "]";
}

std::string type_label(const GgufValue& v) {
  if (auto* a = std::get_if<GgufValue::Array>(&v.v))
    return "array<" + std::string(gguf_value_type_name(a->type)) + ">[" + std::to_string(a->items.size()) + "]";
  return std::string(gguf_value_type_name(v.type));
}

nlohmann::json json_value(const GgufValue& v, bool full) {
  if (auto* u = std::get_if<uint64_t>(&v.v)) return *u;
  if (auto* i = std::get_if<int64_t>(&v.v)) return *i;
  if (auto* d = std::get_if<double>(&v.v)) return *d;
  if (auto* b = std::get_if<bool>(&v.v)) return *b;
  if (auto* s = std::get_if<std::string>(&v.v)) return *s;
  const auto& a = std::get<GgufValue::Array>(v.v);
  nlohmann::json items = nlohmann::json::array();
  const size_t shown = full ? a.items.size() : std::min(a.items.size(), kArrayHead);
  for (size_t i = 0; i < shown; ++i) items.push_back(json_value(a.items[i], full));
  if (shown == a.items.size()) return items;
  // Abbreviated: say so explicitly, so a machine reader never mistakes the head for the array.
  return {{"item_type", gguf_value_type_name(a.type)}, {"count", a.items.size()}, {"head", items}};
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

void print_text(const GgufFile& f, bool full) {
  std::printf("%s: GGUF v%u, %zu bytes, alignment %llu, %zu metadata keys, %zu tensors\n", f.path().c_str(),
              f.version(), f.file_size(), (unsigned long long)f.alignment(), f.metadata().size(),
              f.tensors().size());
  std::printf("\nmetadata:\n");
  size_t width = 0;
  for (const auto& k : f.keys_in_file_order()) width = std::max(width, k.size());
  for (const auto& k : f.keys_in_file_order()) {
    const GgufValue& v = *f.find(k);
    std::printf("  %-*s %-22s %s\n", int(width), k.c_str(), type_label(v).c_str(), text_value(v, full).c_str());
  }
  std::printf("\ntensors:\n");
  width = 4;
  for (const auto& t : f.tensors()) width = std::max(width, t.name.size());
  std::printf("  %-*s %-5s %-24s %14s\n", int(width), "name", "type", "shape", "bytes");
  std::map<TensorType, std::pair<int, uint64_t>> per_type;
  uint64_t total = 0;
  for (const auto& t : f.tensors()) {
    std::printf("  %-*s %-5s %-24s %14llu\n", int(width), t.name.c_str(), std::string(tensor_type_name(t.type)).c_str(),
                shape_text(t.shape).c_str(), (unsigned long long)t.size);
    per_type[t.type].first++, per_type[t.type].second += t.size;
    total += t.size;
  }
  std::printf("\ntotal: %llu bytes of tensor data", (unsigned long long)total);
  for (const auto& [type, c] : per_type)
    std::printf("; %s: %d tensors, %llu bytes", std::string(tensor_type_name(type)).c_str(), c.first,
                (unsigned long long)c.second);
  std::printf("\n");
}

void print_json(const GgufFile& f, bool full) {
  nlohmann::json j;
  j["path"] = f.path();
  j["version"] = f.version();
  j["file_size"] = f.file_size();
  j["alignment"] = f.alignment();
  j["data_offset"] = f.data_offset();
  nlohmann::json meta = nlohmann::json::object();
  nlohmann::json meta_types = nlohmann::json::object();
  for (const auto& k : f.keys_in_file_order()) {
    meta[k] = json_value(*f.find(k), full);
    meta_types[k] = type_label(*f.find(k));
  }
  j["metadata"] = meta;
  j["metadata_types"] = meta_types;
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& t : f.tensors())
    tensors.push_back({{"name", t.name}, {"type", tensor_type_name(t.type)}, {"shape", t.shape},
                       {"offset", t.offset}, {"bytes", t.size}});
  j["tensors"] = tensors;
  std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

struct InspectArgs {
  std::string path;
  bool json = false, full = false;
};

Command inspect_command("inspect", "Show a GGUF file's version, metadata and tensor table", [](CLI::App& sub) {
  auto args = std::make_shared<InspectArgs>();
  sub.add_option("file", args->path, "GGUF file")->required();
  sub.add_flag("--json", args->json, "Print JSON for machines");
  sub.add_flag("--full", args->full, "Do not abbreviate long arrays and strings");
  sub.callback([args] {
    const auto f = GgufFile::open(args->path);
    if (args->json) print_json(*f, args->full);
    else print_text(*f, args->full);
  });
});

}  // namespace
}  // namespace wgllm::cli
