// Prefill GEMM of 8-bit-or-smaller symmetric quant weights (Q4_0, Q5_0, Q8_0) with int8-quantized
// activations (quantize_x_batch.wgsl): y[t][row_offset + r] (+)= sum_c W[r][c] * x[t][c].
// Per block of 32 the product is d_w * d_x * sum_j q_j xq_j, the integer sum taken four products
// at a time with dot4I8Packed (DP4A): 4 MACs per instruction and no weight conversion to float.
//
// A workgroup computes a tile of BM rows x BN tokens; thread (rg, tg) owns rows rg + i * RG
// (i < TM) and tokens tg + j * TG (j < TN), a TM x TN register tile. The K loop takes KB blocks
// of 32 columns at a time: the tile's weight blocks are staged in workgroup memory already as
// signed int8 (Q4_0's nibbles minus 8 widened to bytes) with their f32 scale, and the x blocks
// with theirs, so the inner loop is only 16-byte workgroup loads and DP4As. Staging reads KB
// consecutive blocks per row (64..128 contiguous bytes); the inner loop's loads of a warp hit
// RG distinct weight rows and TG distinct tokens (broadcasts), the rows padded by one vec4 so
// that the staging writes spread across banks.
// Defines: TYPE (Q4_0, Q5_0 or Q8_0), BM, BN, TM, TN, KB.
{{PARAMS}}
@group(0) @binding(0) var<storage, read> w4: array<vec4<u32>>;   // region 0: the quants
@group(0) @binding(1) var<storage, read> w1: array<u32>;         // region 1 at p.r1: f16 d per block; Q5_0: qh at p.r2
@group(0) @binding(2) var<storage, read> xq: array<vec4<u32>>;   // [n_tokens][cols / 16] int8 x 16
@group(0) @binding(3) var<storage, read_write> y: array<f32>;    // [n_tokens][y_stride]
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<storage, read> xd: array<vec2<f32>>;   // [n_tokens][cols / 32] (d, d * sum)

const BM: u32 = {{BM}}u;
const BN: u32 = {{BN}}u;
const TM: u32 = {{TM}}u;
const TN: u32 = {{TN}}u;
const KB: u32 = {{KB}}u;
const RG: u32 = BM / TM;
const TG: u32 = BN / TN;
const WG: u32 = RG * TG;
const BMP: u32 = BM + 1u;  // padded strides (see above)
const BNP: u32 = BN + 1u;

var<workgroup> wq: array<vec4<u32>, 2u * KB * BMP>;  // [kb][half][row]: elements 16 h .. 16 h + 15
var<workgroup> wd: array<f32, KB * BM>;              // [kb][row]
var<workgroup> xs: array<vec4<u32>, 2u * KB * BNP>;  // [kb][half][token]
var<workgroup> xds: array<f32, KB * BN>;             // [kb][token]

// Nibbles 0..15 at bytes of `v` to signed bytes (n - 8): n ^ 8 is n - 8 as a 4-bit two's
// complement; its bit 3 times 0x1E sets the high nibble (0x08 * 0x1E = 0xF0, no carries).
fn signed_nibbles(v: u32) -> u32 {
  let s = v ^ 0x08080808u;
  return s | ((s & 0x08080808u) * 0x1Eu);
}

// Block `blk` of the chunk as 32 signed bytes (two vec4) and its scale.
fn weight_block_Q4_0(blk: u32) -> array<vec4<u32>, 2> {
  let q = w4[blk];
  let m = vec4<u32>(0x0F0F0F0Fu);
  let lo = q & m;
  let hi = (q >> vec4<u32>(4u)) & m;
  return array<vec4<u32>, 2>(
      vec4<u32>(signed_nibbles(lo.x), signed_nibbles(lo.y), signed_nibbles(lo.z), signed_nibbles(lo.w)),
      vec4<u32>(signed_nibbles(hi.x), signed_nibbles(hi.y), signed_nibbles(hi.z), signed_nibbles(hi.w)));
}
// Q5_0: the nibbles plus the fifth bit of each byte (bit i of qh for element i) are q in 0..31;
// q ^ 16 is q - 16 as a 5-bit two's complement, and its bit 4 times 0x0F sets bits 4..7.
fn signed_q5(v: u32, qh: u32, shift: u32) -> u32 {
  let fifth = ((((qh >> shift) & 0xFu) * 0x00204081u) & 0x01010101u) << 4u;  // bit b of the 4 -> bit 4 of byte b
  let s = (v | fifth) ^ 0x10101010u;
  return s | ((s & 0x10101010u) * 0x0Fu);
}
fn weight_block_Q5_0(blk: u32) -> array<vec4<u32>, 2> {
  let q = w4[blk];
  let qh = w1[p.r2 + blk];
  let m = vec4<u32>(0x0F0F0F0Fu);
  let lo = q & m;
  let hi = (q >> vec4<u32>(4u)) & m;
  return array<vec4<u32>, 2>(
      vec4<u32>(signed_q5(lo.x, qh, 0u), signed_q5(lo.y, qh, 4u), signed_q5(lo.z, qh, 8u), signed_q5(lo.w, qh, 12u)),
      vec4<u32>(signed_q5(hi.x, qh, 16u), signed_q5(hi.y, qh, 20u), signed_q5(hi.z, qh, 24u), signed_q5(hi.w, qh, 28u)));
}
fn weight_block_Q8_0(blk: u32) -> array<vec4<u32>, 2> {
  return array<vec4<u32>, 2>(w4[2u * blk], w4[2u * blk + 1u]);
}

// An exact i32 -> f32 for |s| < 2^22 without a conversion instruction (a quarter-rate op on
// NVIDIA GPUs): s + bits(1.5 * 2^23) is the float 1.5 * 2^23 + s. The sums below start at
// MAGIC, so the addition rides on the DP4A accumulator; |block sum| <= 32 * 128 * 127 < 2^22.
const MAGIC: i32 = 0x4B400000i;
fn magic_to_f32(s: i32) -> f32 { return bitcast<f32>(s) - 12582912.0; }

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let r0 = (wid.x + wid.y * p.wg_x) * BM;
  let t0 = wid.z * BN;
  let nb = p.cols / 32u;
  let rg = tid % RG;
  let tg = tid / RG;
  var acc: array<array<f32, TN>, TM>;
  for (var i = 0u; i < TM; i++) {
    for (var j = 0u; j < TN; j++) { acc[i][j] = 0.0; }
  }
  for (var k0 = 0u; k0 < nb; k0 += KB) {
    // Stage: item i is block kb = i % KB of tile row / token i / KB (consecutive threads read
    // consecutive blocks). Blocks past the row's end and rows / tokens past the tile's are zeros.
    for (var i = tid; i < KB * BM; i += WG) {
      let kb = i % KB;
      let r = i / KB;
      var q = array<vec4<u32>, 2>(vec4<u32>(0u), vec4<u32>(0u));
      var d = 0.0;
      if (r0 + r < p.chunk_rows && k0 + kb < nb) {
        let blk = (r0 + r) * nb + k0 + kb;
        q = weight_block_{{TYPE}}(blk);
        d = unpack2x16float(w1[p.r1 + blk / 2u])[blk & 1u];
      }
      wq[2u * kb * BMP + r] = q[0];
      wq[(2u * kb + 1u) * BMP + r] = q[1];
      wd[kb * BM + r] = d;
    }
    for (var i = tid; i < KB * BN; i += WG) {
      let kb = i % KB;
      let t = i / KB;
      var a = vec4<u32>(0u);
      var b = vec4<u32>(0u);
      var d = 0.0;
      if (t0 + t < p.n_tokens && k0 + kb < nb) {
        let blk = (t0 + t) * nb + k0 + kb;
        a = xq[2u * blk];
        b = xq[2u * blk + 1u];
        d = xd[blk].x;
      }
      xs[2u * kb * BNP + t] = a;
      xs[(2u * kb + 1u) * BNP + t] = b;
      xds[kb * BN + t] = d;
    }
    workgroupBarrier();
    let kn = min(KB, nb - k0);
    for (var kb = 0u; kb < kn; kb++) {
      var xa: array<vec4<u32>, TN>;
      var xb: array<vec4<u32>, TN>;
      var dx: array<f32, TN>;
      for (var j = 0u; j < TN; j++) {
        let t = tg + j * TG;
        xa[j] = xs[2u * kb * BNP + t];
        xb[j] = xs[(2u * kb + 1u) * BNP + t];
        dx[j] = xds[kb * BN + t];
      }
      for (var i = 0u; i < TM; i++) {
        let r = rg + i * RG;
        let wa = wq[2u * kb * BMP + r];
        let wb = wq[(2u * kb + 1u) * BMP + r];
        let dw = wd[kb * BM + r];
        for (var j = 0u; j < TN; j++) {
          var s = MAGIC;
          s += dot4I8Packed(wa.x, xa[j].x);
          s += dot4I8Packed(wa.y, xa[j].y);
          s += dot4I8Packed(wa.z, xa[j].z);
          s += dot4I8Packed(wa.w, xa[j].w);
          s += dot4I8Packed(wb.x, xb[j].x);
          s += dot4I8Packed(wb.y, xb[j].y);
          s += dot4I8Packed(wb.z, xb[j].z);
          s += dot4I8Packed(wb.w, xb[j].w);
          acc[i][j] = fma(dw, magic_to_f32(s) * dx[j], acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var j = 0u; j < TN; j++) {
    let t = t0 + tg + j * TG;
    if (t < p.n_tokens) {
      for (var i = 0u; i < TM; i++) {
        let r = r0 + rg + i * RG;
        if (r < p.chunk_rows) {
          store_y(t, p.row_offset + r, acc[i][j]);
        }
      }
    }
  }
}
