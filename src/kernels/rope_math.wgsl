// The rotation angle's (sin, cos) for RoPE, shared by rope.wgsl and the matvec that rotates q and k
// as it writes them (matmul_vec_q8_qout.wgsl).
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
