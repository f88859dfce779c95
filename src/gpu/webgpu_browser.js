// The JavaScript half of the browser's webgpu.h provider (webgpu_browser.cpp), loaded with
// --pre-js. WebGPU objects live in one table here; C++ holds their integer ids as handles, so the
// engine's Context, Recorder and kernels run unchanged over the browser's navigator.gpu.
//
// Asynchronous calls (requestAdapter, requestDevice, mapAsync, popErrorScope) start a promise and
// return an operation id; webgpu_browser.cpp's ProcessEvents awaits them (ASYNCIFY) and then
// fires the C callbacks, the same contract as webgpu.h's WGPUCallbackMode_AllowProcessEvents.
var WG = {
  objects: [null],  // id -> GPU object (0 = null)
  free: [],         // ids to reuse
  ops: new Map(),   // operation id -> {promise, done, status, handle, type, message}
  nextOp: 1,
  completed: [],    // operation ids whose promise settled, in order
  events: [],       // device errors and losses: {device, lost, type, reason, message}
  // webgpu.h feature ids (2025 numbering, kFeatureIdsLate2025) <-> WebGPU feature names.
  features: {9: 'timestamp-query', 11: 'shader-f16', 18: 'subgroups'},
  // WGPULimits fields after nextInChain, in declaration order (webgpu_api.h).
  limitNames: ['maxTextureDimension1D', 'maxTextureDimension2D', 'maxTextureDimension3D', 'maxTextureArrayLayers',
    'maxBindGroups', 'maxBindGroupsPlusVertexBuffers', 'maxBindingsPerBindGroup',
    'maxDynamicUniformBuffersPerPipelineLayout', 'maxDynamicStorageBuffersPerPipelineLayout',
    'maxSampledTexturesPerShaderStage', 'maxSamplersPerShaderStage', 'maxStorageBuffersPerShaderStage',
    'maxStorageTexturesPerShaderStage', 'maxUniformBuffersPerShaderStage', 'maxUniformBufferBindingSize',
    'maxStorageBufferBindingSize', 'minUniformBufferOffsetAlignment', 'minStorageBufferOffsetAlignment',
    'maxVertexBuffers', 'maxBufferSize', 'maxVertexAttributes', 'maxVertexBufferArrayStride',
    'maxInterStageShaderVariables', 'maxColorAttachments', 'maxColorAttachmentBytesPerSample',
    'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupSizeZ', 'maxComputeWorkgroupsPerDimension'],

  add(obj) {
    if (!obj) return 0;
    const id = WG.free.length ? WG.free.pop() : WG.objects.length;
    WG.objects[id] = obj;
    return id;
  },
  get(id) { return WG.objects[id]; },
  release(id) {
    if (!id || !WG.objects[id]) return;
    WG.objects[id] = null;
    WG.free.push(id);
  },
  str(ptr, len) {  // a WGPUStringView's bytes (len = -1: null-terminated)
    if (!ptr) return '';
    return len < 0 ? UTF8ToString(ptr) : UTF8ToString(ptr, len);
  },
  // Starts an operation whose promise resolves to {status, handle, type, message}.
  start(promise) {
    const id = WG.nextOp++;
    const op = {done: false, status: 0, handle: 0, type: 0, message: ''};
    op.promise = promise.then(r => Object.assign(op, r), e => Object.assign(op, {status: 0, message: String(e && e.message || e)}))
      .then(() => { op.done = true; WG.completed.push(id); });
    WG.ops.set(id, op);
    return id;
  },
  pending() {
    const out = [];
    for (const op of WG.ops.values()) if (!op.done) out.push(op.promise);
    return out;
  },
  watchDevice(device, id) {
    device.onuncapturederror = (e) => {
      const err = e.error;
      const type = err instanceof GPUOutOfMemoryError ? 3 : err instanceof GPUValidationError ? 2 : 4;
      WG.events.push({device: id, lost: false, type, message: err.message || String(err)});
    };
    device.lost.then((info) => {
      WG.events.push({device: id, lost: true, reason: info.reason === 'destroyed' ? 2 : 1, message: info.message || ''});
    });
  },
  errorType(err) {  // WGPUErrorType of a popErrorScope result
    if (!err) return 1;
    if (err instanceof GPUValidationError) return 2;
    if (err instanceof GPUOutOfMemoryError) return 3;
    if (typeof GPUInternalError !== 'undefined' && err instanceof GPUInternalError) return 4;
    return 5;
  },
};
