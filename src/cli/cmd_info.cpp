// `wgllm info [--json]`: the adapter, its features and limits, measured bandwidth and arithmetic rates.
#include <nlohmann/json.hpp>

#include <cstdio>

#include "cli/command.h"
#include "cli/gpu_options.h"
#include "cli/version.h"
#include "gpu/bandwidth.h"
#include "gpu/compute_rate.h"

namespace wgllm::cli {
namespace {

struct InfoArgs {
  gpu::ContextOptions gpu;
  bool json = false;
  bool skip_bandwidth = false;
};

nlohmann::json describe(gpu::Context& ctx, const gpu::BandwidthResult* bw, const gpu::ComputeRate* rate) {
  const auto& a = ctx.adapter();
  const auto& f = ctx.features();
  const auto& l = ctx.limits();
  nlohmann::json j;
  j["engine"] = {{"version", WGLLM_VERSION}, {"git_sha", WGLLM_GIT_SHA}};
  j["adapter"] = {{"vendor", a.vendor},          {"architecture", a.architecture}, {"device", a.device},
                  {"driver", a.description},     {"backend", a.backend},           {"type", a.adapter_type},
                  {"vendor_id", a.vendor_id},    {"device_id", a.device_id},       {"webgpu_library", a.library},
                  {"dawn_toggles", ctx.options().dawn_toggles}};
  j["features"] = {{"shader_f16", f.shader_f16},
                   {"subgroups", f.subgroups},
                   {"timestamp_query", f.timestamp_query},
                   {"subgroup_matrix", f.subgroup_matrix},
                   {"subgroup_min_size", f.subgroup_min_size},
                   {"subgroup_max_size", f.subgroup_max_size},
                   {"subgroup_matrix_configs", f.subgroup_matrix_configs},
                   {"adapter_feature_ids", f.adapter_feature_ids}};
  j["limits"] = {{"max_storage_buffer_binding_size", l.max_storage_buffer_binding_size},
                 {"max_buffer_size", l.max_buffer_size},
                 {"max_uniform_buffer_binding_size", l.max_uniform_buffer_binding_size},
                 {"min_uniform_buffer_offset_alignment", l.min_uniform_buffer_offset_alignment},
                 {"max_storage_buffers_per_shader_stage", l.max_storage_buffers_per_shader_stage},
                 {"max_compute_workgroup_storage_size", l.max_compute_workgroup_storage_size},
                 {"max_compute_invocations_per_workgroup", l.max_compute_invocations_per_workgroup},
                 {"max_compute_workgroups_per_dimension", l.max_compute_workgroups_per_dimension}};
  if (bw)
    j["bandwidth"] = {{"buffer_bytes", bw->buffer_bytes}, {"copy_gbs", bw->copy_gbs}, {"read_kernel_gbs", bw->read_gbs},
                       {"dispatch_us", bw->dispatch_us}, {"chunk_bytes", bw->chunk_bytes}, {"chunk_read_gbs", bw->chunk_read_gbs}};
  if (rate)
    j["compute"] = {{"f32_fma_per_s", rate->f32_fma_per_s}, {"f32_tflops", rate->f32_tflops()},
                    {"dot4_i8_per_s", rate->dot4_i8_per_s}, {"int8_tops", rate->int8_tops()},
                    {"matrix_i8_macs_per_s", rate->matrix_i8_macs_per_s}, {"matrix_int8_tops", rate->matrix_int8_tops()}};
  return j;
}

void run_info(InfoArgs& args) {
  auto ctx = gpu::Context::create(args.gpu);
  gpu::BandwidthResult bw;
  gpu::ComputeRate rate;
  if (!args.skip_bandwidth) {
    if (!args.json) std::fprintf(stderr, "measuring bandwidth and arithmetic rates...\n");
    bw = gpu::measure_bandwidth(*ctx);
    rate = gpu::measure_compute_rate(*ctx);
  }
  const nlohmann::json j = describe(*ctx, args.skip_bandwidth ? nullptr : &bw, args.skip_bandwidth ? nullptr : &rate);
  if (args.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  const auto& a = ctx->adapter();
  std::printf("wgllm %s\n", WGLLM_VERSION_STRING);
  std::printf("adapter:   %s (%s)\n", a.device.c_str(), a.adapter_type.c_str());
  std::printf("vendor:    %s / %s\n", a.vendor.c_str(), a.architecture.c_str());
  std::printf("driver:    %s\n", a.description.c_str());
  std::printf("backend:   %s, through %s\n", a.backend.c_str(), a.library.c_str());
  if (!ctx->options().dawn_toggles.empty()) {
    std::printf("toggles:  ");
    for (const std::string& t : ctx->options().dawn_toggles) std::printf(" %s", t.c_str());
    std::printf("\n");
  }
  const auto& f = ctx->features();
  std::printf("features:  shader-f16 %s, subgroups %s", f.shader_f16 ? "yes" : "no", f.subgroups ? "yes" : "no");
  if (f.subgroups && f.subgroup_min_size) std::printf(" (size %u-%u)", f.subgroup_min_size, f.subgroup_max_size);
  std::printf(", timestamp-query %s, subgroup-matrix %s\n", f.timestamp_query ? "yes" : "no", f.subgroup_matrix ? "yes" : "no");
  for (const std::string& c : f.subgroup_matrix_configs) std::printf("           subgroup-matrix config %s\n", c.c_str());
  const auto& l = ctx->limits();
  std::printf("limits:    max storage binding %.1f MiB, max buffer %.1f MiB, workgroup memory %u B, %u invocations\n",
              double(l.max_storage_buffer_binding_size) / (1 << 20), double(l.max_buffer_size) / (1 << 20),
              l.max_compute_workgroup_storage_size, l.max_compute_invocations_per_workgroup);
  if (!args.skip_bandwidth)
    std::printf("bandwidth: copy %.1f GB/s, read kernel %.1f GB/s (%.0f MiB buffer; bytes read + written)\n", bw.copy_gbs,
                bw.read_gbs, double(bw.buffer_bytes) / (1 << 20));
  if (!args.skip_bandwidth)
    std::printf("dispatch:  %.2f us each in a chain of dependent one-workgroup dispatches; %.1f GB/s reading %.0f MiB per dispatch\n",
                bw.dispatch_us, bw.chunk_read_gbs, double(bw.chunk_bytes) / (1 << 20));
  if (!args.skip_bandwidth)
    std::printf("compute:   f32 fma %.3g TFLOP/s, dot4I8Packed %.3g T/s (%.3g int8 TOPS)\n", rate.f32_tflops(),
                rate.dot4_i8_per_s / 1e12, rate.int8_tops());
  if (!args.skip_bandwidth && rate.matrix_i8_macs_per_s > 0)
    std::printf("           subgroup-matrix i8 16x16x32 %.3g int8 TOPS\n", rate.matrix_int8_tops());
}

Command info_command("info", "Describe the WebGPU adapter: features, limits, measured bandwidth", [](CLI::App& sub) {
  auto args = std::make_shared<InfoArgs>();
  add_gpu_options(sub, args->gpu);
  sub.add_flag("--json", args->json, "print JSON");
  sub.add_flag("--no-bandwidth", args->skip_bandwidth, "skip the bandwidth and arithmetic-rate measurements");
  sub.callback([args] { run_info(*args); });
});

}  // namespace
}  // namespace wgllm::cli
