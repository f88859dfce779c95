// Rotary position embedding, in place on q or k [n_tokens][n_heads * head_dim]. One invocation
// per rotated pair (token, head, i < rotary_dim / 2); dims past rotary_dim are left alone.
{{ENABLE}}
{{PARAMS}}
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> inv_freq: array<f32>;  // [rotary_dim / 2]
@group(0) @binding(2) var<uniform> p: Params;

const WG: u32 = {{WG}}u;

// sin and cos to ~1 ulp: WGSL only promises an absolute error of 2^-11 for the builtins (and
// SwiftShader is that coarse). Reduce to r in [-pi/4, pi/4] with pi/2 in two parts, then Taylor.
fn sincos(a: f32) -> vec2<f32> {
  let k = round(a * 0.6366197723675814);
  let r = (a - k * 1.5707963705062866) + k * 4.371139000186243e-8;
  let r2 = r * r;
  let s = r * (1.0 + r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 + r2 * (1.0 / 362880.0)))));
  let c = 1.0 + r2 * (-0.5 + r2 * (1.0 / 24.0 + r2 * (-1.0 / 720.0 + r2 * (1.0 / 40320.0 + r2 * (-1.0 / 3628800.0)))));
  let q = i32(k) & 3;  // quadrant
  if (q == 0) { return vec2<f32>(s, c); }
  if (q == 1) { return vec2<f32>(c, -s); }
  if (q == 2) { return vec2<f32>(-s, -c); }
  return vec2<f32>(-c, s);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let half = p.rotary_dim / 2u;
  if (gid.x >= p.n_heads * half) { return; }
  let head = gid.x / half;
  let i = gid.x % half;
  let t = gid.y;
  let sc = sincos(f32(p.pos + t) * inv_freq[i]) * p.attn_factor;
  let s = sc.x;
  let c = sc.y;
  let base = t * p.n_heads * p.head_dim + head * p.head_dim;
  // NeoX pairs (i, i + half); the original layout pairs (2i, 2i + 1).
  let i0 = base + select(2u * i, i, p.neox != 0u);
  let i1 = i0 + select(1u, half, p.neox != 0u);
  let x0 = x[i0];
  let x1 = x[i1];
  x[i0] = x0 * c - x1 * s;
  x[i1] = x0 * s + x1 * c;
}
