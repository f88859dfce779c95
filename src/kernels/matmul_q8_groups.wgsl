// The int8 GEMMs' shared half (matmul_mat_q8.wgsl with DP4A, matmul_mat_q8_mma.wgsl with
// subgroup matrices): their bindings, and each weight type's group of 32 columns fetched from
// global memory and decoded to 32 int8 q_j with the scales of its product's form:
//   ONE    (Q4_0, Q5_0, Q8_0; q_j signed): a dx S
//   MINS   (Q4_1, Q5_1: b = m; Q4_K, Q5_K: a = d sc, b = -dmin m; q_j unsigned): a dx S + b dx sum_j xq_j
//   HALVES (Q6_K: q_j - 32 signed, a scale per 16 elements): dx (a0 S_0..15 + a1 S_16..31)
// where S = sum_j q_j xq_j over the group and (dx, dx sum_j xq_j) are the x block's (d, d * sum)
// (quantize_x_batch.wgsl). The kernel defines BM, BN, KB (rows, tokens, groups per K step) and WS.
// Appended to weights.wgsl (w4 / w1, scale_min, nibble_bytes, q5_bytes_of, ...). Defines: TYPE,
// line prefixes ONE / TWO (MINS or HALVES).
{{PARAMS}}
@group(0) @binding(2) var<storage, read> xq: array<vec4<u32>>;   // [n_tokens][cols / 16] int8 x 16
@group(0) @binding(3) var<storage, read_write> y: array<f32>;    // [n_tokens][y_stride]
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<storage, read> xd: array<vec2<f32>>;   // [n_tokens][cols / 32] (d, d * sum)

// Group k of row `row`: 32 int8 q_j (two vec4) and the scales of the product's form above
// (ONE: s.x; every type's function compiles, so all carry two).
struct WGroup {
  q: array<vec4<u32>, 2>,
  s: vec2<f32>,
}
fn staged_scale(s: vec2<f32>) -> WS {
{{ONE}}  return s.x;
{{TWO}}  return s;
}

// Bytes q in 0..2^bits - 1 to signed q - 2^(bits - 1): the xor flips the top bit, giving q - 2^(bits - 1)
// as a two's complement of `bits` bits; the multiply copies a set top bit into bits bits .. 7
// (e.g. 0x08 * 0x1E = 0xF0 for nibbles: no carries between bytes).
fn signed_bytes(v: vec4<u32>, bits: u32) -> vec4<u32> {
  let top = vec4<u32>(0x01010101u << (bits - 1u));
  let s = v ^ top;
  return s | ((s & top) * vec4<u32>((0xFFu >> bits) << 1u));
}

// An exact i32 -> f32 for |s| < 2^22 without a conversion instruction (a quarter-rate op on
// NVIDIA GPUs): s + bits(1.5 * 2^23) is the float 1.5 * 2^23 + s. The kernels' sums start at
// MAGIC, so the addition rides on the accumulation; |block sum| <= 32 * 128 * 127 < 2^22.
const MAGIC: i32 = 0x4B400000i;
fn magic_to_f32(s: i32) -> f32 { return bitcast<f32>(s) - 12582912.0; }

// Staging is split in two so that a K step's global loads can be issued before the previous
// step's arithmetic and used after it: weight_words_TYPE(row, k) only loads group k of `row`
// (WRaw: each type fills what it needs, the rest is dead code to the compiler; all zeros decode
// to a zero scale), weight_group_TYPE(raw) decodes it. Raw words start as explicit zeros (WRaw()):
// an implicitly zeroed declaration inside a loop was seen to keep old values (attention_prefill.wgsl).
struct WRaw {
  w: QuantWords,    // quant words (la, lb) and high-bit words (ha, hb; weights.wgsl)
  head: vec4<u32>,  // a K-quant block's d, dmin and scales
  s: vec4<u32>,
}
// The f16 scale at half `parity` of word `word` (f16_at on loaded words).
fn half_of(word: u32, parity: u32) -> f32 { return unpack2x16float(word)[parity]; }

fn weight_words_Q4_0(row: u32, k: u32) -> WRaw {
  let blk = row * (p.cols / 32u) + k;
  var r = WRaw();
  r.w.la = w4[blk];
  r.s = vec4<u32>(w1[p.r1 + blk / 2u], blk & 1u, 0u, 0u);
  return r;
}
fn weight_group_Q4_0(r: WRaw) -> WGroup {
  let q = nibble_bytes(r.w.la);
  return WGroup(array<vec4<u32>, 2>(signed_bytes(q[0], 4u), signed_bytes(q[1], 4u)), vec2<f32>(half_of(r.s.x, r.s.y), 0.0));
}
fn weight_words_Q4_1(row: u32, k: u32) -> WRaw {
  let blk = row * (p.cols / 32u) + k;
  var r = WRaw();
  r.w.la = w4[blk];
  r.s.x = w1[p.r1 + blk];
  return r;
}
fn weight_group_Q4_1(r: WRaw) -> WGroup { return WGroup(nibble_bytes(r.w.la), unpack2x16float(r.s.x)); }
fn weight_words_Q5_0(row: u32, k: u32) -> WRaw {
  let blk = row * (p.cols / 32u) + k;
  var r = WRaw();
  r.w.la = w4[blk];
  r.s = vec4<u32>(w1[p.r1 + blk / 2u], blk & 1u, w1[p.r2 + blk], 0u);
  return r;
}
fn weight_group_Q5_0(r: WRaw) -> WGroup {
  let q = q5_bytes_of(r.w.la, r.s.z);
  return WGroup(array<vec4<u32>, 2>(signed_bytes(q[0], 5u), signed_bytes(q[1], 5u)), vec2<f32>(half_of(r.s.x, r.s.y), 0.0));
}
fn weight_words_Q5_1(row: u32, k: u32) -> WRaw {
  let blk = row * (p.cols / 32u) + k;
  var r = WRaw();
  r.w.la = w4[blk];
  r.s = vec4<u32>(w1[p.r1 + blk], 0u, w1[p.r2 + blk], 0u);
  return r;
}
fn weight_group_Q5_1(r: WRaw) -> WGroup { return WGroup(q5_bytes_of(r.w.la, r.s.z), unpack2x16float(r.s.x)); }
fn weight_words_Q8_0(row: u32, k: u32) -> WRaw {
  let blk = row * (p.cols / 32u) + k;
  var r = WRaw();
  r.w.la = w4[2u * blk];
  r.w.lb = w4[2u * blk + 1u];
  r.s = vec4<u32>(w1[p.r1 + blk / 2u], blk & 1u, 0u, 0u);
  return r;
}
fn weight_group_Q8_0(r: WRaw) -> WGroup {
  return WGroup(array<vec4<u32>, 2>(r.w.la, r.w.lb), vec2<f32>(half_of(r.s.x, r.s.y), 0.0));
}
// Q4_K / Q5_K sub-block g of a 256-element block: the head, and for Q4_K the quant words of
// nibble g % 2 (bytes 32 (g / 2) .. + 32) as la, lb; Q5_K's words from q5k_words.
fn kquant_head(row: u32, k: u32) -> WRaw {
  _ = &w1;  // every type binds both views (a fixed bind group layout); Q4_K / Q5_K read only w4
  var r = WRaw();
  r.head = w4[p.r1 / 4u + row * (p.cols / 256u) + k / 8u];
  r.s.x = k % 8u;
  return r;
}
fn weight_words_Q4_K(row: u32, k: u32) -> WRaw {
  let blk = row * (p.cols / 256u) + k / 8u;
  let g = k % 8u;
  var r = kquant_head(row, k);
  r.w.la = w4[8u * blk + 2u * (g / 2u)];
  r.w.lb = w4[8u * blk + 2u * (g / 2u) + 1u];
  return r;
}
fn weight_group_Q4_K(r: WRaw) -> WGroup {
  let g = r.s.x;
  let sh = vec4<u32>(4u * (g & 1u));
  let m = vec4<u32>(0x0F0F0F0Fu);
  let sm = scale_min(r.head, g);
  return WGroup(array<vec4<u32>, 2>((r.w.la >> sh) & m, (r.w.lb >> sh) & m), vec2<f32>(sm.x, -sm.y));
}
fn weight_words_Q5_K(row: u32, k: u32) -> WRaw {
  var r = kquant_head(row, k);
  r.w = q5k_words(row * (p.cols / 256u) + k / 8u, k % 8u);
  return r;
}
fn weight_group_Q5_K(r: WRaw) -> WGroup {
  let sm = scale_min(r.head, r.s.x);
  return WGroup(q5k_bytes_of(r.w, r.s.x), vec2<f32>(sm.x, -sm.y));
}
fn weight_words_Q6_K(row: u32, k: u32) -> WRaw {
  let blk = row * (p.cols / 256u) + k / 8u;
  let g = k % 8u;
  var r = WRaw();
  r.w = q6k_words(blk, g);
  r.s = vec4<u32>(w1[p.r2 + blk / 2u], blk & 1u, w1[p.r1 + 4u * blk + g / 2u], g);
  return r;
}
fn weight_group_Q6_K(r: WRaw) -> WGroup {
  let q = q6k_bytes_of(r.w, r.s.w);
  return WGroup(array<vec4<u32>, 2>(signed_bytes(q[0], 6u), signed_bytes(q[1], 6u)),
                q6k_scales_of(half_of(r.s.x, r.s.y), r.s.z, r.s.w));
}

// Item i of a K step's staging from column group k0 on: group kb = i % KB of tile row / token
// i / KB (consecutive threads read consecutive groups). Items past the step's, groups past the
// row's end and rows / tokens past the tile's are zeros.
fn fetch_weight(i: u32, k0: u32, r0: u32, nb: u32) -> WRaw {
  var r = WRaw();
  if (i < KB * BM && r0 + i / KB < p.chunk_rows && k0 + i % KB < nb) { r = weight_words_{{TYPE}}(r0 + i / KB, k0 + i % KB); }
  return r;
}
struct XRaw {
  a: vec4<u32>,
  b: vec4<u32>,
  d: vec2<f32>,
}
fn fetch_x(i: u32, k0: u32, t0: u32, nb: u32) -> XRaw {
  var x = XRaw();
  if (i < KB * BN && t0 + i / KB < p.n_tokens && k0 + i % KB < nb) {
    let blk = (t0 + i / KB) * nb + k0 + i % KB;
    x = XRaw(xq[2u * blk], xq[2u * blk + 1u], xd[blk]);
  }
  return x;
}
