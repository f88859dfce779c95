// Packs the activations of a step of several tokens, x [n_tokens][cols] f32, as f16 pairs for the
// f16 matrix GEMM (matmul_mat_f16_mma.wgsl), clamped to f16's finite range (an activation past
// 65504 would otherwise become inf and every product with it NaN). pack2x16float needs no
// shader-f16, so this runs on any adapter. Grid: x = ceil(cols / 4 / WG), y = n_tokens. Params
// are MatMul's (n_tokens, cols).
{{PARAMS}}
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;         // [n_tokens][cols / 4]
@group(0) @binding(1) var<storage, read_write> x16: array<vec2<u32>>; // [n_tokens][cols / 4] f16 x4
@group(0) @binding(2) var<uniform> p: Params;

const WG: u32 = 64u;
const F16_MAX: f32 = 65504.0;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let c4 = wid.x * WG + tid;
  let t = wid.y;
  if (c4 >= p.cols / 4u || t >= p.n_tokens) { return; }
  let i = t * (p.cols / 4u) + c4;
  let v = clamp(x[i], vec4<f32>(-F16_MAX), vec4<f32>(F16_MAX));
  x16[i] = vec2<u32>(pack2x16float(v.xy), pack2x16float(v.zw));
}
