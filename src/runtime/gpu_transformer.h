// The forward pass on WebGPU: every family's transformer as one sequence of kernel ops, recorded
// into one command buffer per step (one submit per decode step; the prompt in batches).
//
// Built from the same ModelWeights the CPU reference reads (the specification this must match):
// weights stream from the mmap into GPU buffers (repacked for the kernels), the KV cache lives
// on the GPU, and a step's ops are built once with their buffers and bind groups, then replayed.
#pragma once
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kernels/kernel_context.h"
#include "model/weights.h"

namespace wgllm::runtime {

struct GpuTransformerOptions {
  int max_context = 4096;    // KV cache capacity (capped by the model's context length)
  int max_batch = 0;         // prompt tokens per prefill step; 0 = prefill_batch()'s choice
  int max_logit_rows = 32;   // rows of logits one step can return (all_logits mode)
  bool f16_kv_cache = true;  // KV cache stored as f16 (pack2x16float; works without shader-f16)
  bool progress = true;      // upload progress bar
  // Matrix products of Q4_0 (decode and prefill) and Q8_0 (prefill) weights take int8-quantized
  // activations (dot4I8Packed): about 3e-5 NMSE per product, far faster. -1: the kernels' default
  // (on for GPUs, off on CPU adapters); 0 off; 1 on.
  int quantize_activations = -1;
};

// Prompt tokens per prefill step: options.max_batch, else $WGLLM_PREFILL_BATCH, else the largest of
// 512, 256, 128 whose activations stay within 1/16 of the weights' bytes (larger steps fill the
// GPU better: on the H200 llama3-8b prefills 512 tokens 14 % faster in one step than in four,
// docs/perf-notes.md #32; its activations are ~0.3 MB a token); never more than the context.
int prefill_batch(const ModelConfig& cfg, uint64_t weight_bytes, const GpuTransformerOptions& options, int max_ctx);

// Bytes the model will hold on the GPU, computed before allocating anything, and the sizes they
// follow (the transformer allocates exactly these).
struct MemoryPlan {
  uint64_t weights = 0, kv_cache = 0, activations = 0;
  int max_ctx = 0;     // KV cache capacity in tokens: options.max_context capped by the model's
  int batch = 0;       // prompt tokens per prefill step (prefill_batch)
  int logit_rows = 0;  // logits rows one step can return
  uint64_t total() const { return weights + kv_cache + activations; }
};

class GpuTransformer {
 public:
  GpuTransformer(gpu::Context& ctx, ModelWeights weights, const GpuTransformerOptions& options);
  ~GpuTransformer();

  const ModelConfig& config() const;
  int max_context() const;
  const MemoryPlan& memory_plan() const;
  double load_seconds() const;

  // Runs tokens at positions start_pos..; returns logits for every token ([n x vocab]) when
  // all_logits, else for the last token only. Splits into batches of max_batch.
  std::vector<float> forward(std::span<const int> tokens, int start_pos, bool all_logits);
  // Decode step that keeps the token on the GPU: feeds `token` at `pos` and returns the argmax of
  // the next-token logits (4 bytes back instead of the whole vocabulary). Runs one step ahead
  // (see the .cpp); forward() and invalidate_speculation() drop that step.
  int forward_greedy(int token, int pos);
  // Call when the sequence restarts (the KV cache is reused from position 0).
  void invalidate_speculation();

  gpu::Profile& profile();
  // Where decode time goes: dispatches per step, CPU time encoding + submitting, time waiting.
  std::string decode_timing() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Plans memory for `weights` with `options`; raises an Error with the numbers when the plan
// exceeds the adapter's limits (a tensor chunk over maxBufferSize, or the total over `budget`
// bytes; budget 0 means the context's --gpu-memory / $WGLLM_GPU_MEMORY, if any).
MemoryPlan plan_memory(const ModelWeights& weights, const GpuTransformerOptions& options,
                       const gpu::Context& ctx, uint64_t budget = 0);

}  // namespace wgllm::runtime
