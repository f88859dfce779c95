// The live benchmark runs. The WebGPU parts need wgllm_runtime (WGLLM_HAVE_RUNTIME); the CPU
// reference backend works without it.
#include "bench/runner.h"

#include <sys/utsname.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <tuple>

#include "bench/measure.h"
#include "bench/writers.h"
#include "format/gguf.h"
#include "format/quant_mix.h"
#include "gpu/bandwidth.h"
#include "model/presets.h"
#include "util/error.h"

#if WGLLM_HAVE_RUNTIME
#include "kernels/kernel_context.h"
#include "runtime/webgpu_backend.h"
#endif

namespace wgllm::bench {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

AdapterRecord describe_adapter(gpu::Context& ctx, bool measure) {
  const gpu::AdapterDescription& d = ctx.adapter();
  const gpu::DeviceFeatures& f = ctx.features();
  AdapterRecord a;
  a.vendor = d.vendor, a.architecture = d.architecture, a.device = d.device, a.driver = d.description;
  a.backend = d.backend, a.type = d.adapter_type, a.library = d.library;
  a.shader_f16 = f.shader_f16, a.subgroups = f.subgroups, a.subgroup_matrix = f.subgroup_matrix;
  a.timestamp_query = f.timestamp_query;
  a.validation_off = ctx.options().benchmark_mode;
  a.subgroup_min_size = f.subgroup_min_size, a.subgroup_max_size = f.subgroup_max_size;
  a.dawn_toggles = ctx.options().dawn_toggles;
#if WGLLM_HAVE_RUNTIME
  a.prefill_gemm = kernels::KernelContext(ctx, 1).prefill_gemm();
#endif
  if (measure) {
    const gpu::BandwidthResult bw = gpu::measure_bandwidth(ctx);
    a.copy_gbs = bw.copy_gbs, a.read_gbs = bw.read_gbs, a.bandwidth_buffer_bytes = bw.buffer_bytes;
  }
  return a;
}

// The adapters to run on: (the --adapter spec that picks it, its record with bandwidth).
std::vector<std::pair<std::string, AdapterRecord>> probe_adapters(const BenchOptions& o) {
  std::vector<std::string> specs = o.adapters;
  if (specs.empty()) specs.push_back(o.gpu.adapter);
  const bool all = std::find(specs.begin(), specs.end(), "all") != specs.end();
  if (all) specs = {"discrete", "integrated", "cpu"};
  std::vector<std::pair<std::string, AdapterRecord>> out;
  for (const std::string& spec : specs) {
    gpu::ContextOptions go = o.gpu;
    go.adapter = spec;
    go.profile = false;
    std::unique_ptr<gpu::Context> ctx;
    try {
      ctx = gpu::Context::create(go);
    } catch (const Error&) {
      if (all) continue;  // "all": kinds not present are skipped
      throw;
    }
    bool seen = false;
    for (const auto& [s, a] : out) seen = seen || a.device == ctx->adapter().device;
    if (seen) continue;
    if (o.progress) std::fprintf(stderr, "bench: measuring the bandwidth of %s\n", ctx->adapter().device.c_str());
    out.emplace_back(spec, describe_adapter(*ctx, true));
  }
  if (out.empty()) fail("no WebGPU adapter found for --adapter all");
  return out;
}

uint64_t weight_bytes_of(const GgufFile& f) {
  uint64_t n = 0;
  for (const GgufTensor& t : f.tensors()) n += t.size;
  return n;
}

#if WGLLM_HAVE_RUNTIME
// The WebGPU backend: greedy decode with the argmax on the GPU (only the id comes back), and the
// engine's own GPU byte counter.
class WebGpuTarget : public BackendTarget {
 public:
  explicit WebGpuTarget(runtime::WebGpuBackend& b) : BackendTarget(b), b_(b) {}
  int decode(int token) override { return b_.decode_greedy(token); }
  void reset_peak() override { b_.context().reset_peak(); }
  bool has_peak() const override { return true; }
  uint64_t peak_bytes() const override { return b_.context().peak_bytes(); }

 private:
  runtime::WebGpuBackend& b_;
};
#endif

struct LoadedModel {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<BenchTarget> target;
  double load_s = 0, load_wall_s = 0;
  int kv_elem_bytes = 4;
};

LoadedModel load(const BenchOptions& o, const std::string& adapter_spec, const std::string& file, int max_context) {
  LoadedModel m;
  BackendOptions bo;
  bo.max_context = max_context;
  const auto t0 = Clock::now();
  if (o.backend == "cpu") {
    m.backend = open_backend("cpu", file, bo);
    m.load_wall_s = m.load_s = seconds_since(t0);
    m.target = std::make_unique<BackendTarget>(*m.backend);
    return m;
  }
#if WGLLM_HAVE_RUNTIME
  gpu::ContextOptions go = o.gpu;
  go.adapter = adapter_spec;
  go.profile = false;
  runtime::GpuTransformerOptions mo;
  mo.progress = o.progress;
  auto be = std::make_unique<runtime::WebGpuBackend>(file, bo, go, mo);
  m.load_wall_s = seconds_since(t0);
  m.load_s = be->model().load_seconds();
  m.kv_elem_bytes = mo.f16_kv_cache ? 2 : 4;
  m.target = std::make_unique<WebGpuTarget>(*be);
  m.backend = std::move(be);
  return m;
#else
  (void)adapter_spec;
  fail("this wgllm was built without the WebGPU runtime (wgllm_runtime); use --backend cpu");
#endif
}

// Runs every case of one matrix on one adapter (or the CPU reference: adapter -1).
void run_matrix(const BenchOptions& o, const Matrix& m, int adapter, const std::string& adapter_spec, double bw_gbs,
                const std::string& adapter_label, Report& report) {
  const std::vector<BenchCase> cases = expand(m);
  const int max_prompt = *std::max_element(m.prompt_lengths.begin(), m.prompt_lengths.end());
  for (size_t mi = 0; mi < m.models.size(); ++mi) {
    const ModelChoice& choice = m.models[mi];
    const std::string file = resolve_model_file(choice, o.cache_dir);
    const std::unique_ptr<GgufFile> gguf = GgufFile::open(file);
    if (o.progress) std::fprintf(stderr, "bench: loading %s on %s\n", choice.label().c_str(), adapter_label.c_str());
    LoadedModel lm = load(o, adapter_spec, file, max_prompt + m.gen_tokens);
    const ModelConfig& cfg = lm.backend->config();
    for (const BenchCase& c : cases) {
      if (c.model != mi) continue;
      BenchRow row;
      row.model = choice.preset.empty() ? std::filesystem::path(file).stem().string() : choice.preset;
      row.preset = choice.preset;
      row.model_file = file;
      row.file_bytes = gguf->file_size();
      row.arch = gguf->get_string("general.architecture", "");
      row.quant = choice.preset.empty() ? file_quant_name(file) : choice.quant;
      row.adapter = adapter;
      row.backend = o.backend;
      row.prompt_tokens = c.prompt_tokens;
      row.gen_tokens = c.gen_tokens;
      row.weight_bytes = weight_bytes_of(*gguf);
      row.kv_bytes_per_token = kv_bytes_per_token(cfg, lm.kv_elem_bytes);
      row.decode_read_bytes = decode_read_bytes(cfg, row.weight_bytes, lm.kv_elem_bytes, c.prompt_tokens, c.gen_tokens);
      row.load_s = lm.load_s;
      row.load_wall_s = lm.load_wall_s;
      row.load_gbs = lm.load_s > 0 ? double(row.file_bytes) / lm.load_s / 1e9 : 0;
      const std::vector<int> prompt = random_prompt(c.prompt_tokens, cfg.vocab_size, o.seed + uint64_t(c.prompt_tokens));
      if (o.progress)
        std::fprintf(stderr, "bench: %s, prompt %d, gen %d on %s: warm-up", choice.label().c_str(), c.prompt_tokens,
                     c.gen_tokens, adapter_label.c_str());
      time_run(*lm.target, prompt, c.gen_tokens);
      std::vector<RunTiming> reps;
      for (int r = 0; r < o.reps; ++r) {
        if (o.progress) std::fprintf(stderr, ", rep %d/%d", r + 1, o.reps);
        reps.push_back(time_run(*lm.target, prompt, c.gen_tokens));
      }
      summarize(reps, bw_gbs, lm.target->has_peak(), row);
      if (o.progress)
        std::fprintf(stderr, ": decode %s tok/s, TTFT %s ms\n", format_number(row.decode_tok_s.median).c_str(),
                     format_number(row.ttft_ms.median).c_str());
      report.rows.push_back(std::move(row));
    }
  }
}

}  // namespace

std::string resolve_model_file(const ModelChoice& c, const std::string& cache_dir) {
  if (!c.file.empty()) return c.file;
  return ensure_preset_model(c.preset, c.quant, cache_dir);
}

std::string file_quant_name(const std::string& path) {
  const std::unique_ptr<GgufFile> f = GgufFile::open(path);
  if (!f->has("general.file_type")) return "unknown";
  const uint64_t id = f->get_u64("general.file_type");
  if (const std::optional<FileType> ft = file_type_from_id(id)) return std::string(file_type_name(*ft));
  return cat("ftype ", id);
}

Report run_benchmarks(const BenchOptions& o) {
  if (o.reps < 1) fail("--reps ", o.reps, " must be at least 1");
  if (o.backend != "webgpu" && o.backend != "cpu") fail("--backend '", o.backend, "': one of webgpu, cpu");
  plan_matrix(o.matrix, false);  // unknown presets, quants or files fail before adapters are probed
  Report report;
  report.engine_version = o.engine_version;
  report.git_sha = o.git_sha;
  report.created = utc_now();
  utsname u{};
  if (uname(&u) == 0) report.os_name = u.sysname, report.os_release = u.release, report.os_version = u.version, report.machine = u.machine;
  report.repetitions = o.reps;
  report.seed = o.seed;
  report.backend = o.backend;

  auto take_settings = [&](const Matrix& m) {
    report.prompt_lengths = m.prompt_lengths;
    report.gen_tokens = m.gen_tokens;
    report.defaults = m.defaults;
    for (const std::string& n : m.notes)
      if (std::find(report.notes.begin(), report.notes.end(), n) == report.notes.end()) {
        report.notes.push_back(n);
        if (o.progress) std::fprintf(stderr, "bench: note: %s\n", n.c_str());
      }
  };
  if (o.backend == "cpu") {
    // The CPU reference: for comparison on tiny models (the CPU-adapter defaults).
    const Matrix m = plan_matrix(o.matrix, true);
    take_settings(m);
    report.notes.push_back("backend cpu: the plain CPU reference (f32 KV cache), for comparison on tiny models; no GPU memory or roofline");
    run_matrix(o, m, -1, "", 0, "cpu reference", report);
    return report;
  }
  for (auto& [spec, record] : probe_adapters(o)) {
    const int index = int(report.adapters.size());
    report.adapters.push_back(record);
    const Matrix m = plan_matrix(o.matrix, record.type == "CPU");
    take_settings(m);
    run_matrix(o, m, index, spec, record.used_gbs(), record.device, report);
  }
  return report;
}

#if WGLLM_HAVE_RUNTIME
namespace {
// Times decode steps as they really run (one pass each), whole and then keeping only one
// kernel's dispatches: that kernel's in-situ cost per step, the barriers between its dispatches
// included. The per-dispatch profile gives every dispatch a pass of its own, whose start and end
// cost more than a barrier, so its parts add up to more than the step; these add up to about
// the step where kernels do not overlap. The steps that keep one kernel compute garbage (the
// fixed input token keeps them valid).
std::string in_situ_table(runtime::WebGpuBackend& be, gpu::Profile& prof, const std::vector<int>& prompt,
                          const std::vector<std::string>& kernels, int steps, double best_gbs) {
  auto time_steps = [&](const std::string& label, const std::string& only) {
    be.reset();
    prof.set_per_dispatch();
    const int token = argmax(be.eval(prompt, false));
    prof.clear();
    prof.set_span(label, only);
    for (int i = 0; i < steps; ++i) be.decode_greedy(token);
    const gpu::Profile::Row row = prof.rows().at(label);
    prof.clear();
    prof.set_per_dispatch();
    return std::make_pair(row.total_us / double(row.calls), row.bytes / double(row.calls));
  };
  const auto [step_us, step_bytes] = time_steps("whole step", "");
  std::string s = cat("decode in situ (one pass per step as in real runs; a kernel alone = the step keeping only its dispatches):\n");
  char line[256];
  std::snprintf(line, sizeof line, "  %-32s %9s %9s %7s\n", "kernel", "us/step", "GB/s", "of BW");
  s += line;
  double sum = 0;
  std::vector<std::tuple<double, std::string, double>> rows;
  for (const std::string& k : kernels) {
    const auto [us, bytes] = time_steps(k, k);
    sum += us;
    rows.emplace_back(us, k, bytes);
  }
  std::sort(rows.rbegin(), rows.rend());
  auto print = [&](const std::string& name, double us, double bytes) {
    const double gbs = us > 0 && bytes > 0 ? bytes / (us * 1e3) : 0;
    std::snprintf(line, sizeof line, "  %-32s %9.1f %9.1f %6.1f%%\n", name.c_str(), us, gbs, best_gbs > 0 ? 100 * gbs / best_gbs : 0.0);
    s += line;
  };
  for (const auto& [us, k, bytes] : rows) print(k, us, bytes);
  print("sum of the kernels alone", sum, 0);
  print("whole step", step_us, step_bytes);
  return s;
}
}  // namespace
#endif

std::string kernel_benchmark(const KernelBenchOptions& o) {
#if WGLLM_HAVE_RUNTIME
  ModelChoice choice;
  if (std::filesystem::exists(o.model)) {
    choice.file = o.model;
  } else {
    find_preset(o.model);
    choice.preset = o.model, choice.quant = o.quant;
  }
  const std::string file = resolve_model_file(choice, o.cache_dir);
  double best_gbs = 0;
  {
    gpu::ContextOptions probe = o.gpu;
    probe.profile = false;
    auto ctx = gpu::Context::create(probe);
    best_gbs = describe_adapter(*ctx, true).used_gbs();
  }
  gpu::ContextOptions go = o.gpu;
  go.profile = true;
  BackendOptions bo;
  bo.max_context = o.prompt_tokens + o.decode_steps + 2;
  runtime::WebGpuBackend be(file, bo, go, {});
  if (!be.context().profiling())
    fail("--kernels needs timestamp queries, which ", be.context().adapter().device, " does not offer");
  const std::vector<int> prompt = random_prompt(o.prompt_tokens, be.config().vocab_size, 1234);
  gpu::Profile& prof = be.model().profile();
  // Warm-up (pipeline creation), then the timed prefill and decode steps.
  int token = argmax(be.eval(prompt, false));
  be.decode_greedy(token);
  be.reset();
  auto section = [&](const std::string& title, int per) {
    std::string s = title + "\n" + prof.table();
    s += cat("share of measured bandwidth (", format_number(best_gbs), " GB/s):\n");
    for (const auto& [name, row] : prof.rows()) {
      if (row.bytes <= 0 || row.total_us <= 0) continue;
      const double gbs = row.bytes / (row.total_us * 1e3);
      char line[256];
      std::snprintf(line, sizeof line, "  %-32s %9.1f us/%s  %8.1f GB/s  %5.1f%%\n", name.c_str(), row.total_us / per,
                    per > 1 ? "step" : "run ", gbs, best_gbs > 0 ? 100 * gbs / best_gbs : 0.0);
      s += line;
    }
    prof.clear();
    return s;
  };
  prof.clear();
  token = argmax(be.eval(prompt, false));
  std::string out = cat("model ", choice.label(), " on ", be.context().adapter().device, "\n\n");
  out += section(cat("prefill of ", o.prompt_tokens, " tokens (each dispatch in a pass of its own):"), 1);
  std::vector<std::string> decode_kernels;
  for (int i = 0; i < o.decode_steps; ++i) token = be.decode_greedy(token);
  for (const auto& [name, row] : prof.rows()) decode_kernels.push_back(name);
  out += "\n" + section(cat("decode, ", o.decode_steps, " steps (us per step; each dispatch in a pass of its own):"), o.decode_steps);
  out += "\n" + in_situ_table(be, prof, prompt, decode_kernels, o.decode_steps, best_gbs);
  return out;
  return out;
#else
  (void)o;
  fail("this wgllm was built without the WebGPU runtime (wgllm_runtime): --kernels needs it");
#endif
}

}  // namespace wgllm::bench
