#include "gpu/pipeline.h"

#include <regex>

#include "util/error.h"

namespace wgllm::gpu {

std::string expand_template(const KernelSpec& spec) {
  const std::string& src = spec.source;
  std::string out;
  out.reserve(src.size() + 256);
  size_t pos = 0;
  while (true) {
    const size_t open = src.find("{{", pos);
    if (open == std::string::npos) {
      out.append(src, pos, std::string::npos);
      break;
    }
    const size_t close = src.find("}}", open);
    if (close == std::string::npos) fail("kernel '", spec.name, "' (", spec.file, "): unterminated {{ placeholder");
    out.append(src, pos, open - pos);
    const std::string key = src.substr(open + 2, close - open - 2);
    auto it = spec.defines.find(key);
    if (it == spec.defines.end()) fail("kernel '", spec.name, "' (", spec.file, "): no value for placeholder {{", key, "}}");
    if (it->second.find('\n') != std::string::npos)
      fail("kernel '", spec.name, "': value of {{", key, "}} spans lines (it would shift error line numbers)");
    out += it->second;
    pos = close + 2;
  }
  return out;
}

Pipeline::~Pipeline() {
  ctx_.api().wgpuBindGroupLayoutRelease(layout_);
  ctx_.api().wgpuComputePipelineRelease(pipeline_);
}

static std::string cache_key(const KernelSpec& spec) {
  std::string key = spec.name + "|" + spec.entry;
  for (auto& [k, v] : spec.defines) key += "|" + k + "=" + v;
  for (auto& [k, v] : spec.constants) key += cat("|", k, ":", v);
  return key;
}

const Pipeline& PipelineCache::get(const KernelSpec& spec) {
  const std::string key = cache_key(spec);
  if (auto it = cache_.find(key); it != cache_.end()) return *it->second;

  const std::string code = expand_template(spec);
  const WebGpuApi& api = ctx_.api();
  WGPUShaderModule module = nullptr;
  WGPUComputePipeline pipeline = nullptr;
  const std::string error = ctx_.capture_errors([&] {
    WGPUShaderSourceWGSL wgsl{};
    wgsl.chain.sType = WGPUSType_ShaderSourceWGSL;
    wgsl.code = WGPUStringView{code.data(), code.size()};
    WGPUShaderModuleDescriptor desc{};
    desc.nextInChain = &wgsl.chain;
    desc.label = WGPUStringView{spec.name.data(), spec.name.size()};
    module = api.wgpuDeviceCreateShaderModule(ctx_.device(), &desc);

    std::vector<WGPUConstantEntry> constants;
    for (auto& [k, v] : spec.constants) {
      WGPUConstantEntry e{};
      e.key = WGPUStringView{k.data(), k.size()};
      e.value = v;
      constants.push_back(e);
    }
    WGPUComputePipelineDescriptor pdesc{};
    pdesc.label = desc.label;
    pdesc.compute.module = module;
    pdesc.compute.entryPoint = WGPUStringView{spec.entry.data(), spec.entry.size()};
    pdesc.compute.constantCount = constants.size();
    pdesc.compute.constants = constants.data();
    pipeline = api.wgpuDeviceCreateComputePipeline(ctx_.device(), &pdesc);
  });
  if (module) api.wgpuShaderModuleRelease(module);
  if (!error.empty()) {
    if (pipeline) api.wgpuComputePipelineRelease(pipeline);
    // Dawn reports positions as ":LINE:COL"; name them for the reader.
    std::smatch m;
    std::string where;
    if (std::regex_search(error, m, std::regex(R"(:(\d+):(\d+))")))
      where = cat(" at line ", m[1].str(), ", column ", m[2].str());
    fail("WGSL compile error in kernel '", spec.name, "' (", spec.file, ")", where, ":\n", error);
  }
  WGPUBindGroupLayout layout = api.wgpuComputePipelineGetBindGroupLayout(pipeline, 0);
  auto& slot = cache_[key];
  slot = std::make_unique<Pipeline>(ctx_, pipeline, layout, spec.name);
  return *slot;
}

namespace {
std::vector<std::pair<uint32_t, Binding>> numbered_in_order(const std::vector<Binding>& bindings) {
  std::vector<std::pair<uint32_t, Binding>> n;
  for (size_t i = 0; i < bindings.size(); ++i) n.emplace_back(uint32_t(i), bindings[i]);
  return n;
}
}  // namespace

BindGroup::BindGroup(Context& ctx, const Pipeline& pipeline, const std::vector<Binding>& bindings)
    : BindGroup(ctx, pipeline, numbered_in_order(bindings)) {}

BindGroup::BindGroup(Context& ctx, const Pipeline& pipeline, const std::vector<std::pair<uint32_t, Binding>>& numbered)
    : ctx_(&ctx) {
  std::vector<WGPUBindGroupEntry> entries(numbered.size());
  for (size_t i = 0; i < numbered.size(); ++i) {
    entries[i].binding = numbered[i].first;
    entries[i].buffer = numbered[i].second.buffer;
    entries[i].offset = numbered[i].second.offset;
    entries[i].size = numbered[i].second.size;
  }
  WGPUBindGroupDescriptor desc{};
  desc.label = WGPUStringView{pipeline.name().data(), pipeline.name().size()};
  desc.layout = pipeline.layout();
  desc.entryCount = entries.size();
  desc.entries = entries.data();
  handle_ = ctx.api().wgpuDeviceCreateBindGroup(ctx.device(), &desc);
}

BindGroup::~BindGroup() {
  if (handle_) ctx_->api().wgpuBindGroupRelease(handle_);
}

BindGroup& BindGroup::operator=(BindGroup&& o) noexcept {
  if (this != &o) {
    if (handle_) ctx_->api().wgpuBindGroupRelease(handle_);
    ctx_ = o.ctx_;
    handle_ = o.handle_;
    o.handle_ = nullptr;
  }
  return *this;
}

UniformArena::UniformArena(Context& ctx, uint32_t slots, const std::string& label)
    : ctx_(ctx), stride_(std::max<uint32_t>(ctx.limits().min_uniform_buffer_offset_alignment, 16)) {
  buffer_ = ctx.create_buffer(stride_ * slots, kUniform, label);
  mirror_.assign(buffer_.size(), 0);
}

UniformArena::Slot UniformArena::alloc_bytes(size_t size) {
  if (size > stride_) fail("uniform struct of ", size, " bytes exceeds the arena slot of ", stride_);
  if (used_ + stride_ > buffer_.size()) fail("uniform arena '", buffer_.label(), "' is full (", buffer_.size() / stride_, " slots)");
  Slot s{used_, (size + 15) & ~uint64_t(15)};  // WGSL uniform structs round up to 16 bytes
  used_ += stride_;
  return s;
}

void UniformArena::flush() {
  if (dirty_hi_ <= dirty_lo_) return;
  ctx_.write(buffer_, mirror_.data() + dirty_lo_, dirty_hi_ - dirty_lo_, dirty_lo_);
  dirty_lo_ = UINT64_MAX;
  dirty_hi_ = 0;
}

}  // namespace wgllm::gpu
