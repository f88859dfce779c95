// WGSL compute pipelines from templated sources, cached by key, with typed parameters.
//
// A kernel source is WGSL with `{{NAME}}` placeholders filled from `defines` (compile-time
// choices such as the element type or workgroup size) before compilation; `{{PARAMS}}` is filled
// with the kernel's uniform struct (params.h). Values never contain newlines, so compiler
// messages point at the lines of the .wgsl file. Numeric `override` constants go in `constants`.
#pragma once
#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gpu/context.h"
#include "gpu/params.h"

namespace wgllm::gpu {

struct KernelSpec {
  std::string name;        // shown in errors and profiles, e.g. "matvec_q4_0"
  std::string file;        // source file name for messages, e.g. "matvec.wgsl"
  std::string source;      // WGSL template
  std::map<std::string, std::string> defines;
  std::map<std::string, double> constants;
  std::string entry = "main";
};

class Pipeline {
 public:
  Pipeline(Context& ctx, WGPUComputePipeline pipeline, WGPUBindGroupLayout layout, std::string name)
      : ctx_(ctx), pipeline_(pipeline), layout_(layout), name_(std::move(name)) {}
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;
  WGPUComputePipeline handle() const { return pipeline_; }
  WGPUBindGroupLayout layout() const { return layout_; }
  const std::string& name() const { return name_; }

 private:
  Context& ctx_;
  WGPUComputePipeline pipeline_;
  WGPUBindGroupLayout layout_;
  std::string name_;
};

// Fills `{{NAME}}` placeholders; an unknown placeholder is an error naming the kernel.
std::string expand_template(const KernelSpec& spec);

// Compiles (once per distinct spec) and caches pipelines for one context.
class PipelineCache {
 public:
  explicit PipelineCache(Context& ctx) : ctx_(ctx) {}
  // Raises an Error with the kernel name, file and line on a WGSL compile error.
  const Pipeline& get(const KernelSpec& spec);
  // The spec with {{PARAMS}} set from the C++ parameter struct S (layout-checked).
  template <typename S>
  static KernelSpec with_params(KernelSpec spec, const char* wgsl_name = "Params") {
    check_params_layout<S>(spec.name.c_str());
    spec.defines["PARAMS"] = wgsl_struct<S>(wgsl_name);
    return spec;
  }
  size_t size() const { return cache_.size(); }

 private:
  Context& ctx_;
  std::map<std::string, std::unique_ptr<Pipeline>> cache_;
};

// A bind group for group 0 of a pipeline: entries bind in order 0, 1, 2, ...
struct Binding {
  WGPUBuffer buffer;
  uint64_t offset = 0;
  uint64_t size = WGPU_WHOLE_SIZE;
  Binding(const Buffer& b) : buffer(b.handle()), size(b.size()) {}  // NOLINT: implicit on purpose
  Binding(const Buffer& b, uint64_t off, uint64_t sz) : buffer(b.handle()), offset(off), size(sz) {}
};

class BindGroup {
 public:
  BindGroup() = default;
  BindGroup(Context& ctx, const Pipeline& pipeline, const std::vector<Binding>& bindings);  // binding i = bindings[i]
  BindGroup(Context& ctx, const Pipeline& pipeline, const std::vector<std::pair<uint32_t, Binding>>& numbered);
  ~BindGroup();
  BindGroup(BindGroup&& o) noexcept : ctx_(o.ctx_), handle_(o.handle_) { o.handle_ = nullptr; }
  BindGroup& operator=(BindGroup&& o) noexcept;
  BindGroup(const BindGroup&) = delete;
  BindGroup& operator=(const BindGroup&) = delete;
  WGPUBindGroup handle() const { return handle_; }

 private:
  Context* ctx_ = nullptr;
  WGPUBindGroup handle_ = nullptr;
};

// Uniform parameter slots in one buffer: written on the CPU, uploaded in one write per submit.
class UniformArena {
 public:
  UniformArena(Context& ctx, uint32_t slots, const std::string& label);
  struct Slot {
    uint64_t offset;
    uint64_t size;
  };
  template <typename S>
  Slot alloc(const S& value) {
    Slot s = alloc_bytes(sizeof(S));
    set(s, value);
    return s;
  }
  template <typename S>
  void set(Slot slot, const S& value) {
    std::memcpy(mirror_.data() + slot.offset, &value, sizeof(S));
    dirty_lo_ = std::min(dirty_lo_, slot.offset);
    dirty_hi_ = std::max(dirty_hi_, slot.offset + slot.size);
  }
  Binding binding(Slot s) const { return Binding(buffer_, s.offset, s.size); }
  void flush();  // uploads the dirty range; the Recorder calls it before submitting
  void reset() { used_ = 0; }

 private:
  Slot alloc_bytes(size_t size);
  Context& ctx_;
  Buffer buffer_;
  std::vector<uint8_t> mirror_;
  uint64_t stride_, used_ = 0;
  uint64_t dirty_lo_ = UINT64_MAX, dirty_hi_ = 0;
};

}  // namespace wgllm::gpu
