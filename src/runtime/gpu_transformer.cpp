#include "runtime/gpu_transformer.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cmath>

#include "kernels/attention.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/matmul.h"
#include "kernels/norm.h"
#include "kernels/quantize_x.h"
#include "kernels/rope.h"
#include "kernels/sampling.h"
#include "kernels/weights.h"
#include "util/error.h"
#include "util/progress.h"

namespace wgllm::runtime {

using gpu::Buffer;
using kernels::StepShape;

namespace {

uint64_t f32_bytes(int64_t n) { return uint64_t(n) * 4; }

// Rows [row0, row0 + rows) of a GGUF matrix for upload_weight: a view into the map natively; in
// the browser read from the file now and freed after the upload (the heap never holds the model).
TensorBytes rows_at(const GgufTensor& t, int64_t row0, int64_t rows) {
  const uint64_t rb = row_bytes(t.type, t.shape[0]);
  return TensorBytes(t, uint64_t(row0) * rb, uint64_t(rows) * rb);
}

}  // namespace

// Everything one transformer layer needs on the GPU, built once.
// Where q, k, v (and gate, up) share a type, they are one stacked weight in wq (w_gate) whose
// single MatMul writes all three (two) outputs: wk, wv (w_up) and their MatMuls stay empty.
struct LayerOps {
  kernels::GpuWeight wq, wk, wv, wo, w_gate, w_up, w_down;
  Buffer attn_norm, ffn_norm, post_attn_norm, post_ffn_norm, q_norm, k_norm;  // f32 vectors
  Buffer bq, bk, bv;
  Buffer k_cache, v_cache;
  std::unique_ptr<kernels::RmsNorm> norm_attn, norm_ffn, norm_q, norm_k, norm_post_attn, norm_post_ffn;
  std::unique_ptr<kernels::MatMul> mm_q, mm_k, mm_v, mm_o, mm_gate, mm_up, mm_down;
  std::unique_ptr<kernels::AddBias> bias_q, bias_k, bias_v;
  std::unique_ptr<kernels::RopeKvWrite> rope_kv;  // RoPE on q and k, k and v into the caches
  std::unique_ptr<kernels::Attention> attention;
  std::unique_ptr<kernels::GatedActivation> act;
  std::unique_ptr<kernels::Add> add_attn, add_ffn;  // post-norm families only
  // Decode: int8 copies of the matvecs' inputs (null where no consumer takes them).
  std::unique_ptr<kernels::QuantizeX> qx_attn, qx_o, qx_ffn, qx_act;
  // Filled by the matvec before them (quantize_output), so their own pass is not recorded.
  bool attn_in_produced = false, ffn_in_produced = false, act_produced = false;
  // Decode: the q | k | v matvec applies RoPE and fills the caches itself (MatMul::rope_output).
  bool rope_in_matvec = false;
};

struct GpuTransformer::Impl {
  gpu::Context& ctx;
  ModelWeights w;
  GpuTransformerOptions opt;
  MemoryPlan plan;
  double load_s = 0;
  kernels::KernelContext kc;
  gpu::Profile profile;
  int max_ctx, batch, logit_rows;  // = plan.max_ctx, .batch, .logit_rows

  // Activations: [batch][width] f32 unless noted.
  Buffer ids;  // u32 [batch]
  Buffer x, xn, q, qn, k, kn, v, attn, tmp, tmp2, gate, up, hidden, final_x, logits, next_id, inv_freq;
  kernels::GpuWeight token_embd, output;
  Buffer output_norm;
  std::unique_ptr<kernels::EmbeddingLookup> embed;
  std::unique_ptr<kernels::RmsNorm> norm_final;
  std::unique_ptr<kernels::MatMul> mm_out;       // one token: the final norm fused into its input
  std::unique_ptr<kernels::MatMul> mm_out_rows;  // several tokens: reads the normed rows in final_x
  std::unique_ptr<kernels::QuantizeX> qx_out;    // one token: mm_out's int8 input, where its weight type allows
  bool out_in_produced = false;                  // qx_out filled by the last layer's down matvec
  std::unique_ptr<kernels::Softcap> final_softcap;
  std::unique_ptr<kernels::Argmax> argmax;
  std::vector<LayerOps> layers;
  double decode_record_s = 0, decode_wait_s = 0;  // forward_greedy: CPU encoding vs waiting
  int64_t decode_steps = 0, decode_dispatches = 0;
  Buffer token_stage[2];  // MapRead copies of a greedy step's token id, by position parity
  int spec_pos = -1;      // position of the greedy step submitted ahead (-1: none)
  int last_out = -1;      // the token id forward_greedy last returned

  // A one-token greedy step at `pos`: the input id from `token`, or (null) the id the previous
  // step's argmax left in `ids` on the GPU. Its argmax goes to `ids` and token_stage[pos % 2].
  void submit_greedy_step(int pos, const int* token) {
    if (token) write_ids(std::span<const int>(token, 1));
    gpu::Recorder rec = kc.recorder(&profile);
    record_step(rec, 1, pos, 1);
    argmax->record(rec, StepShape{1, uint32_t(pos)});
    rec.copy(next_id, 0, ids, 0, 4);
    rec.copy(next_id, 0, token_stage[pos % 2], 0, 4);
    rec.submit();
    decode_dispatches += rec.dispatch_count();
  }

  Impl(gpu::Context& c, ModelWeights weights, const GpuTransformerOptions& o)
      : ctx(c), w(std::move(weights)), opt(o), kc(c) {
    if (opt.quantize_activations >= 0) kc.quantize_activations = opt.quantize_activations == 1;
    plan = plan_memory(w, opt, ctx);
    max_ctx = plan.max_ctx;
    batch = plan.batch;
    logit_rows = plan.logit_rows;
    const auto t0 = std::chrono::steady_clock::now();
    upload_weights();
    allocate_activations();
    build_ops();
    ctx.finish();
    load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  Buffer vector_buffer(const GgufTensor* t, const char* what) {
    if (!t) return {};
    std::vector<float> v = tensor_to_f32(*t);
    Buffer b = ctx.create_buffer(v.size() * 4, gpu::kStorage, t->name);
    ctx.write(b, v.data(), v.size() * 4);
    return b;
  }

  kernels::GpuWeight matrix(const GgufTensor& t, int64_t row0, int64_t rows, const std::string& name) {
    const TensorBytes bytes = rows_at(t, row0, rows);
    return kernels::upload_weight(ctx, name, t.type, uint32_t(rows), uint32_t(t.shape[0]), bytes.data());
  }
  kernels::GpuWeight matrix(const GgufTensor& t) { return matrix(t, 0, t.n_rows(), t.name); }
  // Row ranges (tensor, first row, rows) of matrices of one type and width stacked into one weight.
  struct Rows {
    const GgufTensor* t;
    int64_t row0, rows;
  };
  // $WGLLM_STACK_WEIGHTS=0 keeps them apart (for measuring).
  static bool stackable(std::initializer_list<Rows> parts) {
    static const bool off = std::getenv("WGLLM_STACK_WEIGHTS") && std::string(std::getenv("WGLLM_STACK_WEIGHTS")) == "0";
    if (off) return false;
    for (const Rows& r : parts)
      if (r.t->type != parts.begin()->t->type || r.t->shape[0] != parts.begin()->t->shape[0] || r.rows % 2 != 0) return false;
    return true;
  }
  kernels::GpuWeight stacked(std::initializer_list<Rows> parts, const std::string& name) {
    std::vector<TensorBytes> bytes;
    std::vector<kernels::WeightPart> p;
    for (const Rows& r : parts) {
      bytes.push_back(rows_at(*r.t, r.row0, r.rows));
      p.push_back({bytes.back().data(), uint32_t(r.rows)});
    }
    const GgufTensor& t = *parts.begin()->t;
    return kernels::upload_weight(ctx, name, t.type, uint32_t(t.shape[0]), p);
  }

  void upload_weights() {
    const ModelConfig& cfg = w.config;
    const ArchInfo& arch = *cfg.arch;
    ProgressBar bar("loading weights to the GPU", plan.weights, "B");
    if (!opt.progress) bar.finish();
    auto done = [&](const GgufTensor* t) {
      if (t && opt.progress) bar.advance(t->size);
    };
    token_embd = matrix(*w.get(TensorRole::TokenEmbd));
    done(w.get(TensorRole::TokenEmbd));
    output_norm = vector_buffer(w.get(TensorRole::OutputNorm), "output_norm");
    if (!cfg.tied_output) {
      output = matrix(w.output());
      done(&w.output());
    }
    layers.resize(cfg.n_layers);
    for (int l = 0; l < cfg.n_layers; ++l) {
      LayerOps& L = layers[l];
      auto get = [&](TensorRole r) { return w.get(r, l); };
      L.attn_norm = vector_buffer(get(TensorRole::AttnNorm), "attn_norm");
      L.ffn_norm = vector_buffer(get(TensorRole::FfnNorm), "ffn_norm");
      L.post_attn_norm = vector_buffer(get(TensorRole::AttnPostNorm), "post_attention_norm");
      L.post_ffn_norm = vector_buffer(get(TensorRole::FfnPostNorm), "post_ffw_norm");
      L.q_norm = vector_buffer(get(TensorRole::AttnQNorm), "attn_q_norm");
      L.k_norm = vector_buffer(get(TensorRole::AttnKNorm), "attn_k_norm");
      L.bq = vector_buffer(get(TensorRole::AttnQBias), "attn_q.bias");
      L.bk = vector_buffer(get(TensorRole::AttnKBias), "attn_k.bias");
      L.bv = vector_buffer(get(TensorRole::AttnVBias), "attn_v.bias");
      const int64_t qd = cfg.q_dim(), kvd = cfg.kv_dim(), ff = cfg.ffn_dim;
      if (arch.fused_qkv) {  // rows: q | k | v
        const GgufTensor& qkv = *get(TensorRole::AttnQkv);
        if (stackable({{&qkv, 0, qd}, {&qkv, qd, kvd}, {&qkv, qd + kvd, kvd}})) {
          L.wq = matrix(qkv);
        } else {
          L.wq = matrix(qkv, 0, qd, qkv.name + "[q]");
          L.wk = matrix(qkv, qd, kvd, qkv.name + "[k]");
          L.wv = matrix(qkv, qd + kvd, kvd, qkv.name + "[v]");
        }
        done(&qkv);
      } else {
        const GgufTensor *tq = get(TensorRole::AttnQ), *tk = get(TensorRole::AttnK), *tv = get(TensorRole::AttnV);
        if (stackable({{tq, 0, qd}, {tk, 0, kvd}, {tv, 0, kvd}})) {
          L.wq = stacked({{tq, 0, qd}, {tk, 0, kvd}, {tv, 0, kvd}}, cat(tq->name, "|k|v"));
        } else if (stackable({{tq, 0, qd}, {tk, 0, kvd}})) {  // Q4_K_M keeps v in Q6_K: q | k still stack
          L.wq = stacked({{tq, 0, qd}, {tk, 0, kvd}}, cat(tq->name, "|k"));
          L.wv = matrix(*tv);
        } else {
          L.wq = matrix(*tq);
          L.wk = matrix(*tk);
          L.wv = matrix(*tv);
        }
        for (auto r : {TensorRole::AttnQ, TensorRole::AttnK, TensorRole::AttnV}) done(get(r));
      }
      L.wo = matrix(*get(TensorRole::AttnOut));
      done(get(TensorRole::AttnOut));
      if (arch.fused_gate_up) {  // rows: gate | up
        const GgufTensor& gu = *get(TensorRole::FfnUp);
        if (stackable({{&gu, 0, ff}, {&gu, ff, ff}})) {
          L.w_gate = matrix(gu);
        } else {
          L.w_gate = matrix(gu, 0, ff, gu.name + "[gate]");
          L.w_up = matrix(gu, ff, ff, gu.name + "[up]");
        }
      } else {
        const GgufTensor *tg = get(TensorRole::FfnGate), *tu = get(TensorRole::FfnUp);
        if (stackable({{tg, 0, ff}, {tu, 0, ff}})) {
          L.w_gate = stacked({{tg, 0, ff}, {tu, 0, ff}}, cat(tg->name, "|up"));
        } else {
          L.w_gate = matrix(*tg);
          L.w_up = matrix(*tu);
        }
        done(tg);
      }
      done(get(TensorRole::FfnUp));
      L.w_down = matrix(*get(TensorRole::FfnDown));
      done(get(TensorRole::FfnDown));
    }
    bar.finish();
  }

  void allocate_activations() {
    const ModelConfig& cfg = w.config;
    auto act = [&](int64_t width, const char* name) { return ctx.create_buffer(f32_bytes(int64_t(batch) * width), gpu::kStorage, name); };
    ids = ctx.create_buffer(uint64_t(batch) * 4, gpu::kStorage, "token_ids");
    x = act(cfg.dim, "x");
    xn = act(cfg.dim, "x_norm");
    q = act(cfg.q_dim(), "q");
    k = act(cfg.kv_dim(), "k");
    v = act(cfg.kv_dim(), "v");
    if (cfg.arch->qk_norm) {
      qn = act(cfg.q_dim(), "q_norm");
      kn = act(cfg.kv_dim(), "k_norm");
    }
    attn = act(cfg.q_dim(), "attn");
    if (cfg.arch->post_norms) {
      tmp = act(cfg.dim, "branch");
      tmp2 = act(cfg.dim, "branch_norm");
    }
    gate = act(cfg.ffn_dim, "gate");
    up = act(cfg.ffn_dim, "up");
    hidden = act(cfg.ffn_dim, "hidden");
    final_x = ctx.create_buffer(f32_bytes(int64_t(logit_rows) * cfg.dim), gpu::kStorage, "final_x");
    logits = ctx.create_buffer(f32_bytes(int64_t(logit_rows) * cfg.vocab_size), gpu::kStorage, "logits");
    next_id = ctx.create_buffer(4, gpu::kStorage, "next_id");
    for (int i = 0; i < 2; ++i) token_stage[i] = ctx.create_buffer(4, gpu::kReadback, cat("token_stage.", i));
    const uint64_t kv_row = uint64_t(cfg.kv_dim()) * (opt.f16_kv_cache ? 2 : 4);
    for (int l = 0; l < cfg.n_layers; ++l) {
      layers[l].k_cache = ctx.create_buffer(kv_row * max_ctx, gpu::kStorage, cat("k_cache.", l));
      layers[l].v_cache = ctx.create_buffer(kv_row * max_ctx, gpu::kStorage, cat("v_cache.", l));
    }
    // RoPE inverse frequencies, scaling and per-frequency factors folded in on the CPU.
    const int half = cfg.rope_dims / 2;
    const std::vector<float> factors = w.rope_factors(max_ctx);
    std::vector<float> inv(half);
    for (int i = 0; i < half; ++i)
      inv[i] = float(cfg.rope_freq_scale * std::pow(double(cfg.rope_theta), -2.0 * i / cfg.rope_dims) / factors[i]);
    inv_freq = ctx.create_buffer(f32_bytes(half), gpu::kStorage, "rope_inv_freq");
    ctx.write(inv_freq, inv.data(), f32_bytes(half));
  }

  void build_ops() {
    const ModelConfig& cfg = w.config;
    const ArchInfo& arch = *cfg.arch;
    const bool neox = arch.rope_order == RopeOrder::NeoX;
    const auto act_kind = arch.activation == Activation::SiLU ? kernels::GateKind::SwiGLU : kernels::GateKind::GeGLU;
    using Kind = kernels::VecInput::Kind;
    embed = std::make_unique<kernels::EmbeddingLookup>(kc, token_embd, ids, x, batch, cfg.embed_scale);
    for (int l = 0; l < cfg.n_layers; ++l) {
      LayerOps& L = layers[l];
      const bool post = arch.post_norms;
      L.norm_attn = std::make_unique<kernels::RmsNorm>(kc, x, L.attn_norm, xn, cfg.dim, cfg.norm_eps, batch);
      // Decode steps fuse the norms and the gated activation into the matvecs' input (VecInput);
      // prefill steps run them as separate ops (see record_step).
      const kernels::VecInput attn_in{Kind::RmsNorm, &x, &L.attn_norm, cfg.norm_eps};
      const kernels::VecInput ffn_in{Kind::RmsNorm, &x, &L.ffn_norm, cfg.norm_eps};
      const kernels::VecInput act_in{arch.activation == Activation::SiLU ? Kind::SwiGLU : Kind::GeGLU, &gate, &up};
      const uint32_t kvd = uint32_t(cfg.kv_dim()), ff = uint32_t(cfg.ffn_dim);
      if (L.wk.chunks.empty() && L.wv.chunks.empty()) {  // q | k | v stacked
        L.mm_q = std::make_unique<kernels::MatMul>(kc, L.wq, xn, q, batch, false, attn_in,
                                                   std::vector<kernels::StackedOutput>{{&k, kvd}, {&v, kvd}});
      } else if (L.wk.chunks.empty()) {  // q | k stacked, v apart
        L.mm_q = std::make_unique<kernels::MatMul>(kc, L.wq, xn, q, batch, false, attn_in,
                                                   std::vector<kernels::StackedOutput>{{&k, kvd}});
        L.mm_v = std::make_unique<kernels::MatMul>(kc, L.wv, xn, v, batch, false, attn_in);
      } else {
        L.mm_q = std::make_unique<kernels::MatMul>(kc, L.wq, xn, q, batch, false, attn_in);
        L.mm_k = std::make_unique<kernels::MatMul>(kc, L.wk, xn, k, batch, false, attn_in);
        L.mm_v = std::make_unique<kernels::MatMul>(kc, L.wv, xn, v, batch, false, attn_in);
      }
      if (arch.qkv_bias) {
        L.bias_q = std::make_unique<kernels::AddBias>(kc, q, L.bq, cfg.q_dim(), batch);
        L.bias_k = std::make_unique<kernels::AddBias>(kc, k, L.bk, cfg.kv_dim(), batch);
        L.bias_v = std::make_unique<kernels::AddBias>(kc, v, L.bv, cfg.kv_dim(), batch);
      }
      const Buffer& qr = arch.qk_norm ? qn : q;  // the buffers RoPE and attention read
      const Buffer& kr = arch.qk_norm ? kn : k;
      if (arch.qk_norm) {  // RMSNorm over each head: rows of head_dim
        L.norm_q = std::make_unique<kernels::RmsNorm>(kc, q, L.q_norm, qn, cfg.head_dim, cfg.norm_eps, batch * cfg.n_heads);
        L.norm_k = std::make_unique<kernels::RmsNorm>(kc, k, L.k_norm, kn, cfg.head_dim, cfg.norm_eps, batch * cfg.n_kv_heads);
      }
      L.rope_kv = std::make_unique<kernels::RopeKvWrite>(kc, qr, kr, v, L.k_cache, L.v_cache, cfg.n_heads, cfg.n_kv_heads,
                                                         cfg.head_dim, cfg.rope_dims, neox, inv_freq, cfg.rope_attn_factor,
                                                         max_ctx, opt.f16_kv_cache, batch);
      const int window = cfg.layer_sliding.empty() || !cfg.layer_sliding[l] ? 0 : cfg.sliding_window;
      L.attention = std::make_unique<kernels::Attention>(kc, qr, L.k_cache, L.v_cache, attn, cfg.n_heads, cfg.n_kv_heads,
                                                         cfg.head_dim, max_ctx, cfg.attn_scale, cfg.attn_softcap, window,
                                                         opt.f16_kv_cache, batch);
      // Residual adds: fused into the output projections (y += W a) unless a post-norm sits between.
      L.mm_o = std::make_unique<kernels::MatMul>(kc, L.wo, attn, post ? tmp : x, batch, /*accumulate=*/!post);
      L.norm_ffn = std::make_unique<kernels::RmsNorm>(kc, x, L.ffn_norm, xn, cfg.dim, cfg.norm_eps, batch);
      if (L.w_up.chunks.empty()) {  // gate | up stacked
        L.mm_gate = std::make_unique<kernels::MatMul>(kc, L.w_gate, xn, gate, batch, false, ffn_in,
                                                      std::vector<kernels::StackedOutput>{{&up, ff}});
      } else {
        L.mm_gate = std::make_unique<kernels::MatMul>(kc, L.w_gate, xn, gate, batch, false, ffn_in);
        L.mm_up = std::make_unique<kernels::MatMul>(kc, L.w_up, xn, up, batch, false, ffn_in);
      }
      L.act = std::make_unique<kernels::GatedActivation>(kc, gate, up, hidden, cfg.ffn_dim, act_kind, batch);
      L.mm_down = std::make_unique<kernels::MatMul>(kc, L.w_down, hidden, post ? tmp : x, batch, /*accumulate=*/!post, act_in);
      if (post) {
        L.norm_post_attn = std::make_unique<kernels::RmsNorm>(kc, tmp, L.post_attn_norm, tmp2, cfg.dim, cfg.norm_eps, batch);
        L.norm_post_ffn = std::make_unique<kernels::RmsNorm>(kc, tmp, L.post_ffn_norm, tmp2, cfg.dim, cfg.norm_eps, batch);
        // In place (x += tmp2), only the step's rows.
        L.add_attn = std::make_unique<kernels::Add>(kc, x, tmp2, x, uint32_t(cfg.dim), uint32_t(batch));
        L.add_ffn = std::make_unique<kernels::Add>(kc, x, tmp2, x, uint32_t(cfg.dim), uint32_t(batch));
      }
    }
    if (kc.quantize_activations)
      for (int l = 0; l < cfg.n_layers; ++l) quantize_inputs(layers[l], l);
    norm_final = std::make_unique<kernels::RmsNorm>(kc, x, output_norm, xn, cfg.dim, cfg.norm_eps, batch);
    const kernels::GpuWeight& out_w = cfg.tied_output ? token_embd : output;
    mm_out = std::make_unique<kernels::MatMul>(kc, out_w, final_x, logits, logit_rows, false,
                                               kernels::VecInput{Kind::RmsNorm, &x, &output_norm, cfg.norm_eps});
    mm_out_rows = std::make_unique<kernels::MatMul>(kc, out_w, final_x, logits, logit_rows);
    if (cfg.final_softcap > 0)
      final_softcap = std::make_unique<kernels::Softcap>(kc, logits, uint32_t(logit_rows * cfg.vocab_size), cfg.final_softcap);
    argmax = std::make_unique<kernels::Argmax>(kc, logits, next_id, uint32_t(cfg.vocab_size));
    if (kc.quantize_activations && cfg.dim % 32 == 0) {
      qx_out = std::make_unique<kernels::QuantizeX>(kc, kernels::VecInput{Kind::RmsNorm, &x, &output_norm, cfg.norm_eps}, cfg.dim, "x_out");
      if (!mm_out->use_quantized_input(qx_out->output())) qx_out.reset();
    }
    if (kc.quantize_activations && !std::getenv("WGLLM_QOUT_OFF"))
      for (int l = 0; l < cfg.n_layers; ++l) produce_quantized_inputs(l);
    // Decode: RoPE and the cache write inside the q | k | v matvec, where nothing (biases, q / k
    // norms) sits between them. WGLLM_ROPE_FUSED=0 keeps the separate pass (measurement).
    const char* rope_env = std::getenv("WGLLM_ROPE_FUSED");
    if (kc.quantize_activations && !arch.qkv_bias && !arch.qk_norm && !(rope_env && std::string(rope_env) == "0"))
      for (LayerOps& L : layers) {
        if (L.mm_k) continue;  // q, k, v all apart: the separate pass
        const kernels::RopeOutput r{&L.k_cache, &L.v_cache, &inv_freq, uint32_t(cfg.n_heads), uint32_t(cfg.n_kv_heads),
                                    uint32_t(cfg.head_dim), uint32_t(cfg.rope_dims), neox, cfg.rope_attn_factor,
                                    uint32_t(max_ctx), opt.f16_kv_cache};
        // q | k stacked and v apart (Q4_K_M's v is Q6_K): both ops or neither, or RopeKvWrite
        // would rotate q a second time.
        kernels::RopeOutput rv = r;
        rv.first_row = uint32_t(cfg.q_dim() + cfg.kv_dim());
        const bool both = L.mm_q->can_rope_output(r) && (!L.mm_v || L.mm_v->can_rope_output(rv));
        L.rope_in_matvec = both && L.mm_q->rope_output(r) && (!L.mm_v || L.mm_v->rope_output(rv));
      }
  }

  // Lets layer l's matvecs write the next matvec's int8 input themselves (matmul_vec_q8_qout.wgsl):
  // gate|up the activation's, o the FFN norm's, down the next layer's attention norm's (the
  // output norm's after the last layer). Pre-norm families only: with post-norms the residual is
  // added by a separate pass.
  void produce_quantized_inputs(int l) {
    using Q = kernels::QuantizedOutput;
    const ModelConfig& cfg = w.config;
    LayerOps& L = layers[l];
    if (L.add_attn) return;
    const auto act = cfg.arch->activation == Activation::SiLU ? kernels::VecInput::Kind::SwiGLU : kernels::VecInput::Kind::GeGLU;
    if (L.qx_act && !L.mm_up) L.act_produced = L.mm_gate->quantize_output({Q::Kind::Gated, &L.qx_act->output(), nullptr, act});
    if (L.qx_ffn) L.ffn_in_produced = L.mm_o->quantize_output({Q::Kind::Residual, &L.qx_ffn->output(), &L.ffn_norm});
    const bool last = l + 1 == cfg.n_layers;
    kernels::QuantizeX* next = last ? qx_out.get() : layers[l + 1].qx_attn.get();
    if (next && L.mm_down->quantize_output({Q::Kind::Residual, &next->output(), last ? &output_norm : &layers[l + 1].attn_norm}))
      (last ? out_in_produced : layers[l + 1].attn_in_produced) = true;
  }

  // Gives the decode matvecs of layer l int8 activations where their weights allow it.
  void quantize_inputs(LayerOps& L, int l) {
    const ModelConfig& cfg = w.config;
    using Kind = kernels::VecInput::Kind;
    auto attach = [&](std::unique_ptr<kernels::QuantizeX>& qx, const kernels::VecInput& in, uint32_t cols, const char* name,
                      std::initializer_list<kernels::MatMul*> consumers) {
      qx = std::make_unique<kernels::QuantizeX>(kc, in, cols, cat(name, ".", l));
      bool used = false;
      for (kernels::MatMul* mm : consumers)
        if (mm) used |= mm->use_quantized_input(qx->output());
      if (!used) qx.reset();
    };
    if (cfg.dim % 32 == 0) {
      attach(L.qx_attn, {Kind::RmsNorm, &x, &L.attn_norm, cfg.norm_eps}, cfg.dim, "x_attn", {L.mm_q.get(), L.mm_k.get(), L.mm_v.get()});
      attach(L.qx_ffn, {Kind::RmsNorm, &x, &L.ffn_norm, cfg.norm_eps}, cfg.dim, "x_ffn", {L.mm_gate.get(), L.mm_up.get()});
    }
    // The attention writes its output int8-quantized itself where it can (no quantize pass).
    const kernels::QuantizedX* attn_q8 = nullptr;
    if (cfg.q_dim() % 32 == 0 && L.mm_o->accepts_quantized_input() && !std::getenv("WGLLM_ATTN_QPASS"))
      attn_q8 = L.attention->enable_quantized_output(cat("attn_out.", l));
    if (attn_q8) L.mm_o->use_quantized_input(*attn_q8);
    else if (cfg.q_dim() % 32 == 0) attach(L.qx_o, {Kind::Plain, &attn, nullptr, 0}, cfg.q_dim(), "attn_out", {L.mm_o.get()});
    if (cfg.ffn_dim % 32 == 0)
      attach(L.qx_act, {cfg.arch->activation == Activation::SiLU ? Kind::SwiGLU : Kind::GeGLU, &gate, &up, 0}, cfg.ffn_dim,
             "ffn_act", {L.mm_down.get()});
  }

  // Records one step of n tokens at `pos`; the logits of the last `out_rows` tokens land in
  // logits[0..out_rows).
  void record_step(gpu::Recorder& rec, int n, int pos, int out_rows) {
    const ModelConfig& cfg = w.config;
    const StepShape s{uint32_t(n), uint32_t(pos)};
    const bool fused = n == 1;  // one token: norms and activation run inside the matvecs
    embed->record(rec, s);
    for (LayerOps& L : layers) {
      if (!fused) L.norm_attn->record(rec, s);
      if (fused && L.qx_attn && !L.attn_in_produced) L.qx_attn->record(rec);
      L.mm_q->record(rec, s);
      if (L.mm_k) L.mm_k->record(rec, s);
      if (L.mm_v) L.mm_v->record(rec, s);
      if (L.bias_q) {
        L.bias_q->record(rec, s);
        L.bias_k->record(rec, s);
        L.bias_v->record(rec, s);
      }
      if (L.norm_q) {
        L.norm_q->record(rec, StepShape{uint32_t(n * cfg.n_heads), s.pos});
        L.norm_k->record(rec, StepShape{uint32_t(n * cfg.n_kv_heads), s.pos});
      }
      if (!(fused && L.rope_in_matvec)) L.rope_kv->record(rec, s);
      L.attention->record(rec, s);
      if (fused && L.qx_o) L.qx_o->record(rec);
      L.mm_o->record(rec, s);
      if (L.add_attn) {  // x += post_norm(attn_out)
        L.norm_post_attn->record(rec, s);
        L.add_attn->record(rec, s);
      }
      if (!fused) L.norm_ffn->record(rec, s);
      if (fused && L.qx_ffn && !L.ffn_in_produced) L.qx_ffn->record(rec);
      L.mm_gate->record(rec, s);
      if (L.mm_up) L.mm_up->record(rec, s);
      if (!fused) L.act->record(rec, s);
      if (fused && L.qx_act && !L.act_produced) L.qx_act->record(rec);
      L.mm_down->record(rec, s);
      if (L.add_ffn) {
        L.norm_post_ffn->record(rec, s);
        L.add_ffn->record(rec, s);
      }
    }
    if (!fused) {
      norm_final->record(rec, s);
      const uint64_t row = f32_bytes(cfg.dim);
      rec.copy(xn, row * uint64_t(n - out_rows), final_x, 0, row * uint64_t(out_rows));
    }
    if (fused && qx_out && !out_in_produced) qx_out->record(rec);
    (fused ? mm_out : mm_out_rows)->record(rec, StepShape{uint32_t(out_rows), s.pos});
    if (final_softcap) final_softcap->record(rec, StepShape{uint32_t(out_rows), s.pos});
  }

  void check_positions(int n, int pos) const {
    if (pos < 0 || pos + n > max_ctx)
      fail("context full: ", pos, " + ", n, " tokens exceed the KV cache of ", max_ctx,
           " tokens (raise --ctx, up to the model's ", w.config.context_length, ")");
  }

  void write_ids(std::span<const int> tokens) {
    std::vector<uint32_t> u(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i] < 0 || tokens[i] >= w.config.vocab_size)
        fail("token id ", tokens[i], " is outside the vocabulary (", w.config.vocab_size, ")");
      u[i] = uint32_t(tokens[i]);
    }
    ctx.write(ids, u.data(), u.size() * 4);
  }
};

GpuTransformer::GpuTransformer(gpu::Context& ctx, ModelWeights weights, const GpuTransformerOptions& options)
    : impl_(std::make_unique<Impl>(ctx, std::move(weights), options)) {}
GpuTransformer::~GpuTransformer() = default;
const ModelConfig& GpuTransformer::config() const { return impl_->w.config; }
int GpuTransformer::max_context() const { return impl_->max_ctx; }
const MemoryPlan& GpuTransformer::memory_plan() const { return impl_->plan; }
double GpuTransformer::load_seconds() const { return impl_->load_s; }
gpu::Profile& GpuTransformer::profile() { return impl_->profile; }

std::vector<float> GpuTransformer::forward(std::span<const int> tokens, int start_pos, bool all_logits) {
  Impl& m = *impl_;
  m.spec_pos = -1;  // this writes the KV cache and the token ids: a step submitted ahead is void
  const int vocab = m.w.config.vocab_size;
  m.check_positions(int(tokens.size()), start_pos);
  std::vector<float> out;
  const int step_max = all_logits ? m.logit_rows : m.batch;
  for (size_t done = 0; done < tokens.size();) {
    const int n = int(std::min<size_t>(step_max, tokens.size() - done));
    const bool last = done + n == tokens.size();
    const int out_rows = all_logits ? n : 1;
    m.write_ids(tokens.subspan(done, n));
    gpu::Recorder rec = m.kc.recorder(&m.profile);
    m.record_step(rec, n, start_pos + int(done), out_rows);
    rec.submit();
    if (all_logits || last) {
      std::vector<float> l = m.ctx.read_vector<float>(m.logits, size_t(out_rows) * vocab);
      out.insert(out.end(), l.begin(), l.end());
    }
    done += n;
  }
  return out;
}

// Greedy decoding runs one step ahead: each step also copies its argmax into the token-id
// buffer, so the next step can be submitted before the CPU has read this step's token; while the
// GPU computes step pos+1, the CPU reads token pos and returns it. When the caller then feeds
// that same token at pos+1, the step is already on its way (the CPU encoding of a step hides
// behind the GPU's work on the previous one). A different token simply recomputes pos+1.
int GpuTransformer::forward_greedy(int token, int pos) {
  Impl& m = *impl_;
  m.check_positions(1, pos);
  const auto t0 = std::chrono::steady_clock::now();
  if (!(m.spec_pos == pos && token == m.last_out)) m.submit_greedy_step(pos, &token);
  m.spec_pos = -1;
  if (pos + 1 < m.max_ctx) {
    m.submit_greedy_step(pos + 1, nullptr);
    m.spec_pos = pos + 1;
  }
  const auto t1 = std::chrono::steady_clock::now();
  uint32_t id = 0;
  m.ctx.read_mapped(m.token_stage[pos % 2], &id, 4);
  const auto t2 = std::chrono::steady_clock::now();
  m.last_out = int(id);
  m.decode_record_s += std::chrono::duration<double>(t1 - t0).count();
  m.decode_wait_s += std::chrono::duration<double>(t2 - t1).count();
  m.decode_steps += 1;
  return int(id);
}

void GpuTransformer::invalidate_speculation() { impl_->spec_pos = -1; }

std::string GpuTransformer::decode_timing() const {
  const Impl& m = *impl_;
  if (m.decode_steps == 0) return "no decode steps";
  return cat("decode steps: ", m.decode_steps, ", ", m.decode_dispatches / m.decode_steps, " dispatches each (one step submitted ahead); CPU record+submit ",
             1e6 * m.decode_record_s / m.decode_steps, " us, wait for the GPU ", 1e6 * m.decode_wait_s / m.decode_steps, " us per step");
}

namespace {
uint64_t activation_bytes(const ModelConfig& cfg, int64_t batch, int64_t logit_rows) {
  return 4 * uint64_t(batch * (3 * cfg.dim + 4 * cfg.q_dim() + 4 * cfg.kv_dim() + 3 * cfg.ffn_dim) +
                      logit_rows * (cfg.dim + cfg.vocab_size));
}
}  // namespace

int prefill_batch(const ModelConfig& cfg, uint64_t weight_bytes, const GpuTransformerOptions& options, int max_ctx) {
  int batch = options.max_batch;
  if (batch <= 0) {
    const char* v = std::getenv("WGLLM_PREFILL_BATCH");
    batch = v ? int(std::clamp(std::strtol(v, nullptr, 10), 0L, 1L << 16)) : 0;
  }
  if (batch <= 0) {
    batch = 128;
    for (int b : {512, 256})
      if (activation_bytes(cfg, b, 0) <= weight_bytes / 16) {
        batch = b;
        break;
      }
  }
  return std::max(1, std::min(batch, max_ctx));
}

MemoryPlan plan_memory(const ModelWeights& weights, const GpuTransformerOptions& options, const gpu::Context& ctx,
                       uint64_t budget) {
  const ModelConfig& cfg = weights.config;
  MemoryPlan p;
  for (const GgufTensor& t : weights.file->tensors()) p.weights += t.size;
  const int max_ctx = p.max_ctx =
      std::min(options.max_context, cfg.context_length > 0 ? cfg.context_length : options.max_context);
  p.batch = prefill_batch(cfg, p.weights, options, max_ctx);
  p.logit_rows = std::max(1, std::min(options.max_logit_rows, p.batch));
  p.kv_cache = uint64_t(2) * cfg.n_layers * max_ctx * cfg.kv_dim() * (options.f16_kv_cache ? 2 : 4);
  p.activations = activation_bytes(cfg, p.batch, p.logit_rows);
  if (budget == 0) budget = ctx.options().memory_budget;
  if (budget > 0 && p.total() > budget) {
    auto mib = [](uint64_t bytes) {  // one decimal, so that small models do not read "1 MiB > 1 MiB"
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / (1 << 20));
      return std::string(buf);
    };
    fail("the model needs ", mib(p.total()), " on the GPU (weights ", mib(p.weights), " + KV cache ", mib(p.kv_cache),
         " for ", max_ctx, " tokens + activations ", mib(p.activations), ") but only ", mib(budget),
         " are available on ", ctx.adapter().device, " (--gpu-memory); try a smaller --ctx or a smaller quantization");
  }
  return p;
}

}  // namespace wgllm::runtime
