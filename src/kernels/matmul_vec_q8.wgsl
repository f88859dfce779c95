// Matrix-vector for 4-bit weights against an int8-quantized x (quantize_x.wgsl), per group of 32
// with the integer sum taken four products at a time by dot4I8Packed (DP4A), so a weight costs
// about half an instruction instead of a conversion and a multiply-add:
//   Q4_0: sum_j (q_j - 8) d xq_j dx = d * (dx * sum_j q_j xq_j - 8 * dx * sum_j xq_j)
//   Q4_K: sum_j (d sc q_j - dmin m) xq_j dx = d sc * dx * sum_j q_j xq_j - dmin m * dx * sum_j xq_j
//   Q5_0: as Q4_0 with 5-bit q_j (0..31) and an offset of 16
//   Q4_1 / Q5_1: d * dx * sum_j q_j xq_j + m * dx * sum_j xq_j (4- / 5-bit q_j); Q5_K: as Q4_K with 5-bit q_j
//   Q6_K: sum over the two 16-element halves h of d sc_h dx (sum_j q_j xq_j - 32 sum_j xq_j)
//   Q8_0: d * dx * sum_j q_j xq_j (signed bytes)
// (xd holds dx, dx * sum_j xq_j and sum x^2 per group). TYPE picks group_dot_TYPE. An RMSNorm
// input (NORM) comes without its 1 / rms(x) (quantize_x.wgsl): the workgroup sums the groups'
// sums of squares in the reduction's extra slot and row_scale applies it. Rows, workgroups and the
// reduction (matvec_reduce.wgsl) are as in matmul_vec.wgsl: ROWS rows per workgroup, x blocks
// reused across them. Appended to weights.wgsl (the bindings w4 / w1, f16_at, scale_min, the
// byte-packed quants nibble_bytes, q5_bytes, q5k_bytes_of, q6k_bytes, q6k_scales).
{{PARAMS}}
@group(0) @binding(2) var<storage, read> xq: array<vec4<u32>>;   // [cols / 16] int8 x 16
@group(0) @binding(3) var<storage, read_write> y: array<f32>;    // [y_stride]
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<storage, read> xd: array<vec4<f32>>;   // [cols / 32] (d, d * sum, sum x^2, 0)

const WG: u32 = {{WG}}u;
const ROWS: u32 = {{ROWS}}u;
const LOW = 0x0F0F0F0Fu;

fn row_scale(extra: f32) -> f32 {
{{NORM}}  return inverseSqrt(extra / f32(p.cols) + p.eps);
  return 1.0;
}

// Sum over 32 products of quant words q (low nibbles at `shift`) with x words xa (elements 0..15)
// and xb (16..31): elements 4w..4w+3 sit in word w of the group's 8 quant words.
fn idot(qa: vec4<u32>, qb: vec4<u32>, shift: u32, xa: vec4<u32>, xb: vec4<u32>) -> i32 {
  let a = (qa >> vec4<u32>(shift)) & vec4<u32>(LOW);
  let b = (qb >> vec4<u32>(shift)) & vec4<u32>(LOW);
  return dot4I8Packed(a.x, xa.x) + dot4I8Packed(a.y, xa.y) + dot4I8Packed(a.z, xa.z) + dot4I8Packed(a.w, xa.w) +
         dot4I8Packed(b.x, xb.x) + dot4I8Packed(b.y, xb.y) + dot4I8Packed(b.z, xb.z) + dot4I8Packed(b.w, xb.w);
}

// Q4_0 group = block: 16 quant bytes, low nibbles elements 0..15, high nibbles 16..31.
fn group_dot_Q4_0(row: u32, k: u32, xa: vec4<u32>, xb: vec4<u32>, dx: vec2<f32>) -> f32 {
  let blk = row * (p.cols / 32u) + k;
  let q = w4[blk];
  let d = f16_at(p.r1, blk);
  let lo = q & vec4<u32>(LOW);
  let hi = (q >> vec4<u32>(4u)) & vec4<u32>(LOW);
  let s = dot4I8Packed(lo.x, xa.x) + dot4I8Packed(lo.y, xa.y) + dot4I8Packed(lo.z, xa.z) + dot4I8Packed(lo.w, xa.w) +
          dot4I8Packed(hi.x, xb.x) + dot4I8Packed(hi.y, xb.y) + dot4I8Packed(hi.z, xb.z) + dot4I8Packed(hi.w, xb.w);
  return d * (dx.x * f32(s) - 8.0 * dx.y);
}

// sum_j q_j xq_j over a group's 32 bytes q_j (two vec4: elements 0..15, 16..31; weights.wgsl's
// nibble_bytes, q5_bytes, q5k_bytes_of).
fn bytes_idot(q: array<vec4<u32>, 2>, xa: vec4<u32>, xb: vec4<u32>) -> i32 {
  return dot4I8Packed(q[0].x, xa.x) + dot4I8Packed(q[0].y, xa.y) + dot4I8Packed(q[0].z, xa.z) + dot4I8Packed(q[0].w, xa.w) +
         dot4I8Packed(q[1].x, xb.x) + dot4I8Packed(q[1].y, xb.y) + dot4I8Packed(q[1].z, xb.z) + dot4I8Packed(q[1].w, xb.w);
}

// Q4_1: d * dx * sum_j q_j xq_j + m * dx * sum_j xq_j with unsigned nibbles q_j.
fn group_dot_Q4_1(row: u32, k: u32, xa: vec4<u32>, xb: vec4<u32>, dx: vec2<f32>) -> f32 {
  let blk = row * (p.cols / 32u) + k;
  let s = bytes_idot(nibble_bytes(w4[blk]), xa, xb);
  let dm = unpack2x16float(w1[p.r1 + blk]);
  return dm.x * dx.x * f32(s) + dm.y * dx.y;
}

fn group_dot_Q5_0(row: u32, k: u32, xa: vec4<u32>, xb: vec4<u32>, dx: vec2<f32>) -> f32 {
  let blk = row * (p.cols / 32u) + k;
  let s = bytes_idot(q5_bytes(blk), xa, xb);
  return f16_at(p.r1, blk) * (dx.x * f32(s) - 16.0 * dx.y);
}

fn group_dot_Q5_1(row: u32, k: u32, xa: vec4<u32>, xb: vec4<u32>, dx: vec2<f32>) -> f32 {
  let blk = row * (p.cols / 32u) + k;
  let s = bytes_idot(q5_bytes(blk), xa, xb);
  let dm = unpack2x16float(w1[p.r1 + blk]);
  return dm.x * dx.x * f32(s) + dm.y * dx.y;
}

// Q4_K group g of a 256-element block: quant bytes 32 (g / 2) .. + 32, nibble g % 2; the 6-bit
// scale and min of sub-block g from the block's head (scale_min, weights.wgsl).
fn group_dot_Q4_K(row: u32, k: u32, xa: vec4<u32>, xb: vec4<u32>, dx: vec2<f32>) -> f32 {
  _ = &w1;  // every type binds both views (a fixed bind group layout); Q4_K reads only w4
  let blk = row * (p.cols / 256u) + k / 8u;
  let g = k % 8u;
  let head = w4[p.r1 / 4u + blk];
  let qa = w4[8u * blk + 2u * (g / 2u)];
  let qb = w4[8u * blk + 2u * (g / 2u) + 1u];
  let s = idot(qa, qb, 4u * (g & 1u), xa, xb);
  let sm = scale_min(head, g);
  return sm.x * dx.x * f32(s) - sm.y * dx.y;
}

// Q5_K group g: Q4_K's scale and min (scale_min) with 5-bit q_j (q5k_words, q5k_bytes_of).
fn group_dot_Q5_K(row: u32, k: u32, xa: vec4<u32>, xb: vec4<u32>, dx: vec2<f32>) -> f32 {
  _ = &w1;  // every type binds both views (a fixed bind group layout); Q5_K reads only w4
  let blk = row * (p.cols / 256u) + k / 8u;
  let g = k % 8u;
  let sm = scale_min(w4[p.r1 / 4u + blk], g);
  return sm.x * dx.x * f32(bytes_idot(q5k_bytes_of(q5k_words(blk, g), g), xa, xb)) - sm.y * dx.y;
}

// Q6_K group g of a 256-element block: 6-bit q_j as bytes 0..63, one i8 scale per 16-element half
// (q6k_bytes, q6k_scales: weights.wgsl).
fn group_dot_Q6_K(row: u32, k: u32, xa: vec4<u32>, xb: vec4<u32>, dx: vec2<f32>) -> f32 {
  let blk = row * (p.cols / 256u) + k / 8u;
  let g = k % 8u;
  let sc = q6k_scales(blk, g);
  let q = q6k_bytes(blk, g);
  let ones = 0x01010101u;
  let sa = dot4I8Packed(q[0].x, xa.x) + dot4I8Packed(q[0].y, xa.y) + dot4I8Packed(q[0].z, xa.z) + dot4I8Packed(q[0].w, xa.w);
  let sb = dot4I8Packed(q[1].x, xb.x) + dot4I8Packed(q[1].y, xb.y) + dot4I8Packed(q[1].z, xb.z) + dot4I8Packed(q[1].w, xb.w);
  let ta = dot4I8Packed(ones, xa.x) + dot4I8Packed(ones, xa.y) + dot4I8Packed(ones, xa.z) + dot4I8Packed(ones, xa.w);
  let tb = dot4I8Packed(ones, xb.x) + dot4I8Packed(ones, xb.y) + dot4I8Packed(ones, xb.z) + dot4I8Packed(ones, xb.w);
  return dx.x * (sc.x * f32(sa - 32 * ta) + sc.y * f32(sb - 32 * tb));
}

// Q8_0 group = block: 32 signed bytes.
fn group_dot_Q8_0(row: u32, k: u32, xa: vec4<u32>, xb: vec4<u32>, dx: vec2<f32>) -> f32 {
  let blk = row * (p.cols / 32u) + k;
  let s = bytes_idot(array<vec4<u32>, 2>(w4[2u * blk], w4[2u * blk + 1u]), xa, xb);
  return f16_at(p.r1, blk) * dx.x * f32(s);
}

// A sub-block pair's two integer sums s0, s1 scaled: m = (scale, min) of each (scale_min_pair),
// x's (dx, dx * sum) per group.
fn pair_sum(m: vec4<f32>, x: XUnit, s0: i32, s1: i32) -> f32 {
  return (m.x * x.dx[0].x * f32(s0) - m.y * x.dx[0].y) + (m.z * x.dx[1].x * f32(s1) - m.w * x.dx[1].y);
}

// Q4_K groups 2u and 2u + 1 (sub-block pair u % 4 of block u / 4) at once: they are the low and
// high nibbles of the same 32 quant bytes and share the block head, so one load of each serves
// both (group_dot_Q4_K alone re-reads them per group).
fn group_pair_dot_Q4_K(row: u32, u: u32, x: XUnit) -> f32 {
  _ = &w1;  // every type binds both views (a fixed bind group layout); Q4_K reads only w4
  let blk = row * (p.cols / 256u) + u / 4u;
  let j = u % 4u;
  let head = w4[p.r1 / 4u + blk];
  let qa = w4[8u * blk + 2u * j];
  let qb = w4[8u * blk + 2u * j + 1u];
  let s0 = idot(qa, qb, 0u, x.xa[0], x.xa[1]);
  let s1 = idot(qa, qb, 4u, x.xa[2], x.xa[3]);
  let m = scale_min_pair(head, 2u * j);
  return pair_sum(m, x, s0, s1);
}

// Q5_K groups 2u and 2u + 1 at once, as group_pair_dot_Q4_K: the pair's quant words, the block's
// fifth-bit words and its head are loaded once for both.
fn group_pair_dot_Q5_K(row: u32, u: u32, x: XUnit) -> f32 {
  _ = &w1;  // every type binds both views (a fixed bind group layout); Q5_K reads only w4
  let blk = row * (p.cols / 256u) + u / 4u;
  let j = u % 4u;
  let w = q5k_words(blk, 2u * j);
  let s0 = bytes_idot(q5k_bytes_of(w, 2u * j), x.xa[0], x.xa[1]);
  let s1 = bytes_idot(q5k_bytes_of(w, 2u * j + 1u), x.xa[2], x.xa[3]);
  let m = scale_min_pair(w4[p.r1 / 4u + blk], 2u * j);
  return pair_sum(m, x, s0, s1);
}

// The loops walk units of GU groups of 32 (GU = 2 for Q4_K and Q5_K: group_pair_dot, else 1): x
// of a unit is loaded once and reused for every row.
const GU: u32 = {{GU}}u;
struct XUnit {
  xa: array<vec4<u32>, 4>,  // groups' int8 x, two vec4 each
  dx: array<vec4<f32>, 2>,  // groups' (d, d * sum, sum x^2, 0)
}
fn load_x(u: u32) -> XUnit {
  var x: XUnit;
  for (var j = 0u; j < GU; j++) {
    let k = GU * u + j;
    x.xa[2u * j] = xq[2u * k];
    x.xa[2u * j + 1u] = xq[2u * k + 1u];
    x.dx[j] = xd[k];
  }
  return x;
}
fn unit_ss(x: XUnit) -> f32 {
  var s = 0.0;
  for (var j = 0u; j < GU; j++) { s += x.dx[j].z; }
  return s;
}
fn unit_dot(row: u32, u: u32, x: XUnit) -> f32 {
{{GU1}}  return group_dot_{{TYPE}}(row, u, x.xa[0], x.xa[1], x.dx[0].xy);
{{GU2}}  return group_pair_dot_{{TYPE}}(row, u, x);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32> {{SG_ARGS}}) {
  let row0 = (wid.x + wid.y * p.wg_x) * ROWS;
  let ng = p.cols / 32u;  // groups of 32 per row
  for (var r = 0u; r <= ROWS; r++) { acc[r] = 0.0; }
  for (var u = tid; u < ng / GU; u += WG) {
    let x = load_x(u);
{{NORM}}    acc[ROWS] += unit_ss(x);
    for (var r = 0u; r < ROWS; r++) {
      if (row0 + r < p.chunk_rows) { acc[r] += unit_dot(row0 + r, u, x); }
    }
  }
{{SG}}  store_rows(tid, row0, lane, sgs);
{{NOSG}}  store_rows(tid, row0, 0u, 1u);
}
