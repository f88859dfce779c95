// RMSNorm, one workgroup per token row: y[t] = x[t] * rsqrt(mean(x[t]^2) + eps) * weight.
// Lines starting with {{SG}} are the subgroup variant, {{NOSG}} the workgroup-memory one (the
// other is commented out, so only the chosen variant's builtins need the extension).
{{ENABLE}}
{{PARAMS}}
@group(0) @binding(0) var<storage, read> x: array<f32>;       // [n_tokens][dim]
@group(0) @binding(1) var<storage, read> weight: array<f32>;  // [dim]
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // [n_tokens][dim]
@group(0) @binding(3) var<uniform> p: Params;

const WG: u32 = {{WG}}u;
var<workgroup> red: array<f32, WG>;
var<private> sg_lane: u32;
var<private> sg_size: u32;

// Sum of v over the workgroup, returned to every invocation. The subgroup variant keeps one
// partial per subgroup; it assumes subgroups are consecutive runs of local_invocation_index,
// which holds on every backend Dawn targets.
{{SG}}fn block_sum(v: f32, lid: u32) -> f32 {
{{SG}}  let s = subgroupAdd(v);
{{SG}}  if (sg_lane == 0u) { red[lid / sg_size] = s; }
{{SG}}  workgroupBarrier();
{{SG}}  var t = 0.0;
{{SG}}  for (var i = sg_lane; i < (WG + sg_size - 1u) / sg_size; i += sg_size) { t += red[i]; }
{{SG}}  t = subgroupAdd(t);
{{SG}}  workgroupBarrier();
{{SG}}  return t;
{{SG}}}
{{NOSG}}fn block_sum(v: f32, lid: u32) -> f32 {
{{NOSG}}  red[lid] = v;
{{NOSG}}  workgroupBarrier();
{{NOSG}}  for (var s = WG / 2u; s > 0u; s >>= 1u) {
{{NOSG}}    if (lid < s) { red[lid] += red[lid + s]; }
{{NOSG}}    workgroupBarrier();
{{NOSG}}  }
{{NOSG}}  let t = red[0];
{{NOSG}}  workgroupBarrier();
{{NOSG}}  return t;
{{NOSG}}}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32 {{SG_ARGS}}) {
{{SG}}  sg_lane = lane; sg_size = sgs;
  let row = wid.x * p.dim;
  var ss = 0.0;
  for (var i = lid; i < p.dim; i += WG) { let v = x[row + i]; ss += v * v; }
  let r = inverseSqrt(block_sum(ss, lid) / f32(p.dim) + p.eps);
  for (var i = lid; i < p.dim; i += WG) { y[row + i] = x[row + i] * r * weight[i]; }
}
