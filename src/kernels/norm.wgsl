// RMSNorm, one workgroup per token row: y[t] = x[t] * rsqrt(mean(x[t]^2) + eps) * weight.
// The reduction is block_reduce.wgsl's, appended.
{{ENABLE}}
{{PARAMS}}
@group(0) @binding(0) var<storage, read> x: array<f32>;       // [n_tokens][dim]
@group(0) @binding(1) var<storage, read> weight: array<f32>;  // [dim]
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // [n_tokens][dim]
@group(0) @binding(3) var<uniform> p: Params;

const WG: u32 = {{WG}}u;
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32 {{SG_ARGS}}) {
{{SG}}  sg_lane = lane; sg_size = sgs;
  let row = wid.x * p.dim;
  var ss = 0.0;
  for (var i = lid; i < p.dim; i += WG) { let v = x[row + i]; ss += v * v; }
  let r = inverseSqrt(block_reduce(ss, lid, false) / f32(p.dim) + p.eps);
  for (var i = lid; i < p.dim; i += WG) { y[row + i] = x[row + i] * r * weight[i]; }
}
