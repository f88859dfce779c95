// Report <-> JSON, and the schema validator.
#include "bench/report.h"

#include <fstream>

#include "util/error.h"

namespace wgllm::bench {

extern const char* const kReportSchemaText;  // schema.json, compiled in (see CMakeLists.txt)

namespace {

using nlohmann::json;

json spread_json(const Spread& s) { return {{"min", s.min}, {"median", s.median}, {"max", s.max}}; }
json spread_json(const std::optional<Spread>& s) { return s ? spread_json(*s) : json(nullptr); }

// Typed access that names the key at fault.
const json& at(const json& j, const std::string& key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) fail(where, ": missing key '", key, "'");
  return j.at(key);
}
template <typename T>
T get(const json& j, const std::string& key, const std::string& where) {
  const json& v = at(j, key, where);
  try {
    return v.get<T>();
  } catch (const json::exception&) {
    fail(where, ": key '", key, "' has the wrong type (", v.type_name(), ")");
  }
}
Spread get_spread(const json& j, const std::string& key, const std::string& where) {
  const json& v = at(j, key, where);
  const std::string w = where + "." + key;
  return {get<double>(v, "min", w), get<double>(v, "median", w), get<double>(v, "max", w)};
}
std::optional<Spread> get_optional_spread(const json& j, const std::string& key, const std::string& where) {
  if (at(j, key, where).is_null()) return std::nullopt;
  return get_spread(j, key, where);
}

}  // namespace

std::string adapter_name(const Report& r, const BenchRow& row) {
  if (row.adapter < 0 || row.adapter >= int(r.adapters.size())) return "cpu reference";
  return r.adapters[size_t(row.adapter)].device;
}

json to_json(const Report& r) {
  json adapters = json::array();
  for (size_t i = 0; i < r.adapters.size(); ++i) {
    const AdapterRecord& a = r.adapters[i];
    adapters.push_back({{"index", i},
                        {"vendor", a.vendor},
                        {"architecture", a.architecture},
                        {"device", a.device},
                        {"driver", a.driver},
                        {"backend", a.backend},
                        {"type", a.type},
                        {"library", a.library},
                        {"features_used",
                         {{"shader_f16", a.shader_f16},
                          {"subgroups", a.subgroups},
                          {"subgroup_matrix", a.subgroup_matrix},
                          {"timestamp_query", a.timestamp_query},
                          {"validation_off", a.validation_off},
                          {"subgroup_min_size", a.subgroup_min_size},
                          {"subgroup_max_size", a.subgroup_max_size},
                          {"dawn_toggles", a.dawn_toggles},
                          {"prefill_gemm", a.prefill_gemm}}},
                        {"bandwidth",
                         {{"copy_gbs", a.copy_gbs},
                          {"read_gbs", a.read_gbs},
                          {"used_gbs", a.used_gbs()},
                          {"buffer_bytes", a.bandwidth_buffer_bytes}}}});
  }
  json rows = json::array();
  for (const BenchRow& w : r.rows) {
    rows.push_back({{"model", w.model},
                    {"preset", w.preset.empty() ? json(nullptr) : json(w.preset)},
                    {"model_file", w.model_file},
                    {"file_bytes", w.file_bytes},
                    {"arch", w.arch},
                    {"quant", w.quant},
                    {"adapter", w.adapter < 0 ? json(nullptr) : json(w.adapter)},
                    {"adapter_name", adapter_name(r, w)},
                    {"backend", w.backend},
                    {"prompt_tokens", w.prompt_tokens},
                    {"gen_tokens", w.gen_tokens},
                    {"repetitions", w.repetitions},
                    {"weight_bytes", w.weight_bytes},
                    {"kv_bytes_per_token", w.kv_bytes_per_token},
                    {"decode_read_bytes", w.decode_read_bytes},
                    {"ttft_ms", spread_json(w.ttft_ms)},
                    {"prefill_tok_s", spread_json(w.prefill_tok_s)},
                    {"decode_tok_s", spread_json(w.decode_tok_s)},
                    {"p50_ms", spread_json(w.p50_ms)},
                    {"p90_ms", spread_json(w.p90_ms)},
                    {"peak_gpu_bytes", spread_json(w.peak_gpu_bytes)},
                    {"adapter_memory_bytes", nullptr},  // WebGPU exposes no device memory figure
                    {"load_s", w.load_s},
                    {"load_gbs", w.load_gbs},
                    {"load_wall_s", w.load_wall_s},
                    {"roofline_share", spread_json(w.roofline_share)},
                    {"token_latencies_ms", w.token_latencies_ms}});
  }
  return {{"schema", r.schema},
          {"engine", {{"name", "wgllm"}, {"version", r.engine_version}, {"git_sha", r.git_sha}}},
          {"created", r.created},
          {"host",
           {{"os", r.os_name},
            {"release", r.os_release},
            {"version", r.os_version},
            {"machine", r.machine},
            {"browser", r.browser.empty() ? json(nullptr) : json(r.browser)}}},
          {"settings",
           {{"prompt_lengths", r.prompt_lengths},
            {"gen_tokens", r.gen_tokens},
            {"repetitions", r.repetitions},
            {"warmup_runs", r.warmup_runs},
            {"seed", r.seed},
            {"backend", r.backend},
            {"defaults", r.defaults},
            {"prompt", "random token ids in [1, vocab) from the seed (no tokenizer: TTFT excludes tokenization)"},
            {"decoding", "greedy on random weights; stop tokens ignored, every run generates exactly gen_tokens"},
            {"notes", r.notes}}},
          {"adapters", adapters},
          {"rows", rows}};
}

Report report_from_json(const json& j, const std::string& what) {
  const std::string schema = get<std::string>(j, "schema", what);
  if (schema != kSchemaId) fail(what, ": schema is '", schema, "', this engine reads '", kSchemaId, "'");
  Report r;
  const json& engine = at(j, "engine", what);
  r.engine_version = get<std::string>(engine, "version", what + ".engine");
  r.git_sha = get<std::string>(engine, "git_sha", what + ".engine");
  r.created = get<std::string>(j, "created", what);
  const json& host = at(j, "host", what);
  r.os_name = get<std::string>(host, "os", what + ".host");
  r.os_release = get<std::string>(host, "release", what + ".host");
  r.os_version = get<std::string>(host, "version", what + ".host");
  r.machine = get<std::string>(host, "machine", what + ".host");
  if (!at(host, "browser", what).is_null()) r.browser = get<std::string>(host, "browser", what + ".host");
  const json& s = at(j, "settings", what);
  const std::string sw = what + ".settings";
  r.prompt_lengths = get<std::vector<int>>(s, "prompt_lengths", sw);
  r.gen_tokens = get<int>(s, "gen_tokens", sw);
  r.repetitions = get<int>(s, "repetitions", sw);
  r.warmup_runs = get<int>(s, "warmup_runs", sw);
  r.seed = get<uint64_t>(s, "seed", sw);
  r.backend = get<std::string>(s, "backend", sw);
  r.defaults = get<std::string>(s, "defaults", sw);
  r.notes = get<std::vector<std::string>>(s, "notes", sw);
  const json& adapters = at(j, "adapters", what);
  for (size_t i = 0; i < adapters.size(); ++i) {
    const json& a = adapters[i];
    const std::string w = cat(what, ".adapters[", i, "]");
    AdapterRecord x;
    x.vendor = get<std::string>(a, "vendor", w);
    x.architecture = get<std::string>(a, "architecture", w);
    x.device = get<std::string>(a, "device", w);
    x.driver = get<std::string>(a, "driver", w);
    x.backend = get<std::string>(a, "backend", w);
    x.type = get<std::string>(a, "type", w);
    x.library = get<std::string>(a, "library", w);
    const json& f = at(a, "features_used", w);
    x.shader_f16 = get<bool>(f, "shader_f16", w);
    x.subgroups = get<bool>(f, "subgroups", w);
    x.subgroup_matrix = get<bool>(f, "subgroup_matrix", w);
    x.timestamp_query = get<bool>(f, "timestamp_query", w);
    x.validation_off = get<bool>(f, "validation_off", w);
    x.subgroup_min_size = get<uint32_t>(f, "subgroup_min_size", w);
    x.subgroup_max_size = get<uint32_t>(f, "subgroup_max_size", w);
    // Reports before these two fields (2026-12-07) lack them.
    if (f.contains("dawn_toggles")) x.dawn_toggles = get<std::vector<std::string>>(f, "dawn_toggles", w);
    if (f.contains("prefill_gemm")) x.prefill_gemm = get<std::string>(f, "prefill_gemm", w);
    const json& b = at(a, "bandwidth", w);
    x.copy_gbs = get<double>(b, "copy_gbs", w);
    x.read_gbs = get<double>(b, "read_gbs", w);
    x.bandwidth_buffer_bytes = get<uint64_t>(b, "buffer_bytes", w);
    r.adapters.push_back(x);
  }
  const json& rows = at(j, "rows", what);
  for (size_t i = 0; i < rows.size(); ++i) {
    const json& o = rows[i];
    const std::string w = cat(what, ".rows[", i, "]");
    BenchRow x;
    x.model = get<std::string>(o, "model", w);
    if (!at(o, "preset", w).is_null()) x.preset = get<std::string>(o, "preset", w);
    x.model_file = get<std::string>(o, "model_file", w);
    x.file_bytes = get<uint64_t>(o, "file_bytes", w);
    x.arch = get<std::string>(o, "arch", w);
    x.quant = get<std::string>(o, "quant", w);
    x.adapter = at(o, "adapter", w).is_null() ? -1 : get<int>(o, "adapter", w);
    x.backend = get<std::string>(o, "backend", w);
    x.prompt_tokens = get<int>(o, "prompt_tokens", w);
    x.gen_tokens = get<int>(o, "gen_tokens", w);
    x.repetitions = get<int>(o, "repetitions", w);
    x.weight_bytes = get<uint64_t>(o, "weight_bytes", w);
    x.kv_bytes_per_token = get<uint64_t>(o, "kv_bytes_per_token", w);
    x.decode_read_bytes = get<double>(o, "decode_read_bytes", w);
    x.ttft_ms = get_spread(o, "ttft_ms", w);
    x.prefill_tok_s = get_spread(o, "prefill_tok_s", w);
    x.decode_tok_s = get_spread(o, "decode_tok_s", w);
    x.p50_ms = get_spread(o, "p50_ms", w);
    x.p90_ms = get_spread(o, "p90_ms", w);
    x.peak_gpu_bytes = get_optional_spread(o, "peak_gpu_bytes", w);
    x.roofline_share = get_optional_spread(o, "roofline_share", w);
    x.load_s = get<double>(o, "load_s", w);
    x.load_gbs = get<double>(o, "load_gbs", w);
    x.load_wall_s = get<double>(o, "load_wall_s", w);
    x.token_latencies_ms = get<std::vector<std::vector<double>>>(o, "token_latencies_ms", w);
    if (x.adapter >= int(r.adapters.size())) fail(w, ": adapter ", x.adapter, " is not in adapters");
    r.rows.push_back(std::move(x));
  }
  return r;
}

Report read_report(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("cannot open benchmark report ", path);
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    fail(path, ": not valid JSON: ", e.what());
  }
  const std::vector<std::string> errors = validate_json(j, report_schema());
  if (!errors.empty()) fail(path, ": does not match schema ", kSchemaId, ": ", errors.front());
  return report_from_json(j, path);
}

const json& report_schema() {
  static const json schema = json::parse(kReportSchemaText);
  return schema;
}

namespace {

bool has_type(const json& v, const std::string& t) {
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "string") return v.is_string();
  if (t == "boolean") return v.is_boolean();
  if (t == "null") return v.is_null();
  if (t == "number") return v.is_number();
  if (t == "integer") return v.is_number_integer() || (v.is_number_float() && v.get<double>() == double(int64_t(v.get<double>())));
  fail("schema: unsupported type '", t, "'");
}

void validate(const json& v, const json& s, const json& root, const std::string& path, std::vector<std::string>& out) {
  if (s.contains("$ref")) {
    const std::string ref = s["$ref"].get<std::string>();
    const std::string prefix = "#/$defs/";
    if (ref.rfind(prefix, 0) != 0 || !root["$defs"].contains(ref.substr(prefix.size())))
      fail("schema: unsupported $ref '", ref, "'");
    validate(v, root["$defs"][ref.substr(prefix.size())], root, path, out);
    return;
  }
  if (s.contains("type")) {
    const json& t = s["type"];
    bool ok = false;
    std::string names;
    for (const json& one : t.is_array() ? t : json::array({t})) {
      ok = ok || has_type(v, one.get<std::string>());
      names += (names.empty() ? "" : " or ") + one.get<std::string>();
    }
    if (!ok) {
      out.push_back(cat(path, ": expected ", names, ", found ", v.type_name()));
      return;
    }
  }
  if (s.contains("const") && v != s["const"]) out.push_back(cat(path, ": must be ", s["const"].dump()));
  if (s.contains("enum")) {
    bool found = false;
    for (const json& e : s["enum"]) found = found || v == e;
    if (!found) out.push_back(cat(path, ": ", v.dump(), " is not one of ", s["enum"].dump()));
  }
  if (s.contains("minimum") && v.is_number() && v.get<double>() < s["minimum"].get<double>())
    out.push_back(cat(path, ": ", v.dump(), " is below the minimum ", s["minimum"].dump()));
  if (v.is_object()) {
    for (const json& key : s.value("required", json::array()))
      if (!v.contains(key.get<std::string>())) out.push_back(cat(path, ": missing required key '", key.get<std::string>(), "'"));
    const json props = s.value("properties", json::object());
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (props.contains(it.key())) {
        validate(it.value(), props[it.key()], root, path + "." + it.key(), out);
      } else if (s.contains("additionalProperties") && s["additionalProperties"] == false) {
        out.push_back(cat(path, ": unexpected key '", it.key(), "'"));
      }
    }
  }
  if (v.is_array()) {
    if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>())
      out.push_back(cat(path, ": has ", v.size(), " items, fewer than ", s["minItems"].get<size_t>()));
    if (s.contains("items"))
      for (size_t i = 0; i < v.size(); ++i) validate(v[i], s["items"], root, cat(path, "[", i, "]"), out);
  }
}

}  // namespace

std::vector<std::string> validate_json(const json& value, const json& schema) {
  std::vector<std::string> out;
  validate(value, schema, schema, "$", out);
  return out;
}

}  // namespace wgllm::bench
