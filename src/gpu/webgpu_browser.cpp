// The browser's provider of the webgpu.h table (Emscripten builds; webgpu_library.cpp is the
// native one). Each entry is a small C++ function that flattens the C structs and crosses once
// into JavaScript's navigator.gpu (webgpu_browser.js holds the objects; handles are table ids),
// so Context, Recorder, kernels and runtime compile unchanged.
//
// Asynchronous entry points return an operation id as their WGPUFuture; ProcessEvents awaits the
// pending promises (EM_ASYNC_JS, i.e. ASYNCIFY) and then fires the callbacks in C++, as
// WGPUCallbackMode_AllowProcessEvents promises. Device errors and losses are queued by JavaScript
// and delivered there too.
#include <emscripten.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "gpu/webgpu_api.h"

namespace wgllm::gpu {
namespace {

template <typename H>
int id_of(H handle) { return int(reinterpret_cast<uintptr_t>(handle)); }
template <typename H>
H handle_of(int id) { return reinterpret_cast<H>(uintptr_t(id)); }
int sv_len(WGPUStringView v) { return v.length == WGPU_STRLEN ? -1 : int(v.length); }
WGPUStringView owned_sv(char* s) { return WGPUStringView{s, s ? std::strlen(s) : 0}; }

// Callbacks waiting for their operation (id = the WGPUFuture), fired by ProcessEvents.
struct OpResult {
  int status, handle, type;
  char* message;  // malloc'd by JavaScript
};
std::map<int, std::function<void(const OpResult&)>> g_waiting;
struct DeviceCallbacks {
  WGPUDeviceLostCallbackInfo lost;
  WGPUUncapturedErrorCallbackInfo error;
};
std::map<int, DeviceCallbacks> g_devices;
std::map<int, void*> g_mapped;  // buffer id -> heap copy of its mapped range

}  // namespace
}  // namespace wgllm::gpu

// ---- JavaScript side: one function per crossing ----------------------------------------------

EM_JS(int, wgb_has_gpu, (), { return typeof navigator !== 'undefined' && !!navigator.gpu ? 1 : 0; });

EM_JS(int, wgb_request_adapter, (int power, int fallback), {
  const opts = {forceFallbackAdapter: !!fallback};
  if (power === 1) opts.powerPreference = 'low-power';
  if (power === 2) opts.powerPreference = 'high-performance';
  if (!navigator.gpu) return WG.start(Promise.resolve({status: 0, message: 'navigator.gpu is missing'}));
  return WG.start(navigator.gpu.requestAdapter(opts).then(a => a ? {status: 1, handle: WG.add(a)}
                                                                  : {status: 0, message: 'no adapter'}));
});

EM_JS(int, wgb_has_pending, (), { return WG.completed.length > 0 || WG.events.length > 0 || WG.pending().length > 0 ? 1 : 0; });

// Waits until an operation settles (or a device event arrives); returns at once when one has.
EM_ASYNC_JS(void, wgb_wait_any, (), {
  if (WG.completed.length || WG.events.length) return;
  const pending = WG.pending();
  if (pending.length) await Promise.race(pending);
  else await new Promise(r => setTimeout(r, 0));
});

// The next settled operation: its id, with status/handle/type/message written to out[0..3].
EM_JS(int, wgb_next_completed, (int* out), {
  if (!WG.completed.length) return 0;
  const id = WG.completed.shift();
  const op = WG.ops.get(id);
  WG.ops.delete(id);
  HEAP32[out >> 2] = op.status;
  HEAP32[(out >> 2) + 1] = op.handle;
  HEAP32[(out >> 2) + 2] = op.type;
  HEAP32[(out >> 2) + 3] = op.message ? allocateUTF8(op.message) : 0;
  return id;
});

// The next device event: device id, with lost/type-or-reason/message written to out[0..2].
EM_JS(int, wgb_next_event, (int* out), {
  if (!WG.events.length) return 0;
  const e = WG.events.shift();
  HEAP32[out >> 2] = e.lost ? 1 : 0;
  HEAP32[(out >> 2) + 1] = e.lost ? e.reason : e.type;
  HEAP32[(out >> 2) + 2] = allocateUTF8(e.message);
  return e.device;
});

// Adapter info strings as malloc'd C strings in out[0..3] (vendor, architecture, device,
// description); returns isFallbackAdapter; out[4], out[5]: subgroup min/max sizes (0 if unknown).
EM_JS(int, wgb_adapter_info, (int adapter, int* out), {
  const a = WG.get(adapter);
  const info = a.info || {};
  const device = info.device || info.description || [info.vendor, info.architecture].filter(s => s).join(' ') || 'WebGPU adapter';
  const strs = [info.vendor || "", info.architecture || "", device, info.description || ""];
  for (let i = 0; i < 4; i++) HEAP32[(out >> 2) + i] = allocateUTF8(strs[i]);
  HEAP32[(out >> 2) + 4] = info.subgroupMinSize || 0;
  HEAP32[(out >> 2) + 5] = info.subgroupMaxSize || 0;
  return (info.isFallbackAdapter || a.isFallbackAdapter) ? 1 : 0;
});

// Limits of an adapter (is_device 0) or device (1) as doubles, in WG.limitNames order.
EM_JS(void, wgb_limits, (int obj, double* out), {
  const l = WG.get(obj).limits;
  WG.limitNames.forEach((name, i) => { HEAPF64[(out >> 3) + i] = l[name] === undefined ? 0 : Number(l[name]); });
});

// Feature ids the adapter offers (of those wgllm knows), written to out; returns their count.
EM_JS(int, wgb_features, (int adapter, int* out), {
  const f = WG.get(adapter).features;
  let n = 0;
  // (no destructuring here: Emscripten 3.1.6's JS minifier mangles it)
  for (const id in WG.features)
    if (f.has(WG.features[id])) HEAP32[(out >> 2) + n++] = Number(id);
  return n;
});

EM_JS(int, wgb_request_device, (int adapter, const int* features, int n_features, const double* limits), {
  const a = WG.get(adapter);
  const requiredFeatures = [];
  for (let i = 0; i < n_features; i++) {
    const name = WG.features[HEAP32[(features >> 2) + i]];
    if (name) requiredFeatures.push(name);
  }
  const requiredLimits = {};
  WG.limitNames.forEach((name, i) => {
    const v = HEAPF64[(limits >> 3) + i];
    if (v > 0 && a.limits[name] !== undefined) requiredLimits[name] = v;
  });
  return WG.start(a.requestDevice({requiredFeatures, requiredLimits}).then(d => {
    const id = WG.add(d);
    WG.watchDevice(d, id);
    return {status: 1, handle: id};
  }));
});

EM_JS(int, wgb_device_queue, (int device), { return WG.add(WG.get(device).queue); });
EM_JS(void, wgb_release, (int id), { WG.release(id); });
EM_JS(void, wgb_destroy, (int id), {
  const o = WG.get(id);
  if (o && o.destroy) o.destroy();
});

EM_JS(int, wgb_create_buffer, (int device, double size, double usage, int mapped, const char* label, int label_len), {
  try {
    return WG.add(WG.get(device).createBuffer({size, usage, mappedAtCreation: !!mapped, label: WG.str(label, label_len)}));
  } catch (e) {
    return 0;  // e.g. RangeError for a size the browser refuses outright
  }
});

EM_JS(int, wgb_create_shader, (int device, const char* code, int code_len, const char* label, int label_len), {
  return WG.add(WG.get(device).createShaderModule({code: WG.str(code, code_len), label: WG.str(label, label_len)}));
});

// constants: n entries of (key pointer, key length, value) as doubles.
EM_JS(int, wgb_create_pipeline, (int device, int layout, int module, const char* entry, int entry_len,
                                 const double* constants, int n_constants, const char* label, int label_len), {
  const c = {};
  for (let i = 0; i < n_constants; i++) {
    const base = (constants >> 3) + 3 * i;
    c[WG.str(HEAPF64[base], HEAPF64[base + 1])] = HEAPF64[base + 2];
  }
  return WG.add(WG.get(device).createComputePipeline({
    label: WG.str(label, label_len),
    layout: layout ? WG.get(layout) : 'auto',
    compute: {module: WG.get(module), entryPoint: WG.str(entry, entry_len), constants: c},
  }));
});

// entries: n x (binding, buffer id, offset, size; size < 0 = whole) as doubles.
EM_JS(int, wgb_create_bind_group, (int device, int layout, const double* entries, int n, const char* label, int label_len), {
  const list = [];
  for (let i = 0; i < n; i++) {
    const b = (entries >> 3) + 4 * i;
    const resource = {buffer: WG.get(HEAPF64[b + 1]), offset: HEAPF64[b + 2]};
    if (HEAPF64[b + 3] >= 0) resource.size = HEAPF64[b + 3];
    list.push({binding: HEAPF64[b], resource});
  }
  return WG.add(WG.get(device).createBindGroup({layout: WG.get(layout), entries: list, label: WG.str(label, label_len)}));
});

EM_JS(int, wgb_create_encoder, (int device), { return WG.add(WG.get(device).createCommandEncoder()); });
EM_JS(int, wgb_create_query_set, (int device, int type, int count), {
  return WG.add(WG.get(device).createQuerySet({type: type === 2 ? 'timestamp' : 'occlusion', count}));
});
EM_JS(void, wgb_push_error_scope, (int device, int filter), {
  WG.get(device).pushErrorScope(filter === 2 ? 'out-of-memory' : filter === 3 ? 'internal' : 'validation');
});
EM_JS(int, wgb_pop_error_scope, (int device), {
  return WG.start(WG.get(device).popErrorScope().then(err => ({status: 1, type: WG.errorType(err), message: err ? err.message : ""})));
});

EM_JS(void, wgb_submit, (int queue, const int* ids, int n), {
  const list = [];
  for (let i = 0; i < n; i++) list.push(WG.get(HEAP32[(ids >> 2) + i]));
  WG.get(queue).submit(list);
});
EM_JS(void, wgb_write_buffer, (int queue, int buffer, double offset, const void* data, int size), {
  WG.get(queue).writeBuffer(WG.get(buffer), offset, HEAPU8, data, size);
});
EM_JS(int, wgb_map_read, (int buffer, double offset, double size), {
  return WG.start(WG.get(buffer).mapAsync(GPUMapMode.READ, offset, size).then(() => ({status: 1})));
});
EM_JS(void, wgb_copy_mapped, (int buffer, double offset, double size, void* out), {
  HEAPU8.set(new Uint8Array(WG.get(buffer).getMappedRange(offset, size)), out);
});
EM_JS(void, wgb_unmap, (int buffer), { WG.get(buffer).unmap(); });
EM_JS(int, wgb_bind_group_layout, (int pipeline, int index), { return WG.add(WG.get(pipeline).getBindGroupLayout(index)); });

EM_JS(int, wgb_begin_pass, (int encoder, int query_set, int begin, int end), {
  const desc = {};
  if (query_set) {
    desc.timestampWrites = {querySet: WG.get(query_set)};
    if (begin >= 0) desc.timestampWrites.beginningOfPassWriteIndex = begin;
    if (end >= 0) desc.timestampWrites.endOfPassWriteIndex = end;
  }
  return WG.add(WG.get(encoder).beginComputePass(desc));
});
EM_JS(void, wgb_copy_buffer, (int encoder, int src, double src_offset, int dst, double dst_offset, double size), {
  WG.get(encoder).copyBufferToBuffer(WG.get(src), src_offset, WG.get(dst), dst_offset, size);
});
EM_JS(void, wgb_resolve_queries, (int encoder, int set, int first, int count, int dst, double offset), {
  WG.get(encoder).resolveQuerySet(WG.get(set), first, count, WG.get(dst), offset);
});
EM_JS(int, wgb_finish, (int encoder), { return WG.add(WG.get(encoder).finish()); });
EM_JS(void, wgb_set_pipeline, (int pass, int pipeline), { WG.get(pass).setPipeline(WG.get(pipeline)); });
EM_JS(void, wgb_set_bind_group, (int pass, int index, int group), { WG.get(pass).setBindGroup(index, WG.get(group)); });
EM_JS(void, wgb_dispatch, (int pass, int x, int y, int z), { WG.get(pass).dispatchWorkgroups(x, y, z); });
EM_JS(void, wgb_end_pass, (int pass), { WG.get(pass).end(); });

// ---- the webgpu.h entry points ---------------------------------------------------------------

namespace wgllm::gpu {
namespace {

WGPUFuture wait_for(int op, std::function<void(const OpResult&)> fire) {
  g_waiting[op] = std::move(fire);
  return WGPUFuture{uint64_t(op)};
}

WGPUInstance b_create_instance(const void*) { return handle_of<WGPUInstance>(1); }  // no state

WGPUFuture b_request_adapter(WGPUInstance, const WGPURequestAdapterOptions* o, WGPURequestAdapterCallbackInfo cb) {
  const int op = wgb_request_adapter(o ? int(o->powerPreference) : 0, o ? int(o->forceFallbackAdapter) : 0);
  return wait_for(op, [cb](const OpResult& r) {
    cb.callback(r.status == 1 ? WGPURequestAdapterStatus_Success : WGPURequestAdapterStatus(3),
                handle_of<WGPUAdapter>(r.handle), WGPUStringView{r.message, WGPU_STRLEN}, cb.userdata1, cb.userdata2);
  });
}

void b_process_events(WGPUInstance) {
  if (!wgb_has_pending()) return;
  wgb_wait_any();
  int out[4];
  while (const int op = wgb_next_completed(out)) {
    OpResult r{out[0], out[1], out[2], reinterpret_cast<char*>(out[3])};
    if (auto it = g_waiting.find(op); it != g_waiting.end()) {
      auto fire = std::move(it->second);
      g_waiting.erase(it);
      fire(r);
    }
    std::free(r.message);
  }
  while (const int device = wgb_next_event(out)) {
    char* message = reinterpret_cast<char*>(out[2]);
    auto it = g_devices.find(device);
    if (it != g_devices.end()) {
      const WGPUDevice d = handle_of<WGPUDevice>(device);
      const WGPUStringView m{message, WGPU_STRLEN};
      const DeviceCallbacks& c = it->second;
      if (out[0] && c.lost.callback) c.lost.callback(&d, WGPUDeviceLostReason(out[1]), m, c.lost.userdata1, c.lost.userdata2);
      if (!out[0] && c.error.callback) c.error.callback(&d, WGPUErrorType(out[1]), m, c.error.userdata1, c.error.userdata2);
    }
    std::free(message);
  }
}

void b_instance_release(WGPUInstance) {}

uint32_t b_adapter_get_info(WGPUAdapter a, WGPUAdapterInfo* info) {
  int out[6] = {};
  const int fallback = wgb_adapter_info(id_of(a), out);
  info->vendor = owned_sv(reinterpret_cast<char*>(out[0]));
  info->architecture = owned_sv(reinterpret_cast<char*>(out[1]));
  info->device = owned_sv(reinterpret_cast<char*>(out[2]));
  info->description = owned_sv(reinterpret_cast<char*>(out[3]));
  info->backendType = WGPUBackendType_WebGPU;
  // The browser names no adapter type; its fallback (software) adapter is the CPU kind.
  info->adapterType = fallback ? WGPUAdapterType_CPU : WGPUAdapterType_Unknown;
  info->vendorID = info->deviceID = 0;
  info->subgroupMinSize = uint32_t(out[4]);
  info->subgroupMaxSize = uint32_t(out[5]);
  return 1;
}

void b_adapter_info_free(WGPUAdapterInfo info) {
  for (WGPUStringView v : {info.vendor, info.architecture, info.device, info.description})
    std::free(const_cast<char*>(v.data));
}

// WGPULimits from the doubles JavaScript wrote, field by field in declaration order.
constexpr int kLimitCount = 31;
void limits_from(const double* v, WGPULimits* l) {
  uint32_t* u32[] = {&l->maxTextureDimension1D, &l->maxTextureDimension2D, &l->maxTextureDimension3D,
                     &l->maxTextureArrayLayers, &l->maxBindGroups, &l->maxBindGroupsPlusVertexBuffers,
                     &l->maxBindingsPerBindGroup, &l->maxDynamicUniformBuffersPerPipelineLayout,
                     &l->maxDynamicStorageBuffersPerPipelineLayout, &l->maxSampledTexturesPerShaderStage,
                     &l->maxSamplersPerShaderStage, &l->maxStorageBuffersPerShaderStage,
                     &l->maxStorageTexturesPerShaderStage, &l->maxUniformBuffersPerShaderStage};
  for (int i = 0; i < 14; ++i) *u32[i] = uint32_t(v[i]);
  l->maxUniformBufferBindingSize = uint64_t(v[14]);
  l->maxStorageBufferBindingSize = uint64_t(v[15]);
  l->minUniformBufferOffsetAlignment = uint32_t(v[16]);
  l->minStorageBufferOffsetAlignment = uint32_t(v[17]);
  l->maxVertexBuffers = uint32_t(v[18]);
  l->maxBufferSize = uint64_t(v[19]);
  uint32_t* tail[] = {&l->maxVertexAttributes, &l->maxVertexBufferArrayStride, &l->maxInterStageShaderVariables,
                      &l->maxColorAttachments, &l->maxColorAttachmentBytesPerSample,
                      &l->maxComputeWorkgroupStorageSize, &l->maxComputeInvocationsPerWorkgroup,
                      &l->maxComputeWorkgroupSizeX, &l->maxComputeWorkgroupSizeY, &l->maxComputeWorkgroupSizeZ,
                      &l->maxComputeWorkgroupsPerDimension};
  for (int i = 0; i < 11; ++i) *tail[i] = uint32_t(v[20 + i]);
}
void limits_to(const WGPULimits& l, double* v) {
  const double all[kLimitCount] = {
      double(l.maxTextureDimension1D), double(l.maxTextureDimension2D), double(l.maxTextureDimension3D),
      double(l.maxTextureArrayLayers), double(l.maxBindGroups), double(l.maxBindGroupsPlusVertexBuffers),
      double(l.maxBindingsPerBindGroup), double(l.maxDynamicUniformBuffersPerPipelineLayout),
      double(l.maxDynamicStorageBuffersPerPipelineLayout), double(l.maxSampledTexturesPerShaderStage),
      double(l.maxSamplersPerShaderStage), double(l.maxStorageBuffersPerShaderStage),
      double(l.maxStorageTexturesPerShaderStage), double(l.maxUniformBuffersPerShaderStage),
      double(l.maxUniformBufferBindingSize), double(l.maxStorageBufferBindingSize),
      double(l.minUniformBufferOffsetAlignment), double(l.minStorageBufferOffsetAlignment), double(l.maxVertexBuffers),
      double(l.maxBufferSize), double(l.maxVertexAttributes), double(l.maxVertexBufferArrayStride),
      double(l.maxInterStageShaderVariables), double(l.maxColorAttachments), double(l.maxColorAttachmentBytesPerSample),
      double(l.maxComputeWorkgroupStorageSize), double(l.maxComputeInvocationsPerWorkgroup),
      double(l.maxComputeWorkgroupSizeX), double(l.maxComputeWorkgroupSizeY), double(l.maxComputeWorkgroupSizeZ),
      double(l.maxComputeWorkgroupsPerDimension)};
  std::memcpy(v, all, sizeof all);
}

uint32_t get_limits(int obj, WGPULimits* l) {
  double v[kLimitCount];
  wgb_limits(obj, v);
  limits_from(v, l);
  return 1;
}
uint32_t b_adapter_get_limits(WGPUAdapter a, WGPULimits* l) { return get_limits(id_of(a), l); }
uint32_t b_device_get_limits(WGPUDevice d, WGPULimits* l) { return get_limits(id_of(d), l); }

void b_adapter_get_features(WGPUAdapter a, WGPUSupportedFeatures* f) {
  auto* ids = static_cast<WGPUFeatureName*>(std::malloc(16 * sizeof(WGPUFeatureName)));
  f->featureCount = size_t(wgb_features(id_of(a), reinterpret_cast<int*>(ids)));
  f->features = ids;
}
void b_features_free(WGPUSupportedFeatures f) { std::free(const_cast<WGPUFeatureName*>(f.features)); }
WGPUBool b_adapter_has_feature(WGPUAdapter a, WGPUFeatureName name) {
  int ids[16];
  const int n = wgb_features(id_of(a), ids);
  for (int i = 0; i < n; ++i)
    if (uint32_t(ids[i]) == name) return 1;
  return 0;
}

WGPUFuture b_request_device(WGPUAdapter a, const WGPUDeviceDescriptor* d, WGPURequestDeviceCallbackInfo cb) {
  std::vector<int> features(d->requiredFeatures, d->requiredFeatures + d->requiredFeatureCount);
  double limits[kLimitCount] = {};
  if (d->requiredLimits) limits_to(*d->requiredLimits, limits);
  const int op = wgb_request_device(id_of(a), features.data(), int(features.size()), limits);
  const DeviceCallbacks callbacks{d->deviceLostCallbackInfo, d->uncapturedErrorCallbackInfo};
  return wait_for(op, [cb, callbacks](const OpResult& r) {
    if (r.status == 1) g_devices[r.handle] = callbacks;
    cb.callback(r.status == 1 ? WGPURequestDeviceStatus_Success : WGPURequestDeviceStatus(3),
                handle_of<WGPUDevice>(r.handle), WGPUStringView{r.message, WGPU_STRLEN}, cb.userdata1, cb.userdata2);
  });
}

template <typename H>
void release(H h) { wgb_release(id_of(h)); }
template <typename H>
void destroy(H h) { wgb_destroy(id_of(h)); }

void b_device_release(WGPUDevice d) {
  g_devices.erase(id_of(d));
  wgb_release(id_of(d));
}
void b_device_destroy(WGPUDevice d) {
  g_devices.erase(id_of(d));  // a destroyed device reports no loss to the engine
  wgb_destroy(id_of(d));
}

WGPUQueue b_device_get_queue(WGPUDevice d) { return handle_of<WGPUQueue>(wgb_device_queue(id_of(d))); }

WGPUBuffer b_create_buffer(WGPUDevice d, const WGPUBufferDescriptor* desc) {
  return handle_of<WGPUBuffer>(wgb_create_buffer(id_of(d), double(desc->size), double(desc->usage),
                                                 int(desc->mappedAtCreation), desc->label.data, sv_len(desc->label)));
}

WGPUShaderModule b_create_shader(WGPUDevice d, const WGPUShaderModuleDescriptor* desc) {
  WGPUStringView code{nullptr, 0};
  for (const WGPUChainedStruct* c = desc->nextInChain; c; c = c->next)
    if (c->sType == WGPUSType_ShaderSourceWGSL) code = reinterpret_cast<const WGPUShaderSourceWGSL*>(c)->code;
  return handle_of<WGPUShaderModule>(
      wgb_create_shader(id_of(d), code.data, sv_len(code), desc->label.data, sv_len(desc->label)));
}

WGPUComputePipeline b_create_pipeline(WGPUDevice d, const WGPUComputePipelineDescriptor* desc) {
  const WGPUComputeState& c = desc->compute;
  std::vector<double> constants;
  for (size_t i = 0; i < c.constantCount; ++i) {
    const WGPUConstantEntry& e = c.constants[i];
    constants.insert(constants.end(), {double(uintptr_t(e.key.data)), double(sv_len(e.key)), e.value});
  }
  return handle_of<WGPUComputePipeline>(wgb_create_pipeline(id_of(d), id_of(desc->layout), id_of(c.module),
                                                            c.entryPoint.data, sv_len(c.entryPoint), constants.data(),
                                                            int(c.constantCount), desc->label.data, sv_len(desc->label)));
}

WGPUBindGroup b_create_bind_group(WGPUDevice d, const WGPUBindGroupDescriptor* desc) {
  std::vector<double> entries;
  for (size_t i = 0; i < desc->entryCount; ++i) {
    const WGPUBindGroupEntry& e = desc->entries[i];
    entries.insert(entries.end(), {double(e.binding), double(id_of(e.buffer)), double(e.offset),
                                   e.size == WGPU_WHOLE_SIZE ? -1.0 : double(e.size)});
  }
  return handle_of<WGPUBindGroup>(wgb_create_bind_group(id_of(d), id_of(desc->layout), entries.data(),
                                                        int(desc->entryCount), desc->label.data, sv_len(desc->label)));
}

WGPUCommandEncoder b_create_encoder(WGPUDevice d, const WGPUCommandEncoderDescriptor*) {
  return handle_of<WGPUCommandEncoder>(wgb_create_encoder(id_of(d)));
}
WGPUQuerySet b_create_query_set(WGPUDevice d, const WGPUQuerySetDescriptor* desc) {
  return handle_of<WGPUQuerySet>(wgb_create_query_set(id_of(d), int(desc->type), int(desc->count)));
}
void b_push_error_scope(WGPUDevice d, WGPUErrorFilter f) { wgb_push_error_scope(id_of(d), int(f)); }
WGPUFuture b_pop_error_scope(WGPUDevice d, WGPUPopErrorScopeCallbackInfo cb) {
  return wait_for(wgb_pop_error_scope(id_of(d)), [cb](const OpResult& r) {
    cb.callback(r.status == 1 ? WGPUPopErrorScopeStatus_Success : WGPUPopErrorScopeStatus(3), WGPUErrorType(r.type),
                WGPUStringView{r.message, WGPU_STRLEN}, cb.userdata1, cb.userdata2);
  });
}

void b_submit(WGPUQueue q, size_t n, const WGPUCommandBuffer* cmds) {
  std::vector<int> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = id_of(cmds[i]);
  wgb_submit(id_of(q), ids.data(), int(n));
  // A submitted command buffer is spent; the engine releases it next, which frees the id.
}
void b_write_buffer(WGPUQueue q, WGPUBuffer b, uint64_t offset, const void* data, size_t size) {
  wgb_write_buffer(id_of(q), id_of(b), double(offset), data, int(size));
}

WGPUFuture b_map_async(WGPUBuffer b, WGPUMapMode, size_t offset, size_t size, WGPUBufferMapCallbackInfo cb) {
  return wait_for(wgb_map_read(id_of(b), double(offset), double(size)), [cb](const OpResult& r) {
    cb.callback(r.status == 1 ? WGPUMapAsyncStatus_Success : WGPUMapAsyncStatus(3),
                WGPUStringView{r.message, WGPU_STRLEN}, cb.userdata1, cb.userdata2);
  });
}
// The mapped range lives in JavaScript: copy it into the heap until Unmap.
const void* b_get_mapped(WGPUBuffer b, size_t offset, size_t size) {
  void* copy = std::malloc(size ? size : 1);
  wgb_copy_mapped(id_of(b), double(offset), double(size), copy);
  std::free(g_mapped[id_of(b)]);
  g_mapped[id_of(b)] = copy;
  return copy;
}
void b_unmap(WGPUBuffer b) {
  if (auto it = g_mapped.find(id_of(b)); it != g_mapped.end()) {
    std::free(it->second);
    g_mapped.erase(it);
  }
  wgb_unmap(id_of(b));
}

WGPUBindGroupLayout b_bind_group_layout(WGPUComputePipeline p, uint32_t index) {
  return handle_of<WGPUBindGroupLayout>(wgb_bind_group_layout(id_of(p), int(index)));
}
WGPUComputePassEncoder b_begin_pass(WGPUCommandEncoder e, const WGPUComputePassDescriptor* desc) {
  const WGPUPassTimestampWrites* ts = desc ? desc->timestampWrites : nullptr;
  auto index = [](uint32_t i) { return i == WGPU_QUERY_SET_INDEX_UNDEFINED ? -1 : int(i); };
  return handle_of<WGPUComputePassEncoder>(wgb_begin_pass(id_of(e), ts ? id_of(ts->querySet) : 0,
                                                          ts ? index(ts->beginningOfPassWriteIndex) : -1,
                                                          ts ? index(ts->endOfPassWriteIndex) : -1));
}
void b_copy_buffer(WGPUCommandEncoder e, WGPUBuffer src, uint64_t so, WGPUBuffer dst, uint64_t dof, uint64_t size) {
  wgb_copy_buffer(id_of(e), id_of(src), double(so), id_of(dst), double(dof), double(size));
}
void b_resolve(WGPUCommandEncoder e, WGPUQuerySet s, uint32_t first, uint32_t count, WGPUBuffer dst, uint64_t off) {
  wgb_resolve_queries(id_of(e), id_of(s), int(first), int(count), id_of(dst), double(off));
}
WGPUCommandBuffer b_finish(WGPUCommandEncoder e, const WGPUCommandBufferDescriptor*) {
  return handle_of<WGPUCommandBuffer>(wgb_finish(id_of(e)));
}
void b_set_pipeline(WGPUComputePassEncoder p, WGPUComputePipeline pipe) { wgb_set_pipeline(id_of(p), id_of(pipe)); }
void b_set_bind_group(WGPUComputePassEncoder p, uint32_t index, WGPUBindGroup g, size_t, const uint32_t*) {
  wgb_set_bind_group(id_of(p), int(index), id_of(g));
}
void b_dispatch(WGPUComputePassEncoder p, uint32_t x, uint32_t y, uint32_t z) {
  wgb_dispatch(id_of(p), int(x), int(y), int(z));
}
void b_end_pass(WGPUComputePassEncoder p) { wgb_end_pass(id_of(p)); }

}  // namespace

const WebGpuApi& load_webgpu(const std::string&) {
  static WebGpuApi api = [] {
    WebGpuApi a;
    a.wgpuCreateInstance = b_create_instance;
    a.wgpuInstanceRequestAdapter = b_request_adapter;
    a.wgpuInstanceProcessEvents = b_process_events;
    a.wgpuInstanceRelease = b_instance_release;
    a.wgpuAdapterGetInfo = b_adapter_get_info;
    a.wgpuAdapterInfoFreeMembers = b_adapter_info_free;
    a.wgpuAdapterGetLimits = b_adapter_get_limits;
    a.wgpuAdapterGetFeatures = b_adapter_get_features;
    a.wgpuSupportedFeaturesFreeMembers = b_features_free;
    a.wgpuAdapterHasFeature = b_adapter_has_feature;
    a.wgpuAdapterRequestDevice = b_request_device;
    a.wgpuAdapterRelease = release<WGPUAdapter>;
    a.wgpuDeviceGetLimits = b_device_get_limits;
    a.wgpuDeviceGetQueue = b_device_get_queue;
    a.wgpuDeviceCreateBuffer = b_create_buffer;
    a.wgpuDeviceCreateShaderModule = b_create_shader;
    a.wgpuDeviceCreateComputePipeline = b_create_pipeline;
    a.wgpuDeviceCreateBindGroup = b_create_bind_group;
    a.wgpuDeviceCreateCommandEncoder = b_create_encoder;
    a.wgpuDeviceCreateQuerySet = b_create_query_set;
    a.wgpuDevicePushErrorScope = b_push_error_scope;
    a.wgpuDevicePopErrorScope = b_pop_error_scope;
    a.wgpuDeviceDestroy = b_device_destroy;
    a.wgpuDeviceRelease = b_device_release;
    a.wgpuQueueSubmit = b_submit;
    a.wgpuQueueWriteBuffer = b_write_buffer;
    a.wgpuQueueRelease = release<WGPUQueue>;
    a.wgpuBufferMapAsync = b_map_async;
    a.wgpuBufferGetConstMappedRange = b_get_mapped;
    a.wgpuBufferUnmap = b_unmap;
    a.wgpuBufferDestroy = destroy<WGPUBuffer>;
    a.wgpuBufferRelease = release<WGPUBuffer>;
    a.wgpuShaderModuleRelease = release<WGPUShaderModule>;
    a.wgpuComputePipelineGetBindGroupLayout = b_bind_group_layout;
    a.wgpuComputePipelineRelease = release<WGPUComputePipeline>;
    a.wgpuBindGroupLayoutRelease = release<WGPUBindGroupLayout>;
    a.wgpuBindGroupRelease = release<WGPUBindGroup>;
    a.wgpuCommandEncoderBeginComputePass = b_begin_pass;
    a.wgpuCommandEncoderCopyBufferToBuffer = b_copy_buffer;
    a.wgpuCommandEncoderResolveQuerySet = b_resolve;
    a.wgpuCommandEncoderFinish = b_finish;
    a.wgpuCommandEncoderRelease = release<WGPUCommandEncoder>;
    a.wgpuCommandBufferRelease = release<WGPUCommandBuffer>;
    a.wgpuComputePassEncoderSetPipeline = b_set_pipeline;
    a.wgpuComputePassEncoderSetBindGroup = b_set_bind_group;
    a.wgpuComputePassEncoderDispatchWorkgroups = b_dispatch;
    a.wgpuComputePassEncoderEnd = b_end_pass;
    a.wgpuComputePassEncoderRelease = release<WGPUComputePassEncoder>;
    a.wgpuQuerySetRelease = release<WGPUQuerySet>;
    a.library_path = "browser WebGPU (navigator.gpu)";
    a.features = kFeatureIdsLate2025;
    return a;
  }();
  return api;
}

bool browser_has_webgpu() { return wgb_has_gpu() != 0; }

}  // namespace wgllm::gpu
