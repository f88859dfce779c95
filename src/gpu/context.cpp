#include "gpu/context.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "util/error.h"

namespace wgllm::gpu {
namespace {

// Where Debian's chromium package keeps SwiftShader's Vulkan ICD manifest.
constexpr const char* kSwiftShaderIcd = "/usr/lib/chromium/vk_swiftshader_icd.json";

bool file_exists(const char* path) {
  struct stat st {};
  return ::stat(path, &st) == 0;
}

const char* backend_name(WGPUBackendType b) {
  switch (b) {
    case WGPUBackendType_Null: return "Null";
    case WGPUBackendType_WebGPU: return "WebGPU";
    case WGPUBackendType_D3D11: return "D3D11";
    case WGPUBackendType_D3D12: return "D3D12";
    case WGPUBackendType_Metal: return "Metal";
    case WGPUBackendType_Vulkan: return "Vulkan";
    case WGPUBackendType_OpenGL: return "OpenGL";
    case WGPUBackendType_OpenGLES: return "OpenGLES";
    default: return "unknown";
  }
}

const char* adapter_type_name(WGPUAdapterType t) {
  switch (t) {
    case WGPUAdapterType_DiscreteGPU: return "discrete GPU";
    case WGPUAdapterType_IntegratedGPU: return "integrated GPU";
    case WGPUAdapterType_CPU: return "CPU";
    default: return "unknown";
  }
}

int adapter_rank(WGPUAdapterType t) {
  switch (t) {
    case WGPUAdapterType_DiscreteGPU: return 0;
    case WGPUAdapterType_IntegratedGPU: return 1;
    case WGPUAdapterType_CPU: return 2;
    default: return 3;
  }
}

// WGPULimits as written by the library, with room for fields newer releases append.
struct PaddedLimits {
  WGPULimits limits;
  uint8_t tail[512];
};
struct PaddedAdapterInfo {
  WGPUAdapterInfo info;
  uint8_t tail[256];
};

struct Candidate {
  WGPUAdapter handle;
  AdapterDescription desc;
  WGPUAdapterType type;
  WGPUBackendType backend;
  uint32_t subgroup_min = 0, subgroup_max = 0;
};

// Dawn's toggles chain for an adapter or device request; it points into the two lists, which must
// outlive the request.
WGPUDawnTogglesDescriptor toggles_descriptor(const std::vector<const char*>& enabled,
                                             const std::vector<const char*>& disabled) {
  WGPUDawnTogglesDescriptor toggles{};
  toggles.chain.sType = WGPUSType_DawnTogglesDescriptor;
  toggles.enabledToggleCount = enabled.size();
  toggles.enabledToggles = enabled.data();
  toggles.disabledToggleCount = disabled.size();
  toggles.disabledToggles = disabled.data();
  return toggles;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

}  // namespace

void on_uncaptured_error(const WGPUDevice*, WGPUErrorType type, WGPUStringView message, void* self, void*) {
  auto* ctx = static_cast<Context*>(self);
  std::lock_guard<std::mutex> lock(ctx->error_mutex_);
  if (ctx->pending_error_.empty())
    ctx->pending_error_ = cat(type == WGPUErrorType_OutOfMemory ? "GPU out of memory: " : "GPU error: ",
                              to_string(message));
}

void on_device_lost(const WGPUDevice*, WGPUDeviceLostReason reason, WGPUStringView message, void* self, void*) {
  auto* ctx = static_cast<Context*>(self);
  if (reason == WGPUDeviceLostReason_Destroyed || reason == WGPUDeviceLostReason_CallbackCancelled) return;
  std::lock_guard<std::mutex> lock(ctx->error_mutex_);
  ctx->lost_message_ = cat("GPU device lost (reason ", uint32_t(reason), "): ", to_string(message));
  ctx->lost_ = true;
}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    release();
    ctx_ = o.ctx_, handle_ = o.handle_, size_ = o.size_, label_ = std::move(o.label_);
    o.ctx_ = nullptr, o.handle_ = nullptr, o.size_ = 0;
  }
  return *this;
}

void Buffer::release() {
  if (!handle_) return;
  ctx_->api().wgpuBufferDestroy(handle_);
  ctx_->api().wgpuBufferRelease(handle_);
  ctx_->on_buffer_released(size_);
  handle_ = nullptr;
  size_ = 0;
}

Context::Context(const WebGpuApi& api, const ContextOptions& options) : api_(api), options_(options) {
  if (options_.adapter.empty()) {
    const char* env = std::getenv("WGLLM_ADAPTER");
    options_.adapter = env && *env ? env : "auto";
  }
  if (const char* b = std::getenv("WGLLM_NO_VALIDATION"); b && *b && std::strcmp(b, "0") != 0) options_.benchmark_mode = true;
  const char* prof = std::getenv("WGLLM_PROFILE");
  profile_ = options_.profile || (prof && std::strcmp(prof, "0") != 0 && *prof);
  if (const char* t = std::getenv("WGLLM_DAWN_TOGGLES"); t && *t) {
    std::string all(t);
    for (size_t at = 0; at <= all.size();) {
      const size_t comma = std::min(all.find(',', at), all.size());
      if (comma > at) options_.dawn_toggles.push_back(all.substr(at, comma - at));
      at = comma + 1;
    }
  }
  // dawn.node's Dawn blocks shader-f16 on NVIDIA unless the adapter is asked with
  // vulkan_enable_f16_on_nvidia, and lists subgroup matrices only with allow_unsafe_apis; the
  // Vulkan memory model is what its subgroup-matrix shaders compile against. Set unless the user
  // chose toggles (WGLLM_DAWN_TOGGLES); every report records the toggles in use.
  if (options_.dawn_toggles.empty() && is_node_addon(api_.library_path))
    options_.dawn_toggles = {"vulkan_enable_f16_on_nvidia", "allow_unsafe_apis", "use_vulkan_memory_model"};
  if (const char* t = std::getenv("WGLLM_GPU_TIMEOUT_S"); t && std::atof(t) > 0) timeout_s_ = std::atof(t);
  if (const char* m = std::getenv("WGLLM_GPU_MEMORY"); m && *m && options_.memory_budget == 0) {
    char* end = nullptr;
    const unsigned long long mib = std::strtoull(m, &end, 10);
    if (*end || mib == 0) fail("WGLLM_GPU_MEMORY must be a positive number of MiB, not '", m, "'");
    options_.memory_budget = uint64_t(mib) << 20;
  }
}

std::unique_ptr<Context> Context::create(const ContextOptions& options) {
  const WebGpuApi& api = load_webgpu(options.webgpu_lib);
  // Without a Vulkan driver of its own, Dawn can use SwiftShader (a CPU Vulkan driver) that
  // Debian's chromium ships. Offer it beside whatever drivers exist; ranking picks a GPU first.
  if (!std::getenv("VK_ICD_FILENAMES") && !std::getenv("VK_DRIVER_FILES") && file_exists(kSwiftShaderIcd))
    ::setenv("VK_ADD_DRIVER_FILES", kSwiftShaderIcd, 0);
  std::unique_ptr<Context> ctx(new Context(api, options));
  ctx->instance_ = api.wgpuCreateInstance(nullptr);
  if (!ctx->instance_) fail("webgpu: could not create an instance (", api.library_path, ")");
  ctx->choose_adapter();
  ctx->create_device();
  return ctx;
}

Context::~Context() {
  readback_.reset();
  if (queue_) api_.wgpuQueueRelease(queue_);
  if (device_) {
    api_.wgpuDeviceDestroy(device_);
    api_.wgpuDeviceRelease(device_);
  }
  if (adapter_handle_) api_.wgpuAdapterRelease(adapter_handle_);
  if (instance_) {
    api_.wgpuInstanceProcessEvents(instance_);
    api_.wgpuInstanceRelease(instance_);
  }
}

void Context::wait_until(const std::function<bool()>& done, const char* what) {
  const auto start = std::chrono::steady_clock::now();
  int spins = 0;
  while (!done()) {
    api_.wgpuInstanceProcessEvents(instance_);
    if (done()) break;
    if (lost_) check_errors();
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (waited > timeout_s_)
      fail("GPU did not finish ", what, " within ", timeout_s_, " s (WGLLM_GPU_TIMEOUT_S); the device may be hung");
    // Spin briefly (decode steps take milliseconds), then back off to spare the CPU.
    if (++spins > 2000) std::this_thread::sleep_for(std::chrono::microseconds(spins > 20000 ? 500 : 20));
  }
  check_errors();
}

void Context::check_errors() {
  std::string message;
  {
    std::lock_guard<std::mutex> lock(error_mutex_);
    if (lost_) message = lost_message_;
    else std::swap(message, pending_error_);
  }
  if (!message.empty()) throw Error(message);
}

std::string Context::capture_errors(const std::function<void()>& f, WGPUErrorFilter filter) {
  api_.wgpuDevicePushErrorScope(device_, filter);
  f();
  struct Result {
    bool done = false;
    std::string message;
  } result;
  WGPUPopErrorScopeCallbackInfo info{};
  info.mode = WGPUCallbackMode_AllowProcessEvents;
  info.callback = [](WGPUPopErrorScopeStatus, WGPUErrorType type, WGPUStringView msg, void* r, void*) {
    auto* res = static_cast<Result*>(r);
    if (type != WGPUErrorType_NoError) res->message = to_string(msg);
    if (type != WGPUErrorType_NoError && res->message.empty()) res->message = "unspecified GPU error";
    res->done = true;
  };
  info.userdata1 = &result;
  api_.wgpuDevicePopErrorScope(device_, info);
  wait_until([&] { return result.done; }, "an error-scope query");
  return result.message;
}

void Context::choose_adapter() {
  // Ask for the adapter under each preference; Dawn answers with its best match for each.
  std::vector<Candidate> found;
  auto request = [&](WGPUPowerPreference pref, bool fallback) {
    WGPURequestAdapterOptions opts{};
    opts.featureLevel = WGPUFeatureLevel_Core;
    opts.powerPreference = pref;
    opts.forceFallbackAdapter = fallback;
    std::vector<const char*> names;
    for (const std::string& t : options_.dawn_toggles) names.push_back(t.c_str());
    const std::vector<const char*> none;
    WGPUDawnTogglesDescriptor toggles = toggles_descriptor(names, none);
    if (!names.empty()) opts.nextInChain = &toggles.chain;
    struct Out {
      bool done = false;
      WGPUAdapter adapter = nullptr;
    } out;
    WGPURequestAdapterCallbackInfo cb{};
    cb.mode = WGPUCallbackMode_AllowProcessEvents;
    cb.callback = [](WGPURequestAdapterStatus status, WGPUAdapter a, WGPUStringView, void* o, void*) {
      auto* res = static_cast<Out*>(o);
      if (status == WGPURequestAdapterStatus_Success) res->adapter = a;
      res->done = true;
    };
    cb.userdata1 = &out;
    api_.wgpuInstanceRequestAdapter(instance_, &opts, cb);
    const auto start = std::chrono::steady_clock::now();
    while (!out.done && std::chrono::steady_clock::now() - start < std::chrono::seconds(60))
      api_.wgpuInstanceProcessEvents(instance_);
    if (!out.adapter) return;
    PaddedAdapterInfo padded{};
    api_.wgpuAdapterGetInfo(out.adapter, &padded.info);
    const WGPUAdapterInfo& info = padded.info;
    Candidate c{out.adapter, {}, info.adapterType, info.backendType};
    c.desc.vendor = to_string(info.vendor);
    c.desc.architecture = to_string(info.architecture);
    c.desc.device = to_string(info.device);
    c.desc.description = to_string(info.description);
    c.desc.backend = backend_name(info.backendType);
    c.desc.adapter_type = adapter_type_name(info.adapterType);
    c.desc.vendor_id = info.vendorID;
    c.desc.device_id = info.deviceID;
    c.desc.library = std::string(api_.library_path);
    // Releases that know subgroupMin/MaxSize fill them; older ones leave our zeroed padding.
    auto pow2 = [](uint32_t v) { return v >= 1 && v <= 1024 && (v & (v - 1)) == 0; };
    if (pow2(info.subgroupMinSize) && pow2(info.subgroupMaxSize) && info.subgroupMinSize <= info.subgroupMaxSize)
      c.subgroup_min = info.subgroupMinSize, c.subgroup_max = info.subgroupMaxSize;
    api_.wgpuAdapterInfoFreeMembers(info);
    for (auto& f : found)
      if (f.desc.device == c.desc.device && f.backend == c.backend) {
        api_.wgpuAdapterRelease(c.handle);
        return;
      }
    found.push_back(c);
  };
  request(WGPUPowerPreference_HighPerformance, false);
  request(WGPUPowerPreference_LowPower, false);
  request(WGPUPowerPreference_Undefined, true);

  std::vector<Candidate> usable;
  for (auto& c : found) {
    if (c.backend == WGPUBackendType_Null) api_.wgpuAdapterRelease(c.handle);
    else usable.push_back(c);
  }
  if (usable.empty())
    fail("no usable WebGPU adapter: ", found.empty() ? "the webgpu.h library offered none"
                                                     : "Dawn offered only its Null backend, which computes nothing",
         ". Install a Vulkan driver for your GPU and libvulkan1, or Debian's chromium package (its SwiftShader "
         "runs WebGPU on the CPU; scripts/setup installs it).");
  std::stable_sort(usable.begin(), usable.end(),
                   [](const Candidate& a, const Candidate& b) { return adapter_rank(a.type) < adapter_rank(b.type); });

  const std::string want = lower(options_.adapter);
  const Candidate* pick = nullptr;
  auto names = [&] {
    std::string s;
    for (auto& c : usable) s += cat("\n  ", c.desc.device, " (", c.desc.adapter_type, ", ", c.desc.backend, ")");
    return s;
  };
  for (auto& c : usable) {
    const bool match = want == "auto" || (want == "discrete" && c.type == WGPUAdapterType_DiscreteGPU) ||
                       (want == "integrated" && c.type == WGPUAdapterType_IntegratedGPU) ||
                       (want == "cpu" && c.type == WGPUAdapterType_CPU) ||
                       (want != "discrete" && want != "integrated" && want != "cpu" &&
                        lower(c.desc.device + " " + c.desc.description + " " + c.desc.vendor).find(want) != std::string::npos);
    if (match) {
      pick = &c;
      break;
    }
  }
  if (!pick) fail("no adapter matches --adapter '", options_.adapter, "'; available:", names());
  for (auto& c : usable)
    if (&c != pick) api_.wgpuAdapterRelease(c.handle);
  adapter_handle_ = pick->handle;
  adapter_ = pick->desc;
  features_.subgroup_min_size = pick->subgroup_min;
  features_.subgroup_max_size = pick->subgroup_max;
}

// Dawn chains WGPUAdapterPropertiesSubgroupMatrixConfigs into the adapter info. Its sType moved
// between releases, so each candidate is tried: Dawn rejects an sType it does not know (the call
// returns an error status and fills nothing), and a filled answer must look like one.
std::vector<std::string> Context::subgroup_matrix_configs() {
  // Each configuration begins (component, result, M, N, K) as uint32; newer releases append two
  // more words (seen on dawn.node 0.6.2: 7 words), so both strides are tried.
  struct Properties {
    WGPUChainedStruct chain;
    size_t count;
    const uint32_t* configs;
  };
  static const char* const kTypes[] = {"?", "f32", "f16", "u32", "i32", "u8", "i8"};
  auto type_name = [](uint32_t t) { return t < std::size(kTypes) ? kTypes[t] : "?"; };
  // A wrong sType costs a logged Dawn error each: the known one alone where there is one.
  const uint32_t known = api_.features.subgroup_matrix_configs_stype;
  for (uint32_t stype = known ? known : 0x00050030; stype <= (known ? known : 0x00050045); ++stype) {
    Properties props{};
    props.chain.sType = WGPUSType(stype);
    PaddedAdapterInfo padded{};
    padded.info.nextInChain = &props.chain;
    const uint32_t status = api_.wgpuAdapterGetInfo(adapter_handle_, &padded.info);
    if (status != 1) continue;
    padded.info.nextInChain = nullptr;
    api_.wgpuAdapterInfoFreeMembers(padded.info);  // the configs array itself stays the library's
    if (props.count == 0 || props.count > 64 || !props.configs) continue;
    // Another properties struct of the same shape (memory heaps) answers too: check the values.
    auto dim = [](uint32_t d) { return d == 8 || d == 16 || d == 32 || d == 64; };
    for (size_t words : {5, 7}) {
      std::vector<std::string> out;
      for (size_t i = 0; i < props.count; ++i) {
        const uint32_t* c = props.configs + i * words;
        if (c[0] == 0 || c[0] >= std::size(kTypes) || c[1] == 0 || c[1] >= std::size(kTypes) || !dim(c[2]) || !dim(c[3]) ||
            !dim(c[4]))
          break;
        out.push_back(cat(type_name(c[0]), "->", type_name(c[1]), " ", c[2], "x", c[3], "x", c[4]));
      }
      if (out.size() == props.count) return out;
    }
  }
  return {};
}

void Context::create_device() {
  WGPUSupportedFeatures supported{};
  api_.wgpuAdapterGetFeatures(adapter_handle_, &supported);
  for (size_t i = 0; i < supported.featureCount; ++i) features_.adapter_feature_ids.push_back(supported.features[i]);
  api_.wgpuSupportedFeaturesFreeMembers(supported);
  auto has = [&](uint32_t id) {
    return std::find(features_.adapter_feature_ids.begin(), features_.adapter_feature_ids.end(), id) !=
           features_.adapter_feature_ids.end();
  };

  const FeatureIds& ids = api_.features;
  std::vector<WGPUFeatureName> required;
  if (options_.allow_f16 && has(ids.shader_f16)) required.push_back(ids.shader_f16);
  if (options_.allow_subgroups && has(ids.subgroups)) required.push_back(ids.subgroups);
  if (has(ids.timestamp_query)) required.push_back(ids.timestamp_query);
  features_.subgroup_matrix = ids.subgroup_matrix != 0 && has(ids.subgroup_matrix);
  if (features_.subgroup_matrix) required.push_back(ids.subgroup_matrix);
  // Asked only when it may answer (each wrong sType costs Dawn a logged error).
  if (features_.subgroup_matrix || (!ids.subgroup_matrix_configs_stype && !options_.dawn_toggles.empty()))
    features_.subgroup_matrix_configs = subgroup_matrix_configs();
  const auto has_config = [&](const char* config) {
    const auto& c = features_.subgroup_matrix_configs;
    return features_.subgroup_matrix && std::find(c.begin(), c.end(), config) != c.end();
  };
  features_.subgroup_matrix_i8 = has_config("i8->i32 16x16x32");
  features_.subgroup_matrix_f16 = has_config("f16->f32 16x16x16");

  // Ask for the adapter's own limits: the library filled this very struct, tail included.
  PaddedLimits limits{};
  api_.wgpuAdapterGetLimits(adapter_handle_, &limits.limits);

  std::vector<const char*> enabled_toggles;
  std::vector<const char*> disabled_toggles;
  if (options_.benchmark_mode) {
    enabled_toggles.push_back("skip_validation");
    enabled_toggles.push_back("disable_robustness");
    disabled_toggles.push_back("lazy_clear_resource_on_first_use");
  }
  for (const std::string& t : options_.dawn_toggles) enabled_toggles.push_back(t.c_str());
  // Dawn rounds timestamps down to multiples of 65,536 ns by default (a browser's defence against
  // timing attacks, measured on the H200 this way): native profiling needs them as the GPU gives them.
  disabled_toggles.push_back("timestamp_quantization");
  WGPUDawnTogglesDescriptor toggles = toggles_descriptor(enabled_toggles, disabled_toggles);

  WGPUDeviceDescriptor desc{};
  desc.nextInChain = enabled_toggles.empty() && disabled_toggles.empty() ? nullptr : &toggles.chain;
  desc.label = sv("wgllm");
  desc.requiredFeatureCount = required.size();
  desc.requiredFeatures = required.data();
  desc.requiredLimits = &limits.limits;
  desc.defaultQueue.label = sv("wgllm queue");
  desc.deviceLostCallbackInfo.mode = WGPUCallbackMode_AllowSpontaneous;
  desc.deviceLostCallbackInfo.callback = on_device_lost;
  desc.deviceLostCallbackInfo.userdata1 = this;
  desc.uncapturedErrorCallbackInfo.callback = on_uncaptured_error;
  desc.uncapturedErrorCallbackInfo.userdata1 = this;

  struct Out {
    bool done = false;
    WGPUDevice device = nullptr;
    std::string message;
  } out;
  WGPURequestDeviceCallbackInfo cb{};
  cb.mode = WGPUCallbackMode_AllowProcessEvents;
  cb.callback = [](WGPURequestDeviceStatus status, WGPUDevice d, WGPUStringView msg, void* o, void*) {
    auto* res = static_cast<Out*>(o);
    if (status == WGPURequestDeviceStatus_Success) res->device = d;
    else res->message = to_string(msg);
    res->done = true;
  };
  cb.userdata1 = &out;
  api_.wgpuAdapterRequestDevice(adapter_handle_, &desc, cb);
  const auto start = std::chrono::steady_clock::now();
  while (!out.done && std::chrono::steady_clock::now() - start < std::chrono::seconds(60))
    api_.wgpuInstanceProcessEvents(instance_);
  if (!out.device) fail("could not create a WebGPU device on ", adapter_.device, ": ", out.message);
  device_ = out.device;
  queue_ = api_.wgpuDeviceGetQueue(device_);

  for (auto f : required) {
    if (f == ids.shader_f16) features_.shader_f16 = true;
    if (f == ids.subgroups) features_.subgroups = true;
    if (f == ids.timestamp_query) features_.timestamp_query = true;
  }
  PaddedLimits got{};
  api_.wgpuDeviceGetLimits(device_, &got.limits);
  const WGPULimits& l = got.limits;
  limits_.max_storage_buffer_binding_size = l.maxStorageBufferBindingSize;
  if (options_.max_binding_size_override)
    limits_.max_storage_buffer_binding_size = std::min(limits_.max_storage_buffer_binding_size, options_.max_binding_size_override);
  limits_.max_buffer_size = l.maxBufferSize;
  limits_.max_uniform_buffer_binding_size = l.maxUniformBufferBindingSize;
  limits_.min_uniform_buffer_offset_alignment = l.minUniformBufferOffsetAlignment;
  limits_.min_storage_buffer_offset_alignment = l.minStorageBufferOffsetAlignment;
  limits_.max_storage_buffers_per_shader_stage = l.maxStorageBuffersPerShaderStage;
  limits_.max_compute_workgroup_storage_size = l.maxComputeWorkgroupStorageSize;
  limits_.max_compute_invocations_per_workgroup = l.maxComputeInvocationsPerWorkgroup;
  limits_.max_compute_workgroup_size_x = l.maxComputeWorkgroupSizeX;
  limits_.max_compute_workgroups_per_dimension = l.maxComputeWorkgroupsPerDimension;
  if (profile_ && !features_.timestamp_query)
    std::fprintf(stderr, "wgllm: --profile needs timestamp-query, which %s lacks; profiling is off\n", adapter_.device.c_str());
  profile_ = profile_ && features_.timestamp_query;
}

void Context::on_buffer_created(uint64_t size) {
  const uint64_t now = bytes_now_ += size;
  uint64_t peak = bytes_peak_.load();
  while (now > peak && !bytes_peak_.compare_exchange_weak(peak, now)) {
  }
}

void Context::on_buffer_released(uint64_t size) { bytes_now_ -= size; }

Buffer Context::create_buffer(uint64_t size, BufferUsage usage, const std::string& label) {
  size = (std::max<uint64_t>(size, 4) + 3) & ~uint64_t(3);
  if (size > limits_.max_buffer_size)
    fail("buffer '", label, "' needs ", size, " bytes but the adapter's maxBufferSize is ", limits_.max_buffer_size);
  WGPUBufferDescriptor desc{};
  desc.label = WGPUStringView{label.data(), label.size()};
  desc.usage = usage;
  desc.size = size;
  WGPUBuffer handle = nullptr;
  const std::string oom = capture_errors([&] { handle = api_.wgpuDeviceCreateBuffer(device_, &desc); },
                                         WGPUErrorFilter_OutOfMemory);
  if (!handle || !oom.empty()) {
    if (handle) api_.wgpuBufferRelease(handle);
    fail("out of GPU memory: buffer '", label, "' of ", size, " bytes could not be allocated (",
         bytes_now_.load(), " bytes already held)", oom.empty() ? "" : ": ", oom);
  }
  on_buffer_created(size);
  return Buffer(this, handle, size, label);
}

void Context::write(const Buffer& dst, const void* data, uint64_t size, uint64_t dst_offset) {
  if (dst_offset + size > dst.size())
    fail("write of ", size, " bytes at ", dst_offset, " overflows buffer '", dst.label(), "' (", dst.size(), " bytes)");
  // writeBuffer copies into Dawn's staging memory; bounded chunks keep that staging small.
  constexpr uint64_t kChunk = 64ull << 20;
  const auto* bytes = static_cast<const uint8_t*>(data);
  for (uint64_t done = 0; done < size;) {
    uint64_t n = std::min(kChunk, size - done);
    if (n % 4 != 0 && done + n == size) {  // writeBuffer needs multiples of 4: pad the tail
      uint8_t tail[4] = {0, 0, 0, 0};
      const uint64_t whole = n & ~uint64_t(3);
      if (whole) api_.wgpuQueueWriteBuffer(queue_, dst.handle(), dst_offset + done, bytes + done, whole);
      std::memcpy(tail, bytes + done + whole, n - whole);
      api_.wgpuQueueWriteBuffer(queue_, dst.handle(), dst_offset + done + whole, tail, 4);
      break;
    }
    api_.wgpuQueueWriteBuffer(queue_, dst.handle(), dst_offset + done, bytes + done, n);
    done += n;
  }
}

void Context::read(const Buffer& src, void* out, uint64_t size, uint64_t src_offset) {
  if (src_offset + size > src.size())
    fail("read of ", size, " bytes at ", src_offset, " overflows buffer '", src.label(), "' (", src.size(), " bytes)");
  if (size == 0) return;
  const uint64_t start = src_offset & ~uint64_t(3);  // copies need 4-byte alignment
  const uint64_t span = ((src_offset + size + 3) & ~uint64_t(3)) - start;
  if (!readback_ || readback_->size() < span) {
    readback_.reset();
    readback_ = std::make_unique<Buffer>(create_buffer(std::max<uint64_t>(span, 1 << 16), kReadback, "readback"));
  }
  WGPUCommandEncoderDescriptor enc_desc{};
  WGPUCommandEncoder enc = api_.wgpuDeviceCreateCommandEncoder(device_, &enc_desc);
  api_.wgpuCommandEncoderCopyBufferToBuffer(enc, src.handle(), start, readback_->handle(), 0, span);
  WGPUCommandBufferDescriptor cb_desc{};
  WGPUCommandBuffer cmd = api_.wgpuCommandEncoderFinish(enc, &cb_desc);
  api_.wgpuQueueSubmit(queue_, 1, &cmd);
  api_.wgpuCommandBufferRelease(cmd);
  api_.wgpuCommandEncoderRelease(enc);

  read_mapped(*readback_, out, size, src_offset - start, span, src.label());
}

void Context::read_mapped(const Buffer& mappable, void* out, uint64_t size) {
  read_mapped(mappable, out, size, 0, (size + 3) & ~uint64_t(3), mappable.label());
}

void Context::read_mapped(const Buffer& mappable, void* out, uint64_t size, uint64_t offset, uint64_t span,
                          const std::string& what) {
  struct Out {
    bool done = false;
    bool ok = false;
    std::string message;
  } res;
  WGPUBufferMapCallbackInfo cb{};
  cb.mode = WGPUCallbackMode_AllowProcessEvents;
  cb.callback = [](WGPUMapAsyncStatus status, WGPUStringView msg, void* o, void*) {
    auto* r = static_cast<Out*>(o);
    r->ok = status == WGPUMapAsyncStatus_Success;
    r->message = to_string(msg);
    r->done = true;
  };
  cb.userdata1 = &res;
  api_.wgpuBufferMapAsync(mappable.handle(), WGPUMapMode_Read, 0, size_t(span), cb);
  try {
    wait_until([&] { return res.done; }, cat("reading buffer '", what, "'").c_str());
  } catch (...) {
    if (res.done && res.ok) api_.wgpuBufferUnmap(mappable.handle());  // keep the buffer usable
    throw;
  }
  if (!res.ok) fail("could not read buffer '", what, "' back from the GPU: ", res.message);
  const void* mapped = api_.wgpuBufferGetConstMappedRange(mappable.handle(), 0, size_t(span));
  if (!mapped) {
    api_.wgpuBufferUnmap(mappable.handle());
    fail("could not map the readback of buffer '", what, "'");
  }
  std::memcpy(out, static_cast<const uint8_t*>(mapped) + offset, size);
  api_.wgpuBufferUnmap(mappable.handle());
}

void Context::finish() {
  // Reading one word back orders after all submitted work and surfaces errors.
  Buffer probe = create_buffer(4, kStorage, "finish-probe");
  uint32_t word = 0;
  read(probe, &word, 4);
}

}  // namespace wgllm::gpu
