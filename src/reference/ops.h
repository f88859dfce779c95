// The plain float32 operations the CPU reference forward pass is made of. Each is the
// definition: no SIMD, no fusion; the GPU kernels are checked against these.
#pragma once
#include <cstdint>

#include "format/gguf.h"
#include "model/arch.h"

namespace wgllm::ref {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i], for i < n. out may alias x.
void rmsnorm(float* out, const float* x, const float* w, int n, float eps);

// out (rows) = W (rows, cols) @ x (cols), W stored in any tensor type and dequantized row by
// row. Rows [row0, row0 + n_rows) of W only (n_rows < 0: all). Threads split the rows when the
// matrix is large.
void matvec(float* out, const GgufTensor& w, const float* x, int64_t row0 = 0, int64_t n_rows = -1);

// Rotates the first rope_dims of each of n_heads heads (head_dim apart) of vec for position pos:
// pair (a, b) at frequency index i turns by angle pos * freq_scale * theta^(-2i/rope_dims) /
// factors[i] (factors may be null = all 1), and both results are multiplied by attn_factor.
// Normal order pairs (2i, 2i+1); NeoX order pairs (i, i + rope_dims/2).
void rope(float* vec, int n_heads, int head_dim, int rope_dims, int pos, float theta,
          float freq_scale, const float* factors, float attn_factor, RopeOrder order);

// In-place softmax over n values (max-subtracted).
void softmax(float* x, int n);

// c * tanh(x / c).
float softcap(float x, float c);
float silu(float x);
float gelu_tanh(float x);  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))

}  // namespace wgllm::ref
