// The GPU context: one WebGPU adapter + device, chosen and configured for LLM kernels.
//
//   auto ctx = gpu::Context::create({});              // best adapter: discrete > integrated > CPU
//   gpu::Buffer x = ctx->create_buffer(bytes, gpu::kStorage, "x");
//   ctx->write(x, data.data(), bytes);
//   ... record dispatches with gpu::Recorder, submit ...
//   std::vector<float> y = ctx->read_vector<float>(out);   // sync point: errors surface here
//
// Device loss and validation errors are collected by callbacks and raised as wgllm::Error at
// the next sync point (read, wait, finish); a wait never hangs forever (WGLLM_GPU_TIMEOUT_S).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gpu/buffer.h"
#include "gpu/webgpu_api.h"

namespace wgllm::gpu {

struct ContextOptions {
  // "auto" (discrete > integrated > cpu), "discrete", "integrated", "cpu", or a substring of the
  // adapter's name. Default: $WGLLM_ADAPTER, else "auto".
  std::string adapter;
  std::string webgpu_lib;      // explicit webgpu.h library path (else $WGLLM_WEBGPU_LIB, Dawn)
  bool allow_f16 = true;       // use shader-f16 when the adapter has it
  bool allow_subgroups = true; // use subgroups when the adapter has it
  // Dawn toggles that only drop validation and robustness checks (skip_validation,
  // disable_robustness); also $WGLLM_NO_VALIDATION=1. Reports must say when it was on.
  bool benchmark_mode = false;
  // Further Dawn toggles enabled on the adapter and the device, from $WGLLM_DAWN_TOGGLES
  // (comma-separated). allow_unsafe_apis makes Dawn offer its experimental features, such as
  // chromium-experimental-subgroup-matrix (cooperative matrices); `wgllm info` then lists them.
  std::vector<std::string> dawn_toggles;
  bool profile = false;        // timestamp queries per dispatch (also $WGLLM_PROFILE=1)
  // Caps maxStorageBufferBindingSize below the adapter's (tests of split tensors). 0 = no cap.
  uint64_t max_binding_size_override = 0;
  // Bytes the engine may allocate on the GPU. WebGPU reports no memory size (only per-buffer
  // limits), so this is the user's figure: --gpu-memory MiB or $WGLLM_GPU_MEMORY (MiB). 0 = no
  // budget: only the adapter's per-buffer limits are checked before allocating.
  uint64_t memory_budget = 0;
};

struct AdapterDescription {
  std::string vendor, architecture, device, description;
  std::string backend;       // "Vulkan", "Metal", ...
  std::string adapter_type;  // "discrete GPU", "integrated GPU", "CPU", "unknown"
  uint32_t vendor_id = 0, device_id = 0;
  std::string library;       // the webgpu.h library in use
};

// What the kernels may use; each kernel family picks its variant from this.
struct DeviceFeatures {
  bool shader_f16 = false;
  bool subgroups = false;
  bool timestamp_query = false;
  bool subgroup_matrix = false;  // Dawn's chromium-experimental-subgroup-matrix, on the device
  // Its configurations (M x N x K, component -> result type), e.g. "i8->i32 16x16x32".
  std::vector<std::string> subgroup_matrix_configs;
  // The one configuration the matrix kernels use (int8 GEMM on tensor cores): i8 -> i32 16x16x32.
  bool subgroup_matrix_i8 = false;
  // f16 x f16 -> f32 16x16x16 (the f16 prefill GEMM on tensor cores).
  bool subgroup_matrix_f16 = false;
  uint32_t subgroup_min_size = 0, subgroup_max_size = 0;  // 0 when the library does not say
  std::vector<uint32_t> adapter_feature_ids;              // every feature id the adapter listed
};

struct DeviceLimits {
  uint64_t max_storage_buffer_binding_size = 0;  // after max_binding_size_override
  uint64_t max_buffer_size = 0;
  uint64_t max_uniform_buffer_binding_size = 0;
  uint32_t min_uniform_buffer_offset_alignment = 256;
  uint32_t min_storage_buffer_offset_alignment = 256;
  uint32_t max_storage_buffers_per_shader_stage = 8;
  uint32_t max_compute_workgroup_storage_size = 16384;
  uint32_t max_compute_invocations_per_workgroup = 256;
  uint32_t max_compute_workgroup_size_x = 256;
  uint32_t max_compute_workgroups_per_dimension = 65535;
};

class Context {
 public:
  static std::unique_ptr<Context> create(const ContextOptions& options = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const WebGpuApi& api() const { return api_; }
  WGPUDevice device() const { return device_; }
  WGPUQueue queue() const { return queue_; }
  const AdapterDescription& adapter() const { return adapter_; }
  const DeviceFeatures& features() const { return features_; }
  const DeviceLimits& limits() const { return limits_; }
  const ContextOptions& options() const { return options_; }
  bool profiling() const { return profile_; }

  // Buffers. Sizes are rounded up to 4 bytes; usage flags from buffer.h.
  Buffer create_buffer(uint64_t size, BufferUsage usage, const std::string& label);
  // Uploads in chunks (large uploads never need one huge staging copy).
  void write(const Buffer& dst, const void* data, uint64_t size, uint64_t dst_offset = 0);
  // Copies GPU -> CPU. A sync point: raises pending device errors.
  void read(const Buffer& src, void* out, uint64_t size, uint64_t src_offset = 0);
  template <typename T>
  std::vector<T> read_vector(const Buffer& src, size_t count, uint64_t src_offset = 0) {
    std::vector<T> out(count);
    read(src, out.data(), count * sizeof(T), src_offset);
    return out;
  }
  // Reads a MapRead buffer that submitted work has filled (e.g. a copy recorded in a step): waits
  // only for the work that last used this buffer, not for later submissions. A sync point.
  void read_mapped(const Buffer& mappable, void* out, uint64_t size);
  // Waits until all submitted work is done; a sync point.
  void finish();

  // Bytes held in GPU buffers by this context: now and the most at any time.
  uint64_t bytes_in_use() const { return bytes_now_.load(); }
  uint64_t peak_bytes() const { return bytes_peak_.load(); }
  void reset_peak() { bytes_peak_.store(bytes_now_.load()); }

  // Raises (and clears) the first uncaptured error or device loss, if any.
  void check_errors();
  // Runs `f` inside a validation error scope; returns the error message ("" when none).
  std::string capture_errors(const std::function<void()>& f,
                             WGPUErrorFilter filter = WGPUErrorFilter_Validation);

  // Polls the instance until `done()` or the timeout; raises device errors on the way.
  void wait_until(const std::function<bool()>& done, const char* what);
  std::vector<std::string> subgroup_matrix_configs();

  // Internal: the buffer registry keeps the byte counters right.
  void on_buffer_created(uint64_t size);
  void on_buffer_released(uint64_t size);

 private:
  Context(const WebGpuApi& api, const ContextOptions& options);
  void choose_adapter();
  void create_device();
  void read_mapped(const Buffer& mappable, void* out, uint64_t size, uint64_t offset, uint64_t span,
                   const std::string& what);

  const WebGpuApi& api_;
  ContextOptions options_;
  bool profile_ = false;
  WGPUInstance instance_ = nullptr;
  WGPUAdapter adapter_handle_ = nullptr;
  WGPUDevice device_ = nullptr;
  WGPUQueue queue_ = nullptr;
  AdapterDescription adapter_;
  DeviceFeatures features_;
  DeviceLimits limits_;
  std::atomic<uint64_t> bytes_now_{0}, bytes_peak_{0};

  std::mutex error_mutex_;
  std::string pending_error_;     // first uncaptured error since the last check
  std::atomic<bool> lost_{false};
  std::string lost_message_;
  double timeout_s_ = 120;
  std::unique_ptr<Buffer> readback_;  // reused MapRead staging buffer

  friend void on_uncaptured_error(const WGPUDevice*, WGPUErrorType, WGPUStringView, void*, void*);
  friend void on_device_lost(const WGPUDevice*, WGPUDeviceLostReason, WGPUStringView, void*, void*);
};

}  // namespace wgllm::gpu
