// The subset of the standard webgpu.h C API (2025 layout) that wgllm uses, declared by us: no
// registry ships a header matching the Dawn build we load. Everything here was checked against
// that library by using it for real (gpu tests). Functions are not linked: they are resolved at
// run time from a webgpu.h library (Dawn by default; see webgpu_library.h), so the user can point
// wgllm at another implementation by path.
//
// Where releases of webgpu.h disagree on a struct's tail (WGPULimits, WGPUAdapterInfo gained
// fields during 2025), the library writes into structs we over-allocate (see `Padded` below) and
// we read only the fields whose position never moved.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>



typedef uint64_t WGPUFlags;
typedef uint32_t WGPUBool;

typedef struct WGPUAdapterImpl* WGPUAdapter;
typedef struct WGPUBindGroupImpl* WGPUBindGroup;
typedef struct WGPUBindGroupLayoutImpl* WGPUBindGroupLayout;
typedef struct WGPUBufferImpl* WGPUBuffer;
typedef struct WGPUCommandBufferImpl* WGPUCommandBuffer;
typedef struct WGPUCommandEncoderImpl* WGPUCommandEncoder;
typedef struct WGPUComputePassEncoderImpl* WGPUComputePassEncoder;
typedef struct WGPUComputePipelineImpl* WGPUComputePipeline;
typedef struct WGPUDeviceImpl* WGPUDevice;
typedef struct WGPUInstanceImpl* WGPUInstance;
typedef struct WGPUPipelineLayoutImpl* WGPUPipelineLayout;
typedef struct WGPUQuerySetImpl* WGPUQuerySet;
typedef struct WGPUQueueImpl* WGPUQueue;
typedef struct WGPUShaderModuleImpl* WGPUShaderModule;

#define WGPU_STRLEN SIZE_MAX
#define WGPU_WHOLE_SIZE UINT64_MAX
#define WGPU_WHOLE_MAP_SIZE SIZE_MAX
#define WGPU_QUERY_SET_INDEX_UNDEFINED UINT32_MAX

struct WGPUStringView {
  const char* data;
  size_t length;  // WGPU_STRLEN: null-terminated
};

enum WGPUAdapterType : uint32_t {
  WGPUAdapterType_DiscreteGPU = 1,
  WGPUAdapterType_IntegratedGPU = 2,
  WGPUAdapterType_CPU = 3,
  WGPUAdapterType_Unknown = 4,
};
enum WGPUBackendType : uint32_t {
  WGPUBackendType_Undefined = 0,
  WGPUBackendType_Null = 1,
  WGPUBackendType_WebGPU = 2,
  WGPUBackendType_D3D11 = 3,
  WGPUBackendType_D3D12 = 4,
  WGPUBackendType_Metal = 5,
  WGPUBackendType_Vulkan = 6,
  WGPUBackendType_OpenGL = 7,
  WGPUBackendType_OpenGLES = 8,
};
enum WGPUCallbackMode : uint32_t {
  WGPUCallbackMode_WaitAnyOnly = 1,
  WGPUCallbackMode_AllowProcessEvents = 2,
  WGPUCallbackMode_AllowSpontaneous = 3,
};
enum WGPUFeatureLevel : uint32_t { WGPUFeatureLevel_Undefined = 0, WGPUFeatureLevel_Compatibility = 1, WGPUFeatureLevel_Core = 2 };
enum WGPUPowerPreference : uint32_t {
  WGPUPowerPreference_Undefined = 0,
  WGPUPowerPreference_LowPower = 1,
  WGPUPowerPreference_HighPerformance = 2,
};
// Feature ids were renumbered in 2025: the Dawn build scripts/setup installs (like other
// releases that still export wgpuGetInstanceCapabilities) uses the earlier numbering; releases
// that export wgpuGetInstanceFeatures use the later one. load_webgpu() picks the table.
using WGPUFeatureName = uint32_t;
struct FeatureIds {
  WGPUFeatureName timestamp_query, shader_f16, subgroups, subgroup_matrix;
  // sType of WGPUAdapterPropertiesSubgroupMatrixConfigs where known; 0 = try the candidates.
  uint32_t subgroup_matrix_configs_stype = 0;
};
constexpr FeatureIds kFeatureIdsEarly2025{0x03, 0x0A, 0x11, 0x00050038};
// Subgroup-matrix (a Dawn extension) as numbered by the Dawn of npm webgpu 0.6.2 (dawn.node),
// checked by Dawn's own message when a device asks for it ("Feature chromium-experimental-
// subgroup-matrix is guarded by toggle allow_unsafe_apis"). Dawn extension ids shift between
// releases; a wrong id cannot pass unnoticed: the matrix kernels' shaders name the extension
// and fail to compile on a device created without it.
constexpr FeatureIds kFeatureIdsLate2025{0x09, 0x0B, 0x12, 0x00050034, 0x0005003B};
enum WGPUErrorType : uint32_t {
  WGPUErrorType_NoError = 1,
  WGPUErrorType_Validation = 2,
  WGPUErrorType_OutOfMemory = 3,
  WGPUErrorType_Internal = 4,
  WGPUErrorType_Unknown = 5,
};
enum WGPUErrorFilter : uint32_t { WGPUErrorFilter_Validation = 1, WGPUErrorFilter_OutOfMemory = 2, WGPUErrorFilter_Internal = 3 };
enum WGPUDeviceLostReason : uint32_t {
  WGPUDeviceLostReason_Unknown = 1,
  WGPUDeviceLostReason_Destroyed = 2,
  WGPUDeviceLostReason_CallbackCancelled = 3,
  WGPUDeviceLostReason_FailedCreation = 4,
};
enum WGPURequestAdapterStatus : uint32_t { WGPURequestAdapterStatus_Success = 1 };
enum WGPURequestDeviceStatus : uint32_t { WGPURequestDeviceStatus_Success = 1 };
enum WGPUMapAsyncStatus : uint32_t { WGPUMapAsyncStatus_Success = 1 };
enum WGPUPopErrorScopeStatus : uint32_t { WGPUPopErrorScopeStatus_Success = 1 };
enum WGPUQueryType : uint32_t { WGPUQueryType_Occlusion = 1, WGPUQueryType_Timestamp = 2 };
enum WGPUSType : uint32_t {
  WGPUSType_ShaderSourceWGSL = 0x02,
  WGPUSType_DawnTogglesDescriptor = 0x0005000A,
};

typedef WGPUFlags WGPUBufferUsage;
static const WGPUBufferUsage WGPUBufferUsage_MapRead = 0x1;
static const WGPUBufferUsage WGPUBufferUsage_MapWrite = 0x2;
static const WGPUBufferUsage WGPUBufferUsage_CopySrc = 0x4;
static const WGPUBufferUsage WGPUBufferUsage_CopyDst = 0x8;
static const WGPUBufferUsage WGPUBufferUsage_Uniform = 0x40;
static const WGPUBufferUsage WGPUBufferUsage_Storage = 0x80;
static const WGPUBufferUsage WGPUBufferUsage_QueryResolve = 0x200;
typedef WGPUFlags WGPUMapMode;
static const WGPUMapMode WGPUMapMode_Read = 0x1;

struct WGPUChainedStruct {
  WGPUChainedStruct* next;
  WGPUSType sType;
};

struct WGPUFuture {
  uint64_t id;
};

typedef void (*WGPURequestAdapterCallback)(WGPURequestAdapterStatus status, WGPUAdapter adapter,
                                           WGPUStringView message, void* userdata1, void* userdata2);
typedef void (*WGPURequestDeviceCallback)(WGPURequestDeviceStatus status, WGPUDevice device,
                                          WGPUStringView message, void* userdata1, void* userdata2);
typedef void (*WGPUDeviceLostCallback)(const WGPUDevice* device, WGPUDeviceLostReason reason,
                                       WGPUStringView message, void* userdata1, void* userdata2);
typedef void (*WGPUUncapturedErrorCallback)(const WGPUDevice* device, WGPUErrorType type,
                                            WGPUStringView message, void* userdata1, void* userdata2);
typedef void (*WGPUBufferMapCallback)(WGPUMapAsyncStatus status, WGPUStringView message,
                                      void* userdata1, void* userdata2);
typedef void (*WGPUPopErrorScopeCallback)(WGPUPopErrorScopeStatus status, WGPUErrorType type,
                                          WGPUStringView message, void* userdata1, void* userdata2);

// All *CallbackInfo structs share one layout: {next, mode, callback, userdata1, userdata2}.
template <typename Callback>
struct WGPUCallbackInfoT {
  WGPUChainedStruct* nextInChain;
  WGPUCallbackMode mode;
  Callback callback;
  void* userdata1;
  void* userdata2;
};
using WGPURequestAdapterCallbackInfo = WGPUCallbackInfoT<WGPURequestAdapterCallback>;
using WGPURequestDeviceCallbackInfo = WGPUCallbackInfoT<WGPURequestDeviceCallback>;
using WGPUDeviceLostCallbackInfo = WGPUCallbackInfoT<WGPUDeviceLostCallback>;
using WGPUBufferMapCallbackInfo = WGPUCallbackInfoT<WGPUBufferMapCallback>;
using WGPUPopErrorScopeCallbackInfo = WGPUCallbackInfoT<WGPUPopErrorScopeCallback>;
// The uncaptured-error callback info has no mode field.
struct WGPUUncapturedErrorCallbackInfo {
  WGPUChainedStruct* nextInChain;
  WGPUUncapturedErrorCallback callback;
  void* userdata1;
  void* userdata2;
};

struct WGPURequestAdapterOptions {
  WGPUChainedStruct* nextInChain;
  WGPUFeatureLevel featureLevel;
  WGPUPowerPreference powerPreference;
  WGPUBool forceFallbackAdapter;
  WGPUBackendType backendType;
  void* compatibleSurface;
};

// Written by the library: fields up to deviceID are stable across 2025 releases; newer releases
// append subgroupMinSize/subgroupMaxSize, so the struct is over-allocated (see Padded).
struct WGPUAdapterInfo {
  WGPUChainedStruct* nextInChain;
  WGPUStringView vendor;
  WGPUStringView architecture;
  WGPUStringView device;
  WGPUStringView description;
  WGPUBackendType backendType;
  WGPUAdapterType adapterType;
  uint32_t vendorID;
  uint32_t deviceID;
  uint32_t subgroupMinSize;  // only in newer releases: validated before use
  uint32_t subgroupMaxSize;
};

// The stable prefix of WGPULimits; releases append fields (maxImmediateSize, ...), so the library
// fills a padded copy and the device is requested with that very copy.
struct WGPULimits {
  WGPUChainedStruct* nextInChain;
  uint32_t maxTextureDimension1D;
  uint32_t maxTextureDimension2D;
  uint32_t maxTextureDimension3D;
  uint32_t maxTextureArrayLayers;
  uint32_t maxBindGroups;
  uint32_t maxBindGroupsPlusVertexBuffers;
  uint32_t maxBindingsPerBindGroup;
  uint32_t maxDynamicUniformBuffersPerPipelineLayout;
  uint32_t maxDynamicStorageBuffersPerPipelineLayout;
  uint32_t maxSampledTexturesPerShaderStage;
  uint32_t maxSamplersPerShaderStage;
  uint32_t maxStorageBuffersPerShaderStage;
  uint32_t maxStorageTexturesPerShaderStage;
  uint32_t maxUniformBuffersPerShaderStage;
  uint64_t maxUniformBufferBindingSize;
  uint64_t maxStorageBufferBindingSize;
  uint32_t minUniformBufferOffsetAlignment;
  uint32_t minStorageBufferOffsetAlignment;
  uint32_t maxVertexBuffers;
  uint64_t maxBufferSize;
  uint32_t maxVertexAttributes;
  uint32_t maxVertexBufferArrayStride;
  uint32_t maxInterStageShaderVariables;
  uint32_t maxColorAttachments;
  uint32_t maxColorAttachmentBytesPerSample;
  uint32_t maxComputeWorkgroupStorageSize;
  uint32_t maxComputeInvocationsPerWorkgroup;
  uint32_t maxComputeWorkgroupSizeX;
  uint32_t maxComputeWorkgroupSizeY;
  uint32_t maxComputeWorkgroupSizeZ;
  uint32_t maxComputeWorkgroupsPerDimension;
};

struct WGPUSupportedFeatures {
  size_t featureCount;
  const WGPUFeatureName* features;
};

struct WGPUQueueDescriptor {
  WGPUChainedStruct* nextInChain;
  WGPUStringView label;
};

struct WGPUDeviceDescriptor {
  WGPUChainedStruct* nextInChain;
  WGPUStringView label;
  size_t requiredFeatureCount;
  const WGPUFeatureName* requiredFeatures;
  const WGPULimits* requiredLimits;
  WGPUQueueDescriptor defaultQueue;
  WGPUDeviceLostCallbackInfo deviceLostCallbackInfo;
  WGPUUncapturedErrorCallbackInfo uncapturedErrorCallbackInfo;
};

struct WGPUDawnTogglesDescriptor {
  WGPUChainedStruct chain;
  size_t enabledToggleCount;
  const char* const* enabledToggles;
  size_t disabledToggleCount;
  const char* const* disabledToggles;
};

struct WGPUBufferDescriptor {
  WGPUChainedStruct* nextInChain;
  WGPUStringView label;
  WGPUBufferUsage usage;
  uint64_t size;
  WGPUBool mappedAtCreation;
};

struct WGPUShaderSourceWGSL {
  WGPUChainedStruct chain;
  WGPUStringView code;
};
struct WGPUShaderModuleDescriptor {
  WGPUChainedStruct* nextInChain;
  WGPUStringView label;
};

struct WGPUConstantEntry {
  WGPUChainedStruct* nextInChain;
  WGPUStringView key;
  double value;
};
struct WGPUComputeState {
  WGPUChainedStruct* nextInChain;
  WGPUShaderModule module;
  WGPUStringView entryPoint;
  size_t constantCount;
  const WGPUConstantEntry* constants;
};
struct WGPUComputePipelineDescriptor {
  WGPUChainedStruct* nextInChain;
  WGPUStringView label;
  WGPUPipelineLayout layout;  // null: layout derived from the shader
  WGPUComputeState compute;
};

struct WGPUBindGroupEntry {
  WGPUChainedStruct* nextInChain;
  uint32_t binding;
  WGPUBuffer buffer;
  uint64_t offset;
  uint64_t size;
  void* sampler;
  void* textureView;
};
struct WGPUBindGroupDescriptor {
  WGPUChainedStruct* nextInChain;
  WGPUStringView label;
  WGPUBindGroupLayout layout;
  size_t entryCount;
  const WGPUBindGroupEntry* entries;
};

struct WGPUCommandEncoderDescriptor {
  WGPUChainedStruct* nextInChain;
  WGPUStringView label;
};
struct WGPUCommandBufferDescriptor {
  WGPUChainedStruct* nextInChain;
  WGPUStringView label;
};
struct WGPUPassTimestampWrites {
  WGPUChainedStruct* nextInChain;
  WGPUQuerySet querySet;
  uint32_t beginningOfPassWriteIndex;
  uint32_t endOfPassWriteIndex;
};
struct WGPUComputePassDescriptor {
  WGPUChainedStruct* nextInChain;
  WGPUStringView label;
  const WGPUPassTimestampWrites* timestampWrites;
};
struct WGPUQuerySetDescriptor {
  WGPUChainedStruct* nextInChain;
  WGPUStringView label;
  WGPUQueryType type;
  uint32_t count;
};



// The functions wgllm calls, as one X-macro list: name, return type, parameter list.
#define WGLLM_WEBGPU_FUNCTIONS(X)                                                                  \
  X(wgpuCreateInstance, WGPUInstance, (const void* descriptor))                                    \
  X(wgpuInstanceRequestAdapter, WGPUFuture,                                                        \
    (WGPUInstance, const WGPURequestAdapterOptions*, WGPURequestAdapterCallbackInfo))              \
  X(wgpuInstanceProcessEvents, void, (WGPUInstance))                                               \
  X(wgpuInstanceRelease, void, (WGPUInstance))                                                     \
  X(wgpuAdapterGetInfo, uint32_t, (WGPUAdapter, WGPUAdapterInfo*))                                 \
  X(wgpuAdapterInfoFreeMembers, void, (WGPUAdapterInfo))                                           \
  X(wgpuAdapterGetLimits, uint32_t, (WGPUAdapter, WGPULimits*))                                    \
  X(wgpuAdapterGetFeatures, void, (WGPUAdapter, WGPUSupportedFeatures*))                           \
  X(wgpuSupportedFeaturesFreeMembers, void, (WGPUSupportedFeatures))                               \
  X(wgpuAdapterHasFeature, WGPUBool, (WGPUAdapter, WGPUFeatureName))                               \
  X(wgpuAdapterRequestDevice, WGPUFuture,                                                          \
    (WGPUAdapter, const WGPUDeviceDescriptor*, WGPURequestDeviceCallbackInfo))                     \
  X(wgpuAdapterRelease, void, (WGPUAdapter))                                                       \
  X(wgpuDeviceGetLimits, uint32_t, (WGPUDevice, WGPULimits*))                                      \
  X(wgpuDeviceGetQueue, WGPUQueue, (WGPUDevice))                                                   \
  X(wgpuDeviceCreateBuffer, WGPUBuffer, (WGPUDevice, const WGPUBufferDescriptor*))                 \
  X(wgpuDeviceCreateShaderModule, WGPUShaderModule, (WGPUDevice, const WGPUShaderModuleDescriptor*)) \
  X(wgpuDeviceCreateComputePipeline, WGPUComputePipeline,                                          \
    (WGPUDevice, const WGPUComputePipelineDescriptor*))                                            \
  X(wgpuDeviceCreateBindGroup, WGPUBindGroup, (WGPUDevice, const WGPUBindGroupDescriptor*))        \
  X(wgpuDeviceCreateCommandEncoder, WGPUCommandEncoder,                                            \
    (WGPUDevice, const WGPUCommandEncoderDescriptor*))                                             \
  X(wgpuDeviceCreateQuerySet, WGPUQuerySet, (WGPUDevice, const WGPUQuerySetDescriptor*))           \
  X(wgpuDevicePushErrorScope, void, (WGPUDevice, WGPUErrorFilter))                                 \
  X(wgpuDevicePopErrorScope, WGPUFuture, (WGPUDevice, WGPUPopErrorScopeCallbackInfo))              \
  X(wgpuDeviceDestroy, void, (WGPUDevice))                                                         \
  X(wgpuDeviceRelease, void, (WGPUDevice))                                                         \
  X(wgpuQueueSubmit, void, (WGPUQueue, size_t, const WGPUCommandBuffer*))                          \
  X(wgpuQueueWriteBuffer, void, (WGPUQueue, WGPUBuffer, uint64_t, const void*, size_t))            \
  X(wgpuQueueRelease, void, (WGPUQueue))                                                           \
  X(wgpuBufferMapAsync, WGPUFuture,                                                                \
    (WGPUBuffer, WGPUMapMode, size_t, size_t, WGPUBufferMapCallbackInfo))                          \
  X(wgpuBufferGetConstMappedRange, const void*, (WGPUBuffer, size_t, size_t))                      \
  X(wgpuBufferUnmap, void, (WGPUBuffer))                                                           \
  X(wgpuBufferDestroy, void, (WGPUBuffer))                                                         \
  X(wgpuBufferRelease, void, (WGPUBuffer))                                                         \
  X(wgpuShaderModuleRelease, void, (WGPUShaderModule))                                             \
  X(wgpuComputePipelineGetBindGroupLayout, WGPUBindGroupLayout, (WGPUComputePipeline, uint32_t))   \
  X(wgpuComputePipelineRelease, void, (WGPUComputePipeline))                                       \
  X(wgpuBindGroupLayoutRelease, void, (WGPUBindGroupLayout))                                       \
  X(wgpuBindGroupRelease, void, (WGPUBindGroup))                                                   \
  X(wgpuCommandEncoderBeginComputePass, WGPUComputePassEncoder,                                    \
    (WGPUCommandEncoder, const WGPUComputePassDescriptor*))                                        \
  X(wgpuCommandEncoderCopyBufferToBuffer, void,                                                    \
    (WGPUCommandEncoder, WGPUBuffer, uint64_t, WGPUBuffer, uint64_t, uint64_t))                    \
  X(wgpuCommandEncoderResolveQuerySet, void,                                                       \
    (WGPUCommandEncoder, WGPUQuerySet, uint32_t, uint32_t, WGPUBuffer, uint64_t))                  \
  X(wgpuCommandEncoderFinish, WGPUCommandBuffer, (WGPUCommandEncoder, const WGPUCommandBufferDescriptor*)) \
  X(wgpuCommandEncoderRelease, void, (WGPUCommandEncoder))                                         \
  X(wgpuCommandBufferRelease, void, (WGPUCommandBuffer))                                           \
  X(wgpuComputePassEncoderSetPipeline, void, (WGPUComputePassEncoder, WGPUComputePipeline))        \
  X(wgpuComputePassEncoderSetBindGroup, void,                                                      \
    (WGPUComputePassEncoder, uint32_t, WGPUBindGroup, size_t, const uint32_t*))                    \
  X(wgpuComputePassEncoderDispatchWorkgroups, void, (WGPUComputePassEncoder, uint32_t, uint32_t, uint32_t)) \
  X(wgpuComputePassEncoderEnd, void, (WGPUComputePassEncoder))                                     \
  X(wgpuComputePassEncoderRelease, void, (WGPUComputePassEncoder))                                 \
  X(wgpuQuerySetRelease, void, (WGPUQuerySet))

namespace wgllm::gpu {

// One pointer per function in WGLLM_WEBGPU_FUNCTIONS, filled by load_webgpu().
struct WebGpuApi {
#define WGLLM_DECLARE_FN(name, ret, params) ret(*name) params = nullptr;
  WGLLM_WEBGPU_FUNCTIONS(WGLLM_DECLARE_FN)
#undef WGLLM_DECLARE_FN
  std::string_view library_path;
  FeatureIds features = kFeatureIdsEarly2025;  // this library's feature numbering
};

// Loads the webgpu.h library once per process. Search order: `explicit_path` (from --webgpu-lib),
// $WGLLM_WEBGPU_LIB, the Dawn that scripts/setup installs (third_party/dawn), then the system's
// libwebgpu_dawn.so / libwgpu_native.so. Raises an Error listing what was tried.
const WebGpuApi& load_webgpu(const std::string& explicit_path = "");

// Whether a library path names a Node addon (npm webgpu's dawn.node): loaded with Node-API
// stand-ins, and asked for the Dawn toggles that unlock its f16 (gpu::Context).
inline bool is_node_addon(std::string_view path) {
  return path.size() > 5 && path.substr(path.size() - 5) == ".node";
}

// Convenience: an owned-or-literal string as a WGPUStringView.
inline WGPUStringView sv(const char* s) { return WGPUStringView{s, WGPU_STRLEN}; }
inline std::string to_string(WGPUStringView v) {
  if (!v.data) return {};
  return v.length == WGPU_STRLEN ? std::string(v.data) : std::string(v.data, v.length);
}

}  // namespace wgllm::gpu
