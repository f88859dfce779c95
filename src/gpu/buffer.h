// A GPU buffer (RAII, labelled). The context counts the bytes every live buffer holds.
#pragma once
#include <cstdint>
#include <string>

#include "gpu/webgpu_api.h"

namespace wgllm::gpu {

class Context;

using BufferUsage = uint64_t;
constexpr BufferUsage kStorage = WGPUBufferUsage_Storage | WGPUBufferUsage_CopyDst | WGPUBufferUsage_CopySrc;
constexpr BufferUsage kUniform = WGPUBufferUsage_Uniform | WGPUBufferUsage_CopyDst;
constexpr BufferUsage kReadback = WGPUBufferUsage_MapRead | WGPUBufferUsage_CopyDst;
constexpr BufferUsage kQueryResolve = WGPUBufferUsage_QueryResolve | WGPUBufferUsage_CopySrc;

class Buffer {
 public:
  Buffer() = default;
  Buffer(Context* ctx, WGPUBuffer handle, uint64_t size, std::string label)
      : ctx_(ctx), handle_(handle), size_(size), label_(std::move(label)) {}
  ~Buffer() { release(); }
  Buffer(Buffer&& o) noexcept { *this = std::move(o); }
  Buffer& operator=(Buffer&& o) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  WGPUBuffer handle() const { return handle_; }
  uint64_t size() const { return size_; }
  const std::string& label() const { return label_; }
  explicit operator bool() const { return handle_ != nullptr; }
  void release();

 private:
  Context* ctx_ = nullptr;
  WGPUBuffer handle_ = nullptr;
  uint64_t size_ = 0;
  std::string label_;
};

}  // namespace wgllm::gpu
