// RoPE's arithmetic, shared by rope.wgsl and the matvec that rotates q and k as it writes them
// (matmul_vec_q8_qout.wgsl): which pair an element belongs to, the angle's (sin, cos), the rotation.
// sin and cos to ~1 ulp: WGSL only promises an absolute error of 2^-11 for the builtins (and
// SwiftShader is that coarse). Reduce to r in [-pi/4, pi/4] with pi/2 in two parts, then Taylor.
fn rope_sincos(a: f32) -> vec2<f32> {
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

// Element d (< rotary_dim) of a head: its pair's frequency index i, whether it is the pair's x0
// (else x1), and its partner. NeoX pairs (i, i + rotary_dim / 2); the original layout (2i, 2i + 1).
struct RopePair {
  i: u32,
  first: bool,
  partner: u32,
}
fn rope_pair(d: u32, rotary_dim: u32, neox: bool) -> RopePair {
  let half = rotary_dim / 2u;
  var r: RopePair;
  r.first = select(d % 2u == 0u, d < half, neox);
  r.i = select(d / 2u, select(d - half, d, r.first), neox);
  r.partner = select(select(d - 1u, d + 1u, r.first), select(d - half, d + half, r.first), neox);
  return r;
}

// The rotated value of element x whose pair partner is `other`, at angle sc = (sin, cos) (scaled):
// x0' = x0 cos - x1 sin, x1' = x0 sin + x1 cos.
fn rope_rotate(x: f32, other: f32, first: bool, sc: vec2<f32>) -> f32 {
  return select(other * sc.x + x * sc.y, x * sc.y - other * sc.x, first);
}
