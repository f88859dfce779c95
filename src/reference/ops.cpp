#include "reference/ops.h"

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

namespace wgllm::ref {

void rmsnorm(float* out, const float* x, const float* w, int n, float eps) {
  double ss = 0;
  for (int i = 0; i < n; i++) ss += double(x[i]) * x[i];
  const float inv = 1.f / std::sqrt(float(ss / n) + eps);
  for (int i = 0; i < n; i++) out[i] = x[i] * inv * w[i];
}

namespace {

void matvec_rows(float* out, const GgufTensor& w, const float* x, int64_t begin, int64_t end) {
  const int64_t cols = w.shape[0];
  const size_t rb = row_bytes(w.type, cols);
  std::vector<float> row(cols);
  for (int64_t r = begin; r < end; r++) {
    dequantize_row(w.type, w.data + r * rb, row.data(), cols);
    float sum = 0;
    for (int64_t c = 0; c < cols; c++) sum += row[c] * x[c];
    out[r - begin] = sum;
  }
}

}  // namespace

void matvec(float* out, const GgufTensor& w, const float* x, int64_t row0, int64_t n_rows) {
  if (n_rows < 0) n_rows = w.n_rows() - row0;
  // Threads only pay off for big matrices; tiny test models stay single-threaded.
  const int64_t work = n_rows * w.shape[0];
  const int n_threads = work < (int64_t(1) << 20)
                            ? 1
                            : int(std::clamp<unsigned>(std::thread::hardware_concurrency(), 1u, 32u));
  if (n_threads == 1) {
    matvec_rows(out, w, x, row0, row0 + n_rows);
    return;
  }
  std::vector<std::thread> threads;
  const int64_t chunk = (n_rows + n_threads - 1) / n_threads;
  for (int t = 0; t < n_threads; t++) {
    const int64_t b = t * chunk, e = std::min(n_rows, b + chunk);
    if (b >= e) break;
    threads.emplace_back(matvec_rows, out + b, std::cref(w), x, row0 + b, row0 + e);
  }
  for (auto& th : threads) th.join();
}

void rope(float* vec, int n_heads, int head_dim, int rope_dims, int pos, float theta,
          float freq_scale, const float* factors, float attn_factor, RopeOrder order) {
  const int half = rope_dims / 2;
  for (int h = 0; h < n_heads; h++) {
    float* v = vec + h * head_dim;
    for (int i = 0; i < half; i++) {
      const float freq = std::pow(theta, -2.f * i / rope_dims) / (factors ? factors[i] : 1.f);
      const float angle = float(pos) * freq_scale * freq;
      const float c = std::cos(angle) * attn_factor, s = std::sin(angle) * attn_factor;
      const int ia = order == RopeOrder::Normal ? 2 * i : i;
      const int ib = order == RopeOrder::Normal ? 2 * i + 1 : i + half;
      const float a = v[ia], b = v[ib];
      v[ia] = a * c - b * s;
      v[ib] = a * s + b * c;
    }
  }
}

void softmax(float* x, int n) {
  const float mx = *std::max_element(x, x + n);
  float sum = 0;
  for (int i = 0; i < n; i++) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  for (int i = 0; i < n; i++) x[i] /= sum;
}

float softcap(float x, float c) { return c * std::tanh(x / c); }
float silu(float x) { return x / (1.f + std::exp(-x)); }
float gelu_tanh(float x) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  return 0.5f * x * (1.f + std::tanh(k * (x + 0.044715f * x * x * x)));
}

}  // namespace wgllm::ref
