// Elementwise ops on activations [n_tokens][n]: one invocation per element, the grid's y is the
// token row. Each entry point binds its own buffers from binding 0 up.
{{ENABLE}}
{{PARAMS}}
const WG: u32 = {{WG}}u;

// add, gated: read a and b, write out.
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
// add_in_place: x (in place), y, params.
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<uniform> pb: Params;
// softcap, scale: x (in place), params.
@group(0) @binding(1) var<uniform> px: Params;

// silu, gelu_tanh, tanh_safe: activations.wgsl, appended by the launcher.

@compute @workgroup_size(WG)
fn add(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= p.n) { return; }
  let i = gid.y * p.n + gid.x;
  out[i] = a[i] + b[i];
}

// out[t][i] = act(a[t * a_stride + a_off + i]) * b[t * b_stride + b_off + i]: gate and up may be
// two buffers or the two halves of one fused [n_tokens][2 * n] buffer.
@compute @workgroup_size(WG)
fn gated(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= p.n) { return; }
  let g = a[gid.y * p.a_stride + p.a_off + gid.x];
  let u = b[gid.y * p.b_stride + p.b_off + gid.x];
  out[gid.y * p.n + gid.x] = {{ACT}}(g) * u;
}

// x[t][i] += y[t * b_stride + i]: a residual add (b_stride = n) or a bias (b_stride = 0).
@compute @workgroup_size(WG)
fn add_in_place(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= pb.n) { return; }
  let i = gid.y * pb.n + gid.x;
  x[i] = x[i] + y[gid.y * pb.b_stride + gid.x];
}

// Gemma-2's logit soft-capping: x = s * tanh(x / s).
@compute @workgroup_size(WG)
fn softcap(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= px.n) { return; }
  let i = gid.y * px.n + gid.x;
  x[i] = px.s * tanh_safe(x[i] / px.s);
}

@compute @workgroup_size(WG)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= px.n) { return; }
  let i = gid.y * px.n + gid.x;
  x[i] = x[i] * px.s;
}
