// Activation functions shared by the kernels that apply them (elementwise.wgsl, matmul_vec.wgsl):
// appended to their sources.

// tanh with its argument clamped (tanh(10) is 1 in f32): some drivers compute tanh through exp
// and return NaN for large |v|.
fn tanh_safe(v: f32) -> f32 { return tanh(clamp(v, -10.0, 10.0)); }
fn silu(g: f32) -> f32 { return g / (1.0 + exp(-g)); }
fn gelu_tanh(g: f32) -> f32 { return 0.5 * g * (1.0 + tanh_safe(0.7978845608028654 * (g + 0.044715 * g * g * g))); }
