// The reference forward pass against an independent straight-line computation (no KV cache,
// explicit full softmax over every position with a mask), plus incremental-vs-batch decoding
// and sanity of every tiny preset.
#include "reference/forward.h"

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <filesystem>
#include <limits>

#include "model/presets.h"
#include "reference/backend.h"
#include "reference/generator.h"
#include "util/error.h"
#include "util/progress.h"
#include "util/rng.h"

namespace wgllm {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("wgllm_forward_test_" + name)).string();
}

std::string make_model(ModelSpec spec, const std::string& quant, const std::string& name) {
  ProgressBar::set_enabled(false);
  const std::string path = temp_path(name);
  MakeModelOptions o;
  o.quant = quant;
  o.seed = 11;
  write_synthetic_model(spec, o, path);
  return path;
}

std::vector<int> random_tokens(int n, int vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<int> t(n);
  for (int& x : t) x = int(rng.below(vocab));
  return t;
}

// ---- The independent computation: whole sequence at once, matrices as plain float arrays. ----
struct Mat {
  std::vector<float> w;
  int rows = 0, cols = 0;
  std::vector<float> mul(const std::vector<float>& x, int row0 = 0, int n = -1) const {
    if (n < 0) n = rows;
    std::vector<float> y(n, 0.f);
    for (int r = 0; r < n; r++)
      for (int c = 0; c < cols; c++) y[r] += w[size_t(row0 + r) * cols + c] * x[c];
    return y;
  }
};
Mat mat(const GgufTensor& t) { return {tensor_to_f32(t), int(t.shape[1]), int(t.shape[0])}; }

std::vector<float> norm(const std::vector<float>& x, const std::vector<float>& w, float eps, int off = 0, int n = -1) {
  if (n < 0) n = int(x.size());
  float ms = 0;
  for (int i = 0; i < n; i++) ms += x[off + i] * x[off + i] / n;
  std::vector<float> y(x);
  for (int i = 0; i < n; i++) y[off + i] = x[off + i] / std::sqrt(ms + eps) * w[i];
  return y;
}

void rotate(std::vector<float>& v, int heads, const ModelConfig& c, const std::vector<float>& factors, int pos) {
  const int half = c.rope_dims / 2;
  for (int h = 0; h < heads; h++)
    for (int i = 0; i < half; i++) {
      const int a = h * c.head_dim + (c.arch->rope_order == RopeOrder::Normal ? 2 * i : i);
      const int b = h * c.head_dim + (c.arch->rope_order == RopeOrder::Normal ? 2 * i + 1 : i + half);
      const double angle = pos * c.rope_freq_scale / (std::pow(double(c.rope_theta), 2.0 * i / c.rope_dims) * factors[i]);
      const std::complex<double> z = std::complex<double>(v[a], v[b]) * std::polar(double(c.rope_attn_factor), angle);
      v[a] = float(z.real());
      v[b] = float(z.imag());
    }
}

std::vector<std::vector<float>> naive_logits(const ModelWeights& w, const std::vector<int>& tokens, int context) {
  const ModelConfig& c = w.config;
  const int n = int(tokens.size()), hd = c.head_dim;
  const std::vector<float> factors = w.rope_factors(context);
  auto vec = [&](TensorRole r, int l) { return tensor_to_f32(*w.get(r, l)); };
  const Mat embd = mat(*w.get(TensorRole::TokenEmbd));
  std::vector<std::vector<float>> x(n);
  for (int i = 0; i < n; i++) {
    x[i].assign(embd.w.begin() + size_t(tokens[i]) * c.dim, embd.w.begin() + size_t(tokens[i] + 1) * c.dim);
    for (float& e : x[i]) e *= c.embed_scale;
  }
  for (int l = 0; l < c.n_layers; l++) {
    std::vector<std::vector<float>> q(n), k(n), v(n);
    for (int i = 0; i < n; i++) {
      const std::vector<float> h = norm(x[i], vec(TensorRole::AttnNorm, l), c.norm_eps);
      if (c.arch->fused_qkv) {
        const Mat qkv = mat(*w.get(TensorRole::AttnQkv, l));
        q[i] = qkv.mul(h, 0, c.q_dim());
        k[i] = qkv.mul(h, c.q_dim(), c.kv_dim());
        v[i] = qkv.mul(h, c.q_dim() + c.kv_dim(), c.kv_dim());
      } else {
        q[i] = mat(*w.get(TensorRole::AttnQ, l)).mul(h);
        k[i] = mat(*w.get(TensorRole::AttnK, l)).mul(h);
        v[i] = mat(*w.get(TensorRole::AttnV, l)).mul(h);
      }
      if (c.arch->qkv_bias) {
        const auto bq = vec(TensorRole::AttnQBias, l), bk = vec(TensorRole::AttnKBias, l), bv = vec(TensorRole::AttnVBias, l);
        for (int j = 0; j < c.q_dim(); j++) q[i][j] += bq[j];
        for (int j = 0; j < c.kv_dim(); j++) k[i][j] += bk[j], v[i][j] += bv[j];
      }
      if (c.arch->qk_norm) {
        for (int h2 = 0; h2 < c.n_heads; h2++) q[i] = norm(q[i], vec(TensorRole::AttnQNorm, l), c.norm_eps, h2 * hd, hd);
        for (int h2 = 0; h2 < c.n_kv_heads; h2++) k[i] = norm(k[i], vec(TensorRole::AttnKNorm, l), c.norm_eps, h2 * hd, hd);
      }
      rotate(q[i], c.n_heads, c, factors, i);
      rotate(k[i], c.n_kv_heads, c, factors, i);
    }
    const Mat wo = mat(*w.get(TensorRole::AttnOut, l));
    for (int i = 0; i < n; i++) {
      std::vector<float> att_out(c.q_dim(), 0.f);
      for (int h = 0; h < c.n_heads; h++) {
        const int kvh = h * c.n_kv_heads / c.n_heads;
        // Scores against EVERY position, masked to -inf where not visible, then a full softmax.
        std::vector<double> s(n);
        for (int j = 0; j < n; j++) {
          const bool visible = j <= i && !(c.layer_sliding[l] && i - j >= c.sliding_window);
          if (!visible) {
            s[j] = -std::numeric_limits<double>::infinity();
            continue;
          }
          double dot = 0;
          for (int d = 0; d < hd; d++) dot += double(q[i][h * hd + d]) * k[j][kvh * hd + d];
          dot *= c.attn_scale;
          if (c.attn_softcap > 0) dot = c.attn_softcap * std::tanh(dot / c.attn_softcap);
          s[j] = dot;
        }
        double mx = -1e300, sum = 0;
        for (double e : s) mx = std::max(mx, e);
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (int j = 0; j < n; j++)
          for (int d = 0; d < hd; d++) att_out[h * hd + d] += float(s[j] / sum) * v[j][kvh * hd + d];
      }
      std::vector<float> o = wo.mul(att_out);
      if (c.arch->post_norms) o = norm(o, vec(TensorRole::AttnPostNorm, l), c.norm_eps);
      for (int d = 0; d < c.dim; d++) x[i][d] += o[d];
      const std::vector<float> h = norm(x[i], vec(TensorRole::FfnNorm, l), c.norm_eps);
      std::vector<float> gate, up;
      if (c.arch->fused_gate_up) {
        const Mat gu = mat(*w.get(TensorRole::FfnUp, l));
        gate = gu.mul(h, 0, c.ffn_dim);
        up = gu.mul(h, c.ffn_dim, c.ffn_dim);
      } else {
        gate = mat(*w.get(TensorRole::FfnGate, l)).mul(h);
        up = mat(*w.get(TensorRole::FfnUp, l)).mul(h);
      }
      for (int d = 0; d < c.ffn_dim; d++) {
        const double g = gate[d];
        const double act = c.arch->activation == Activation::SiLU
                               ? g / (1 + std::exp(-g))
                               : 0.5 * g * (1 + std::tanh(std::sqrt(2 / M_PI) * (g + 0.044715 * g * g * g)));
        gate[d] = float(act * up[d]);
      }
      std::vector<float> f = mat(*w.get(TensorRole::FfnDown, l)).mul(gate);
      if (c.arch->post_norms) f = norm(f, vec(TensorRole::FfnPostNorm, l), c.norm_eps);
      for (int d = 0; d < c.dim; d++) x[i][d] += f[d];
    }
  }
  const Mat out = mat(w.output());
  std::vector<std::vector<float>> logits(n);
  for (int i = 0; i < n; i++) {
    logits[i] = out.mul(norm(x[i], tensor_to_f32(*w.get(TensorRole::OutputNorm)), c.norm_eps));
    if (c.final_softcap > 0)
      for (float& z : logits[i]) z = c.final_softcap * std::tanh(z / c.final_softcap);
  }
  return logits;
}

std::vector<std::string> tiny_presets() {
  std::vector<std::string> names;
  for (const ModelSpec& s : model_presets())
    if (s.preset.rfind("tiny-", 0) == 0) names.push_back(s.preset);
  return names;
}

TEST(ReferenceForward, MatchesNaiveFullSoftmaxForEveryFamily) {
  for (const std::string& name : tiny_presets()) {
    ModelSpec spec = find_preset(name);
    spec.n_layers = 2;  // layer 0 slides (Gemma-2), layer 1 does not
    if (spec.sliding_window) spec.sliding_window = 3;
    const std::string path = make_model(spec, "F32", name + "-naive.gguf");
    ref::Transformer model(path, 64);
    const std::vector<int> tokens = random_tokens(7, model.config().vocab_size, 5);
    const std::vector<float> got = model.forward_tokens(tokens, 0, true);
    const auto want = naive_logits(model.weights(), tokens, 64);
    const int vocab = model.config().vocab_size;
    for (size_t i = 0; i < tokens.size(); i++) {
      double rms = 0, max_err = 0;
      for (int t = 0; t < vocab; t++) {
        rms += double(want[i][t]) * want[i][t] / vocab;
        max_err = std::max(max_err, double(std::fabs(got[i * vocab + t] - want[i][t])));
      }
      EXPECT_LT(max_err, 1e-4 * std::sqrt(rms) + 1e-5) << name << " position " << i;
    }
    std::filesystem::remove(path);
  }
}

TEST(ReferenceForward, SlidingWindowChangesOnlyLaterPositions) {
  // Gemma-2 with window 3: positions 0..2 see everything either way; position 3+ must differ
  // from the same model without a window.
  ModelSpec spec = find_preset("tiny-gemma2");
  spec.n_layers = 2;
  spec.sliding_window = 3;
  const std::string a = make_model(spec, "F32", "win3.gguf");
  spec.sliding_window = 1000;
  const std::string b = make_model(spec, "F32", "win1000.gguf");
  ref::Transformer ma(a, 64), mb(b, 64);
  const std::vector<int> tokens = random_tokens(6, spec.vocab, 9);
  const std::vector<float> la = ma.forward_tokens(tokens, 0), lb = mb.forward_tokens(tokens, 0);
  const size_t v = spec.vocab;
  for (size_t i = 0; i < tokens.size(); i++) {
    const bool same = std::equal(la.begin() + i * v, la.begin() + (i + 1) * v, lb.begin() + i * v);
    EXPECT_EQ(same, i < 3) << "position " << i;
  }
  std::filesystem::remove(a);
  std::filesystem::remove(b);
}

TEST(ReferenceForward, IncrementalDecodingEqualsOneBatch) {
  const std::string path = make_model(find_preset("tiny-qwen3"), "Q4_K_M", "incr.gguf");
  const std::vector<int> tokens = random_tokens(9, find_preset("tiny-qwen3").vocab, 3);
  auto batch = open_backend("cpu", path);
  const std::vector<float> all = batch->eval(tokens, true);
  auto incr = open_backend("cpu", path);
  const size_t v = incr->config().vocab_size;
  std::vector<float> first = incr->prefill(std::span<const int>(tokens.data(), 4));  // last of 4
  EXPECT_TRUE(std::equal(first.begin(), first.end(), all.begin() + 3 * v));
  for (size_t i = 4; i < tokens.size(); i++) {
    const std::vector<float> one = incr->decode(tokens[i]);
    EXPECT_TRUE(std::equal(one.begin(), one.end(), all.begin() + i * v)) << "position " << i;
  }
  EXPECT_EQ(incr->n_past(), 9);
  // Rewinding: after reset the same prefix gives the same logits.
  incr->reset();
  const std::vector<float> again = incr->eval(std::span<const int>(tokens.data(), 2), true);
  EXPECT_TRUE(std::equal(again.begin(), again.end(), all.begin()));
  std::filesystem::remove(path);
}

TEST(ReferenceForward, EveryTinyPresetGivesFiniteVariedLogits) {
  for (const std::string& name : tiny_presets()) {
    const std::string path = make_model(find_preset(name), "Q4_K_M", name + ".gguf");
    ref::Transformer model(path, 128);
    const int vocab = model.config().vocab_size;
    const std::vector<int> tokens = random_tokens(8, vocab, 1);
    const std::vector<float> logits = model.forward_tokens(tokens, 0);
    for (size_t i = 0; i < tokens.size(); i++) {
      double mean = 0, var = 0, top = -1e30, sum_exp = 0;
      for (int t = 0; t < vocab; t++) {
        const float z = logits[i * vocab + t];
        ASSERT_TRUE(std::isfinite(z)) << name;
        mean += z / vocab;
        top = std::max(top, double(z));
      }
      for (int t = 0; t < vocab; t++) sum_exp += std::exp(logits[i * vocab + t] - top);
      // Not collapsed onto one token (a random tied model can degenerate into echoing its input).
      EXPECT_LT(1 / sum_exp, 0.9) << name << " position " << i;
      for (int t = 0; t < vocab; t++) var += std::pow(logits[i * vocab + t] - mean, 2) / vocab;
      EXPECT_GT(std::sqrt(var), 0.3) << name << " position " << i;
      EXPECT_LT(std::sqrt(var), 30) << name << " position " << i;
    }
    std::filesystem::remove(path);
  }
}

TEST(ReferenceForward, GreedyGenerationFollowsArgmax) {
  const std::string path = make_model(find_preset("tiny-llama"), "Q8_0", "gen.gguf");
  auto backend = open_backend("cpu", path);
  SamplerParams p;
  p.temperature = 0;
  Sampler sampler(p);
  const std::vector<int> prompt = {1, 72, 101, 108};
  std::vector<int> out;
  GenerateOptions o;
  o.max_tokens = 6;
  const GenerationStats st = generate(*backend, sampler, prompt, o, [&](int t) { out.push_back(t); return true; });
  EXPECT_EQ(st.prompt_tokens, 4);
  EXPECT_EQ(st.generated_tokens, 6);
  EXPECT_FALSE(st.stopped_by_context);
  // Replay with the plain model: each generated token is the argmax after the previous ones.
  ref::Transformer model(path, 64);
  std::vector<int> seq = prompt;
  std::vector<float> logits = model.forward_tokens(seq, 0, false);
  for (int t : out) {
    EXPECT_EQ(t, int(std::max_element(logits.begin(), logits.end()) - logits.begin()));
    logits = model.forward(t, int(seq.size()));
    seq.push_back(t);
  }
  // A context of 8 ends a 20-token request after 5 tokens: the prompt's 4 and 4 fed back fill
  // it, and the fifth comes from the last logits. The stats say why it stopped.
  BackendOptions small;
  small.max_context = 8;
  auto short_backend = open_backend("cpu", path, small);
  o.max_tokens = 20;
  std::vector<int> cut;
  const GenerationStats full = generate(*short_backend, sampler, prompt, o, [&](int t) { cut.push_back(t); return true; });
  EXPECT_EQ(full.generated_tokens, 5);
  EXPECT_TRUE(full.stopped_by_context);
  EXPECT_FALSE(full.stopped_by_token);
  EXPECT_EQ(cut, std::vector<int>(out.begin(), out.begin() + 5));
  std::filesystem::remove(path);
}

TEST(ReferenceForward, Errors) {
  const std::string path = make_model(find_preset("tiny-mistral"), "Q4_0", "err.gguf");
  ref::Transformer model(path, 16);
  try {
    model.forward(1000, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "token id 1000 is outside the vocabulary (1000)");
  }
  try {
    model.forward(5, 3);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "position 3 skips past the 0 cached tokens");
  }
  try {
    open_backend("metal", path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("unknown backend 'metal' (available: cpu", 0), 0u);
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace wgllm
