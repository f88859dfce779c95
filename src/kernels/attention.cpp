#include "kernels/attention.h"

#include <algorithm>

namespace wgllm::kernels {
namespace {

constexpr uint32_t kWorkgroup = 64;  // keys per tile; also >= head_dim / 4
constexpr uint32_t kDecodeWorkgroup = 128;  // keys per decode tile
constexpr uint32_t kMaxHeadsPerBlock = 8;   // query heads per decode workgroup, at most
constexpr uint32_t kDecodeKeyLoads = 32;    // K vec4 loads in flight per decode invocation, at most
constexpr uint32_t kDecodeValueLoads = 8;   // V rows' loads in flight per decode invocation

// attend, combine and kv_write serve every head_dim (the query tile is sized for the largest,
// 1 KiB); decode is compiled for one head_dim (unrolled dot products) and heads per block.
gpu::KernelSpec attention_spec(const KernelContext& kc, const char* entry, bool f16_cache, uint32_t head_dim = 4,
                               uint32_t heads_per_block = 1, bool quantized_out = false) {
  const bool native_f16 = f16_cache && kc.use_f16;
  gpu::KernelSpec spec{entry, "attention.wgsl+block_reduce.wgsl", cat(kernel_source("attention.wgsl"), kernel_source("block_reduce.wgsl")),
                       variant_defines(kc, native_f16)};
  spec.entry = entry;
  spec.defines["WG"] = std::to_string(kWorkgroup);
  spec.defines["D4_MAX"] = std::to_string(kWorkgroup);
  const uint32_t hd4 = head_dim / 4;  // head_dim >= 4: check_head_dim, or the default
  const uint32_t dwg = kc.attn_dwg ? kc.attn_dwg : kDecodeWorkgroup;
  if ((dwg & (dwg - 1)) || dwg < hd4)
    fail("Attention: ", dwg, " decode invocations per workgroup: must be a power of 2 and at least head_dim / 4 (", hd4, ")");
  spec.defines["DWG"] = std::to_string(dwg);
  spec.defines["HD4"] = std::to_string(hd4);
  spec.defines["HPW"] = std::to_string(heads_per_block);
  spec.defines["QOUT"] = quantized_out ? "" : "//";
  if (quantized_out) spec.name += "_q8out";
  // Decode's loads in flight per invocation: a whole K row (head_dim 128 in f16: 32 vec4s) in one
  // batch, 8 V rows. H200, llama3-8b decode at prompts 16 / 512 (docs/perf-notes.md #28): Q4_0
  // 460 / 409 tok/s with 4 and 4 -> 469 / 418; Q4_K_M 395 / 355 -> 402 / 364. More than HD4 would
  // leave the batched loop empty, so the knob is capped there.
  spec.defines["KL"] = std::to_string(std::min(kc.attn_kl ? kc.attn_kl : kDecodeKeyLoads, hd4));
  spec.defines["VL"] = std::to_string(kc.attn_vl ? kc.attn_vl : kDecodeValueLoads);
  kv_cache_defines(spec, f16_cache, native_f16);
  return gpu::PipelineCache::with_params<AttentionParams>(spec);
}

// The most query heads of one kv group (n_heads / n_kv_heads of them) that a decode workgroup
// takes: a divisor of the group (each head costs registers: its scores and accumulators).
uint32_t heads_per_block(uint32_t group, uint32_t most) {
  uint32_t best = 1;
  for (uint32_t h = 1; h <= std::min(most, group); ++h)
    if (group % h == 0) best = h;
  return best;
}

void check_head_dim(const char* op, uint32_t head_dim) {
  if (head_dim == 0 || head_dim % 4 || head_dim > 4 * kWorkgroup)
    fail(op, ": head_dim ", head_dim, " must be a multiple of 4 and at most ", 4 * kWorkgroup);
}

// The tiled prefill kernel's shape (attention_prefill.wgsl): bq query tokens per workgroup of
// 128 invocations, bk keys per tile (K and V rows staged in the cache's type). The first of
// 16 x 64, 16 x 32, 8 x 32, 8 x 16 (or the knobs' choice, bq up to 32) whose workgroup memory fits
// the adapter; bq 0 where none does (or the knobs say not to).
struct PrefillTile {
  uint32_t bq = 0, bk = 0;
};
PrefillTile prefill_tile(const KernelContext& kc, uint32_t head_dim, bool f16_cache) {
  if (!kc.attn_tiled) return {};
  const uint32_t hd4 = head_dim / 4, limit = kc.ctx.limits().max_compute_workgroup_storage_size;
  const uint64_t kv_bytes = f16_cache ? 8 : 16;  // a staged K or V vec4: packed halves, vec4<f16>, or f32
  auto fits = [&](uint32_t bq, uint32_t bk) {
    // Queries (padded rows), K (padded) and V rows, probabilities, the 16 key groups' maxima and sums.
    const uint64_t bytes = 16ull * bq * (hd4 + 1) + kv_bytes * bk * (2 * hd4 + 1) + 4ull * bq * bk + 8ull * bq * 16;
    return bytes <= limit && kc.ctx.limits().max_compute_invocations_per_workgroup >= 128;
  };
  const PrefillTile preferred[] = {{16, 64}, {16, 32}, {8, 32}, {8, 16}};
  if (!kc.attn_bq && !kc.attn_bk) {
    for (const PrefillTile& t : preferred)
      if (fits(t.bq, t.bk)) return t;
    return {};
  }
  for (uint32_t bq : {32u, 16u, 8u})
    for (uint32_t bk : {64u, 32u, 16u})
      if ((!kc.attn_bq || bq == kc.attn_bq) && (!kc.attn_bk || bk == kc.attn_bk) && fits(bq, bk)) return {bq, bk};
  fail("Attention: no prefill tile of ", kc.attn_bq, " query tokens x ", kc.attn_bk,
       " keys (WGLLM_ATTN_BQ: 8, 16 or 32, WGLLM_ATTN_BK: 16, 32 or 64) fits head_dim ", head_dim, " in ", limit,
       " bytes of workgroup memory");
}

void check_context(const char* op, const StepShape& shape, uint32_t max_tokens, uint32_t max_ctx) {
  require_tokens(op, shape, max_tokens);
  if (uint64_t(shape.pos) + shape.n_tokens > max_ctx)
    fail(op, ": positions ", shape.pos, "..", shape.pos + shape.n_tokens - 1, " exceed the context of ", max_ctx);
}

}  // namespace

void kv_cache_defines(gpu::KernelSpec& spec, bool f16_cache, bool native_f16) {
  if (!f16_cache) {
    spec.defines["KV_T"] = "vec4<f32>";
    spec.defines["KV_DECODE"] = "x";
    spec.defines["KV_ENCODE"] = "v";
  } else if (native_f16) {
    spec.defines["KV_T"] = "vec4<f16>";
    spec.defines["KV_DECODE"] = "vec4<f32>(x)";
    spec.defines["KV_ENCODE"] = "vec4<f16>(v)";
  } else {
    spec.defines["KV_T"] = "vec2<u32>";
    spec.defines["KV_DECODE"] = "vec4<f32>(unpack2x16float(x.x), unpack2x16float(x.y))";
    spec.defines["KV_ENCODE"] = "vec2<u32>(pack2x16float(v.xy), pack2x16float(v.zw))";
  }
}

uint64_t kv_cache_bytes(uint32_t max_ctx, uint32_t kv_dim, bool f16_cache) {
  return uint64_t(max_ctx) * kv_dim * (f16_cache ? 2 : 4);
}

KvCacheWrite::KvCacheWrite(KernelContext& kc, const gpu::Buffer& k, const gpu::Buffer& v, const gpu::Buffer& k_cache,
                           const gpu::Buffer& v_cache, uint32_t kv_dim, uint32_t max_ctx, bool f16_cache,
                           uint32_t max_tokens)
    : kc_(kc), max_ctx_(max_ctx), max_tokens_(max_tokens), f16_cache_(f16_cache) {
  if (kv_dim == 0 || kv_dim % 4) fail("KvCacheWrite: kv_dim ", kv_dim, " must be a positive multiple of 4");
  require_bytes("KvCacheWrite", k, uint64_t(max_tokens) * kv_dim * 4);
  require_bytes("KvCacheWrite", v, uint64_t(max_tokens) * kv_dim * 4);
  require_bytes("KvCacheWrite", k_cache, kv_cache_bytes(max_ctx, kv_dim, f16_cache));
  require_bytes("KvCacheWrite", v_cache, kv_cache_bytes(max_ctx, kv_dim, f16_cache));
  params_.n_heads = params_.n_kv_heads = 1;  // the kernel reads only the row width
  params_.head_dim = kv_dim;
  pipe_ = &kc.pipelines.get(attention_spec(kc, "kv_write", f16_cache));
  slot_ = kc.arena.alloc(params_);
  group_ = gpu::BindGroup(kc.ctx, *pipe_, {k, v, k_cache, v_cache, kc.arena.binding(slot_)});
}

void KvCacheWrite::record(gpu::Recorder& rec, const StepShape& shape) {
  check_context("KvCacheWrite", shape, max_tokens_, max_ctx_);
  params_.pos = shape.pos;
  kc_.arena.set(slot_, params_);
  const uint32_t row4 = params_.n_kv_heads * params_.head_dim / 4;
  const double row_bytes = 4.0 * params_.n_kv_heads * params_.head_dim;
  rec.dispatch(*pipe_, group_, {(row4 + kWorkgroup - 1) / kWorkgroup, shape.n_tokens},
               2.0 * shape.n_tokens * row_bytes * (f16_cache_ ? 1.5 : 2.0));
}

Attention::Attention(KernelContext& kc, const gpu::Buffer& q, const gpu::Buffer& k_cache, const gpu::Buffer& v_cache,
                     const gpu::Buffer& out, uint32_t n_heads, uint32_t n_kv_heads, uint32_t head_dim, uint32_t max_ctx,
                     float scale, float softcap, uint32_t sliding_window, bool f16_cache, uint32_t max_tokens,
                     uint32_t split_keys)
    : kc_(kc), q_(q), k_cache_(k_cache), v_cache_(v_cache), out_(out), max_ctx_(max_ctx), max_tokens_(max_tokens),
      split_keys_(std::max(1u, kc.attn_split ? kc.attn_split : split_keys)),
      cache_elem_bytes_(f16_cache ? 2 : 4) {
  check_head_dim("Attention", head_dim);
  if (n_kv_heads == 0 || n_heads % n_kv_heads)
    fail("Attention: n_heads ", n_heads, " is not a multiple of n_kv_heads ", n_kv_heads);
  if (softcap < 0) fail("Attention: softcap ", softcap, " must be >= 0 (0 = none)");
  const uint64_t act = uint64_t(max_tokens) * n_heads * head_dim * 4;
  require_bytes("Attention", q, act);
  require_bytes("Attention", out, act);
  require_bytes("Attention", k_cache, kv_cache_bytes(max_ctx, n_kv_heads * head_dim, f16_cache));
  require_bytes("Attention", v_cache, kv_cache_bytes(max_ctx, n_kv_heads * head_dim, f16_cache));
  params_ = {n_heads, n_kv_heads, head_dim, 0, scale, softcap, sliding_window, max_ctx, 1, 1};
  // Decode partials: [n_heads][max_splits][1 + head_dim / 4] vec4s.
  const uint32_t max_splits = (max_ctx + split_keys_ - 1) / split_keys_;
  scratch_ = kc.ctx.create_buffer(uint64_t(n_heads) * max_splits * (1 + head_dim / 4) * 16, gpu::kStorage,
                                  "attention-splits");
  // GPUs: one query head per workgroup. Llama-3-8B on the H100 (docs/perf-notes.md #18) decodes
  // 3 % faster than with its 4-head blocks at short contexts: 32 workgroups instead of 8 shorten
  // the latency chain, and the K / V rows the heads of a group share come from L2.
  const bool cpu = kc.ctx.adapter().adapter_type == "CPU";
  heads_per_block_ = heads_per_block(n_heads / n_kv_heads, kc.attn_hpw ? kc.attn_hpw : cpu ? kMaxHeadsPerBlock : 1);
  attend_slot_ = kc.arena.alloc(params_);
  combine_slot_ = kc.arena.alloc(params_);
  // Only the pipelines this op can need (each costs a shader compile).
  if (max_tokens > 1) {
    const PrefillTile t = prefill_tile(kc, head_dim, f16_cache);
    if (t.bq) {
      gpu::KernelSpec spec = attention_spec(kc, "prefill", f16_cache, head_dim);
      spec.file += "+attention_prefill.wgsl";
      spec.source += kernel_source("attention_prefill.wgsl");
      spec.defines["BQ"] = std::to_string(t.bq);
      spec.defines["BK"] = std::to_string(t.bk);
      spec.name += cat("_", t.bq, "x", t.bk);
      attend_ = &kc.pipelines.get(spec);
      prefill_tokens_ = t.bq;
      attend_group_ = gpu::BindGroup(kc.ctx, *attend_,
                                     {{0, q}, {1, k_cache}, {2, v_cache}, {3, out}, {5, kc.arena.binding(attend_slot_)}});
    } else {
      attend_ = &kc.pipelines.get(attention_spec(kc, "attend", f16_cache));
      attend_group_ = gpu::BindGroup(kc.ctx, *attend_, {q, k_cache, v_cache, out, scratch_, kc.arena.binding(attend_slot_)});
    }
  }
  bind_decode(max_splits > 1);
}

// The decode kernel and, where the context can split, the combine pass; with qout_ set, their
// variants that also write the int8 output.
void Attention::bind_decode(bool splits) {
  const bool f16_cache = cache_elem_bytes_ == 2, q8 = qout_ != nullptr;
  decode_ = &kc_.pipelines.get(attention_spec(kc_, "decode", f16_cache, params_.head_dim, heads_per_block_, q8));
  std::vector<gpu::Binding> d = {q_, k_cache_, v_cache_, out_, scratch_, kc_.arena.binding(attend_slot_)};
  std::vector<gpu::Binding> c = {scratch_, out_, kc_.arena.binding(combine_slot_)};
  if (q8)
    for (auto* b : {&d, &c}) b->insert(b->end(), {qout_->qs, qout_->ds});
  decode_group_ = gpu::BindGroup(kc_.ctx, *decode_, d);
  if (splits) {
    combine_ = &kc_.pipelines.get(attention_spec(kc_, "combine", f16_cache, 4, 1, q8));
    combine_group_ = gpu::BindGroup(kc_.ctx, *combine_, c);
  }
}

const QuantizedX* Attention::enable_quantized_output(const std::string& label) {
  const uint32_t cols = params_.n_heads * params_.head_dim;
  if (params_.head_dim % 32 != 0) return nullptr;
  qout_ = std::make_unique<QuantizedX>();
  qout_->cols = cols;
  qout_->qs = kc_.ctx.create_buffer(cols, gpu::kStorage, label + ".q8");
  qout_->ds = kc_.ctx.create_buffer(uint64_t(cols / 32) * 16, gpu::kStorage, label + ".q8_scales");
  bind_decode(combine_ != nullptr);
  return qout_.get();
}

void Attention::record(gpu::Recorder& rec, const StepShape& shape) {
  check_context("Attention", shape, max_tokens_, max_ctx_);
  params_.pos = shape.pos;
  params_.n_tokens = shape.n_tokens;
  const uint32_t last = shape.pos + shape.n_tokens - 1;
  const uint32_t first = params_.window && last >= params_.window ? last - params_.window + 1 : 0;
  const uint32_t keys = last - first + 1;  // keys of the last query (all of them when decoding)
  if (shape.n_tokens == 1 && keys > split_keys_) {
    params_.split_len = split_keys_;
    params_.n_splits = (keys + split_keys_ - 1) / split_keys_;
  } else {
    params_.split_len = max_ctx_;
    params_.n_splits = 1;
  }
  kc_.arena.set(attend_slot_, params_);
  kc_.arena.set(combine_slot_, params_);
  const double kv_bytes = 2.0 * keys * params_.n_kv_heads * params_.head_dim * cache_elem_bytes_;
  const double qo_bytes = 8.0 * shape.n_tokens * params_.n_heads * params_.head_dim;
  if (shape.n_tokens == 1) {
    rec.dispatch(*decode_, decode_group_, {params_.n_splits, params_.n_heads / heads_per_block_}, kv_bytes + qo_bytes);
  } else if (prefill_tokens_) {  // each block of query tokens and head reads its kv head's K, V rows
    const uint32_t blocks = (shape.n_tokens + prefill_tokens_ - 1) / prefill_tokens_;
    rec.dispatch(*attend_, attend_group_, {blocks, params_.n_heads},
                 kv_bytes / params_.n_kv_heads * params_.n_heads * blocks + qo_bytes);
  } else {
    rec.dispatch(*attend_, attend_group_, {params_.n_splits, params_.n_heads, shape.n_tokens}, kv_bytes + qo_bytes);
  }
  if (params_.n_splits > 1)
    rec.dispatch(*combine_, combine_group_, {params_.n_heads, shape.n_tokens},
                 16.0 * params_.n_heads * params_.n_splits * (1 + params_.head_dim / 4));
}

}  // namespace wgllm::kernels
