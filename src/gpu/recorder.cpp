#include "gpu/recorder.h"

#include <algorithm>
#include <cstdio>

#include "util/error.h"

namespace wgllm::gpu {
namespace {
constexpr uint32_t kMaxTimedDispatches = 2048;  // 4096 queries: the WebGPU maximum
}

void Profile::add(const std::string& kernel, double us, double bytes) {
  Row& r = rows_[kernel];
  r.calls += 1;
  r.total_us += us;
  r.bytes += bytes;
}

std::string Profile::table() const {
  double total = 0;
  for (auto& [k, r] : rows_) total += r.total_us;
  std::vector<std::pair<std::string, Row>> sorted(rows_.begin(), rows_.end());
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.second.total_us > b.second.total_us; });
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-32s %8s %12s %7s %9s\n", "kernel", "calls", "total us", "share", "GB/s");
  out += line;
  for (auto& [k, r] : sorted) {
    const double gbs = r.total_us > 0 && r.bytes > 0 ? r.bytes / (r.total_us * 1e3) : 0;
    std::snprintf(line, sizeof line, "%-32s %8llu %12.1f %6.1f%% %9.1f\n", k.c_str(), (unsigned long long)r.calls,
                  r.total_us, total > 0 ? 100 * r.total_us / total : 0, gbs);
    out += line;
  }
  std::snprintf(line, sizeof line, "%-32s %8s %12.1f\n", "total", "", total);
  out += line;
  return out;
}

Recorder::Recorder(Context& ctx, Profile* profile, std::vector<UniformArena*> arenas)
    : ctx_(ctx), profile_(ctx.profiling() ? profile : nullptr), arenas_(std::move(arenas)) {
  WGPUCommandEncoderDescriptor desc{};
  encoder_ = ctx_.api().wgpuDeviceCreateCommandEncoder(ctx_.device(), &desc);
  if (profile_) {
    WGPUQuerySetDescriptor qdesc{};
    qdesc.type = WGPUQueryType_Timestamp;
    qdesc.count = 2 * kMaxTimedDispatches;
    queries_ = ctx_.api().wgpuDeviceCreateQuerySet(ctx_.device(), &qdesc);
    query_capacity_ = qdesc.count;
  }
}

Recorder::~Recorder() {
  end_pass();
  if (encoder_) ctx_.api().wgpuCommandEncoderRelease(encoder_);
  if (queries_) ctx_.api().wgpuQuerySetRelease(queries_);
}

void Recorder::end_pass() {
  if (!pass_) return;
  ctx_.api().wgpuComputePassEncoderEnd(pass_);
  ctx_.api().wgpuComputePassEncoderRelease(pass_);
  pass_ = nullptr;
}

void Recorder::dispatch(const Pipeline& pipeline, const BindGroup& group, Groups g, double bytes) {
  if (!encoder_) fail("Recorder used after submit()");
  const auto& api = ctx_.api();
  const uint32_t max_groups = ctx_.limits().max_compute_workgroups_per_dimension;
  if (g.x > max_groups || g.y > max_groups || g.z > max_groups)
    fail("kernel '", pipeline.name(), "': dispatch of ", g.x, "x", g.y, "x", g.z,
         " workgroups exceeds the adapter's maxComputeWorkgroupsPerDimension (", max_groups, ")");
  if (profile_ && !profile_->keeps(pipeline.name())) return;
  const bool span = profile_ && profile_->span();
  const bool timed = profile_ && !span && timed_.size() < kMaxTimedDispatches;
  if (timed || !pass_) {
    end_pass();
    WGPUComputePassDescriptor desc{};
    WGPUPassTimestampWrites ts{};
    if (timed) {  // a pass of its own, timed from its start to its end
      ts.querySet = queries_;
      ts.beginningOfPassWriteIndex = uint32_t(2 * timed_.size());
      ts.endOfPassWriteIndex = uint32_t(2 * timed_.size() + 1);
      desc.timestampWrites = &ts;
      timed_.emplace_back(pipeline.name(), bytes);
    } else if (span) {  // one span: the first pass's start to the last pass's end (each end overwrites it)
      ts.querySet = queries_;
      ts.beginningOfPassWriteIndex = timed_.empty() ? 0 : WGPU_QUERY_SET_INDEX_UNDEFINED;
      ts.endOfPassWriteIndex = 1;
      desc.timestampWrites = &ts;
      if (timed_.empty()) timed_.emplace_back(profile_->span_label(), 0.0);
    }
    pass_ = api.wgpuCommandEncoderBeginComputePass(encoder_, &desc);
  }
  api.wgpuComputePassEncoderSetPipeline(pass_, pipeline.handle());
  api.wgpuComputePassEncoderSetBindGroup(pass_, 0, group.handle(), 0, nullptr);
  api.wgpuComputePassEncoderDispatchWorkgroups(pass_, g.x, g.y, g.z);
  ++dispatches_;
  if (span) timed_.front().second += bytes;
  if (timed) end_pass();
}

void Recorder::copy(const Buffer& src, uint64_t src_offset, const Buffer& dst, uint64_t dst_offset, uint64_t size) {
  if (!encoder_) fail("Recorder used after submit()");
  if (src_offset + size > src.size() || dst_offset + size > dst.size())
    fail("copy of ", size, " bytes from '", src.label(), "' to '", dst.label(), "' is out of bounds");
  end_pass();
  ctx_.api().wgpuCommandEncoderCopyBufferToBuffer(encoder_, src.handle(), src_offset, dst.handle(), dst_offset, size);
}

void Recorder::submit() {
  if (!encoder_) fail("Recorder submitted twice");
  end_pass();
  const auto& api = ctx_.api();
  Buffer resolved;
  if (!timed_.empty()) {
    const uint64_t bytes = 16 * timed_.size();  // 2 x u64 per dispatch (or span)
    resolved = ctx_.create_buffer(bytes, kQueryResolve, "timestamps");
    api.wgpuCommandEncoderResolveQuerySet(encoder_, queries_, 0, uint32_t(2 * timed_.size()), resolved.handle(), 0);
  }
  for (UniformArena* a : arenas_) a->flush();
  WGPUCommandBufferDescriptor desc{};
  WGPUCommandBuffer cmd = api.wgpuCommandEncoderFinish(encoder_, &desc);
  api.wgpuCommandEncoderRelease(encoder_);
  encoder_ = nullptr;
  api.wgpuQueueSubmit(ctx_.queue(), 1, &cmd);
  api.wgpuCommandBufferRelease(cmd);
  if (!timed_.empty()) {
    std::vector<uint64_t> ts = ctx_.read_vector<uint64_t>(resolved, 2 * timed_.size());
    for (size_t i = 0; i < timed_.size(); ++i) {
      const double us = ts[2 * i + 1] > ts[2 * i] ? double(ts[2 * i + 1] - ts[2 * i]) / 1e3 : 0.0;
      profile_->add(timed_[i].first, us, timed_[i].second);
    }
    timed_.clear();
  }
}

}  // namespace wgllm::gpu
