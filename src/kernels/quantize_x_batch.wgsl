// Quantizes the activations of a step of several tokens, x [n_tokens][cols] f32, to int8 blocks
// of 32 for the prefill GEMM (matmul_mat_q8.wgsl): per token and block a scale d = max|x| / 127
// and the values round(x / d), stored as in quantize_x.wgsl (one token's layout, repeated per
// token). One thread per (token, block): the step is small next to the GEMM that reads it.
// Grid: x = ceil(blocks per row / WG), y = n_tokens. Params are MatMul's (n_tokens, cols).
{{PARAMS}}
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;         // [n_tokens][cols / 4]
@group(0) @binding(1) var<storage, read_write> qs: array<u32>;        // [n_tokens][cols / 4] int8 x4
@group(0) @binding(2) var<storage, read_write> ds: array<vec2<f32>>;  // [n_tokens][cols / 32] (d, d * sum)
@group(0) @binding(3) var<uniform> p: Params;

const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let nb = p.cols / 32u;
  let b = wid.x * WG + tid;
  let t = wid.y;
  if (b >= nb || t >= p.n_tokens) { return; }
  let blk = t * nb + b;
  var v: array<vec4<f32>, 8>;
  var amax = vec4<f32>(0.0);
  for (var i = 0u; i < 8u; i++) {
    v[i] = x[8u * blk + i];
    amax = max(amax, abs(v[i]));
  }
  let d = max(max(amax.x, amax.y), max(amax.z, amax.w)) / 127.0;
  let inv = select(0.0, 1.0 / d, d > 0.0);
  var sum = vec4<i32>(0);
  for (var i = 0u; i < 8u; i++) {
    let q = vec4<i32>(round(v[i] * inv));
    sum += q;
    qs[8u * blk + i] = pack4xI8(q);
  }
  ds[blk] = vec2<f32>(d, d * f32(sum.x + sum.y + sum.z + sum.w));
}
