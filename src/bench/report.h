// The benchmark report: what one `wgllm bench` run measured, with everything needed to reproduce
// and compare it. Serialized as JSON under the versioned schema "wgllm-bench/1" (schema.json in
// this folder); Markdown, HTML and the terminal table are views of the same struct.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/stats.h"

namespace wgllm::bench {

inline constexpr const char* kSchemaId = "wgllm-bench/1";

struct AdapterRecord {
  std::string vendor, architecture, device, description, backend, type, library;
  std::string driver;  // the adapter's description string (Dawn puts the driver version there)
  // Features the engine used on this adapter (what it asked the device for and kernels picked).
  bool shader_f16 = false, subgroups = false, subgroup_matrix = false, timestamp_query = false;
  bool validation_off = false;  // Dawn ran with skip_validation + disable_robustness (benchmark mode)
  uint32_t subgroup_min_size = 0, subgroup_max_size = 0;
  std::vector<std::string> dawn_toggles;  // the toggles Dawn ran with (adapter and device)
  std::string prefill_gemm;               // the GEMM steps of several tokens ran on, e.g. "f16 subgroup matrices"
  // Measured in the same run (gpu::measure_bandwidth); roofline shares use the larger figure.
  double copy_gbs = 0, read_gbs = 0;
  uint64_t bandwidth_buffer_bytes = 0;
  double used_gbs() const { return copy_gbs > read_gbs ? copy_gbs : read_gbs; }
};

// One case of the matrix: a model on an adapter and backend at one prompt/generation length.
struct BenchRow {
  std::string model;        // preset name, else the file's stem
  std::string preset;       // "" for a user's file
  std::string model_file;   // path of the GGUF file
  std::string arch, quant;  // general.architecture; quantization (preset quant or file type)
  uint64_t file_bytes = 0;
  int adapter = -1;         // index into Report::adapters; -1 for the CPU reference backend
  std::string backend;      // "webgpu" | "cpu"
  int prompt_tokens = 0, gen_tokens = 0, repetitions = 0;

  // Bytes one decode step must read: weights once + the KV cache in use at the average position.
  uint64_t weight_bytes = 0;
  uint64_t kv_bytes_per_token = 0;  // all layers, K and V
  double decode_read_bytes = 0;

  Spread ttft_ms, prefill_tok_s, decode_tok_s, p50_ms, p90_ms;
  std::optional<Spread> peak_gpu_bytes;   // engine's own counter (webgpu only)
  std::optional<Spread> roofline_share;   // 0..1 of the adapter's measured bandwidth (webgpu only)
  double load_s = 0, load_gbs = 0;        // file -> ready on the device (engine's own figure)
  double load_wall_s = 0;                 // whole backend construction, device creation included
  std::vector<std::vector<double>> token_latencies_ms;  // per repetition, per decode step
};

struct Report {
  std::string schema = kSchemaId;
  std::string engine_version, git_sha, created;  // created: ISO-8601 UTC
  std::string os_name, os_release, os_version, machine;  // uname
  std::string browser;  // "" natively
  // Settings of the run.
  std::vector<int> prompt_lengths;
  int gen_tokens = 0, repetitions = 0, warmup_runs = 1;
  uint64_t seed = 0;
  std::string backend, defaults;  // defaults: "explicit" | "gpu" | "cpu-adapter"
  std::vector<std::string> notes;  // what the reader must know (CPU-adapter shrinkage, ...)
  std::vector<AdapterRecord> adapters;
  std::vector<BenchRow> rows;
};

nlohmann::json to_json(const Report& r);
// Reads a report back (for --compare); an Error names the key at fault.
Report report_from_json(const nlohmann::json& j, const std::string& what);
Report read_report(const std::string& path);

// The schema (schema.json, compiled in) and a validator for the subset of JSON Schema it uses:
// type (string or list), const, enum, required, properties, additionalProperties (false),
// items, minItems, minimum. Returns one message per violation ("$.rows[0].ttft_ms: ...").
const nlohmann::json& report_schema();
std::vector<std::string> validate_json(const nlohmann::json& value, const nlohmann::json& schema);

// The adapter's name for a row ("cpu reference" for the CPU backend).
std::string adapter_name(const Report& r, const BenchRow& row);

}  // namespace wgllm::bench
