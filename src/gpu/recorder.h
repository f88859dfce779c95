// Records a whole step's dispatches into one command buffer and submits once.
//
//   Recorder rec(ctx, &profile);
//   rec.dispatch(pipeline, bind_group, {groups_x, groups_y}, bytes_moved);
//   rec.copy(src, dst, bytes);
//   rec.submit();
//
// Consecutive dispatches share one compute pass (WebGPU orders them and makes each one's writes
// visible to the next). With profiling on, each dispatch gets its own pass with timestamp writes
// and the Profile accumulates GPU time per kernel name. That isolates each kernel but adds a pass
// boundary per dispatch, so the parts sum to more than the real step; the Profile's span mode
// instead times a whole submission as it really runs (one pass), optionally keeping only the
// dispatches of one kernel: the in-situ cost of that kernel, its barriers included.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "gpu/pipeline.h"

namespace wgllm::gpu {

// GPU time per kernel, from timestamp queries.
class Profile {
 public:
  struct Row {
    uint64_t calls = 0;
    double total_us = 0;
    double bytes = 0;
  };
  void add(const std::string& kernel, double us, double bytes);
  const std::map<std::string, Row>& rows() const { return rows_; }
  void clear() { rows_.clear(); }
  // Span mode: each submission is timed as one span under `label`; with `only_kernel` set, the
  // dispatches of other kernels are left out (their results are then garbage: measurement only).
  void set_span(std::string label, std::string only_kernel = "") {
    span_ = true, span_label_ = std::move(label), only_ = std::move(only_kernel);
  }
  void set_per_dispatch() { span_ = false, span_label_.clear(), only_.clear(); }
  bool span() const { return span_; }
  const std::string& span_label() const { return span_label_; }
  bool keeps(const std::string& kernel) const { return !span_ || only_.empty() || kernel == only_; }
  // A table: kernel, calls, total us, share, GB/s (bytes / time).
  std::string table() const;

 private:
  std::map<std::string, Row> rows_;
  bool span_ = false;
  std::string span_label_, only_;
};

struct Groups {
  uint32_t x = 1, y = 1, z = 1;
};

class Recorder {
 public:
  explicit Recorder(Context& ctx, Profile* profile = nullptr, std::vector<UniformArena*> arenas = {});
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // `bytes` (optional): bytes the dispatch reads + writes, for the profile's GB/s column.
  void dispatch(const Pipeline& pipeline, const BindGroup& group, Groups groups, double bytes = 0);
  void copy(const Buffer& src, uint64_t src_offset, const Buffer& dst, uint64_t dst_offset, uint64_t size);
  // Finishes and submits the command buffer; with profiling, waits and collects timings.
  void submit();
  size_t dispatch_count() const { return dispatches_; }

 private:
  void end_pass();
  Context& ctx_;
  Profile* profile_;
  std::vector<UniformArena*> arenas_;
  WGPUCommandEncoder encoder_ = nullptr;
  WGPUComputePassEncoder pass_ = nullptr;
  size_t dispatches_ = 0;
  // Profiling state.
  WGPUQuerySet queries_ = nullptr;
  uint32_t query_capacity_ = 0;
  std::vector<std::pair<std::string, double>> timed_;  // kernel name, bytes per timed dispatch
};

}  // namespace wgllm::gpu
