{{ENABLES}}
// Decoders of the repacked weight layouts (weights.h), shared by the matmul and embedding
// kernels: the op's source is appended to this file. Dequantization happens in registers and is
// exact in f32 (the same arithmetic as format/tensor_types.cpp).
//
// The op supplies: `p: Params` with fields cols (elements per row), r1 and r2 (word offsets of
// regions 1 and 2 in the chunk), and the defines TYPE (F32, F16, BF16, Q4_0, ...), GS (elements
// per group: 4 for the float types, 32 otherwise) and GPB (groups per block: 8 for the
// K-quants, 1 otherwise). A row is cols / GS groups; group k of row r is decoded by
// load_group(r, k) into GS / 4 vec4s (entries past GS / 4 are unused).

// The weight chunk, bound twice: as vec4 words for the 16-byte quant loads, as words for scales.
@group(0) @binding(0) var<storage, read> w4: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> w1: array<u32>;

const GS: u32 = {{GS}}u;
const GPB: u32 = {{GPB}}u;
const GV: u32 = GS / 4u;
alias Group = array<vec4<f32>, 8>;

// The f16 at index i of a packed f16 array starting at word `base`.
fn f16_at(base: u32, i: u32) -> f32 {
  return unpack2x16float(w1[base + i / 2u])[i & 1u];
}

// Four nibbles of word q at bit `shift`, 8 bits apart (bytes of a little-endian word).
fn nibbles(q: u32, shift: u32) -> vec4<f32> {
  return vec4<f32>(vec4<u32>(q >> shift, q >> (shift + 8u), q >> (shift + 16u), q >> (shift + 24u)) & vec4<u32>(15u));
}
// Four 2-bit fields of word q at bit `shift`, 8 bits apart.
fn crumbs(q: u32, shift: u32) -> vec4<f32> {
  return vec4<f32>(vec4<u32>(q >> shift, q >> (shift + 8u), q >> (shift + 16u), q >> (shift + 24u)) & vec4<u32>(3u));
}
// Four signed bytes of word q.
fn sbytes(q: u32) -> vec4<f32> {
  let s = bitcast<vec4<i32>>(vec4<u32>(q << 24u, q << 16u, q << 8u, q));
  return vec4<f32>(s >> vec4<u32>(24u));
}

fn decode_F32(blk: u32, g: u32) -> Group {
  var o: Group;
  o[0] = bitcast<vec4<f32>>(w4[blk]);
  return o;
}

fn decode_F16(blk: u32, g: u32) -> Group {
  var o: Group;
  o[0] = vec4<f32>(unpack2x16float(w1[2u * blk]), unpack2x16float(w1[2u * blk + 1u]));
  return o;
}

// bf16 is the top half of an f32: widening is a shift, exact.
fn decode_BF16(blk: u32, g: u32) -> Group {
  var o: Group;
  let a = w1[2u * blk];
  let b = w1[2u * blk + 1u];
  o[0] = bitcast<vec4<f32>>(vec4<u32>(a << 16u, a & 0xFFFF0000u, b << 16u, b & 0xFFFF0000u));
  return o;
}

// Elements 0..15 are the low nibbles of qs, 16..31 the high nibbles.
fn decode_Q4_0(blk: u32, g: u32) -> Group {
  var o: Group;
  let q = w4[blk];
  let d = f16_at(p.r1, blk);
  for (var v = 0u; v < 4u; v++) {
    o[v] = (nibbles(q[v], 0u) - 8.0) * d;
    o[v + 4u] = (nibbles(q[v], 4u) - 8.0) * d;
  }
  return o;
}

fn decode_Q4_1(blk: u32, g: u32) -> Group {
  var o: Group;
  let q = w4[blk];
  let dm = unpack2x16float(w1[p.r1 + blk]);
  for (var v = 0u; v < 4u; v++) {
    o[v] = nibbles(q[v], 0u) * dm.x + dm.y;
    o[v + 4u] = nibbles(q[v], 4u) * dm.x + dm.y;
  }
  return o;
}

// The fifth bits of four Q5 elements: bits `shift` .. shift + 3 of qh, as 0 or 16.
fn fifth_bits(qh: u32, shift: u32) -> vec4<f32> {
  return 16.0 * vec4<f32>(vec4<u32>(qh >> shift, qh >> (shift + 1u), qh >> (shift + 2u), qh >> (shift + 3u)) & vec4<u32>(1u));
}

// Nibbles as Q4_0; bit i of qh (region 2) is the fifth bit of element i.
fn decode_Q5_0(blk: u32, g: u32) -> Group {
  var o: Group;
  let q = w4[blk];
  let d = f16_at(p.r1, blk);
  let qh = w1[p.r2 + blk];
  for (var v = 0u; v < 4u; v++) {
    o[v] = (nibbles(q[v], 0u) + fifth_bits(qh, 4u * v) - 16.0) * d;
    o[v + 4u] = (nibbles(q[v], 4u) + fifth_bits(qh, 16u + 4u * v) - 16.0) * d;
  }
  return o;
}

fn decode_Q5_1(blk: u32, g: u32) -> Group {
  var o: Group;
  let q = w4[blk];
  let dm = unpack2x16float(w1[p.r1 + blk]);
  let qh = w1[p.r2 + blk];
  for (var v = 0u; v < 4u; v++) {
    o[v] = (nibbles(q[v], 0u) + fifth_bits(qh, 4u * v)) * dm.x + dm.y;
    o[v + 4u] = (nibbles(q[v], 4u) + fifth_bits(qh, 16u + 4u * v)) * dm.x + dm.y;
  }
  return o;
}

fn decode_Q8_0(blk: u32, g: u32) -> Group {
  var o: Group;
  let d = f16_at(p.r1, blk);
  for (var h = 0u; h < 2u; h++) {
    let q = w4[2u * blk + h];
    for (var v = 0u; v < 4u; v++) { o[4u * h + v] = sbytes(q[v]) * d; }
  }
  return o;
}

// (d * sc, dmin * m) of sub-blocks j and j + 1 (j even) of a Q4_K / Q5_K head: xy for j, zw for
// j + 1. Sub-blocks 0..3 keep 6-bit scale and min in bytes j and j + 4; 4..7 take their low four
// bits from byte j + 4 and their top two from the top bits of bytes j - 4 and j. With j' = j % 4
// both cases read bytes j' (of head.y), j' + 4 (head.z) and j' + 8 (head.w), so one shift per word
// serves both sub-blocks and a select picks the case (no branch: lanes of one subgroup take
// different sub-blocks).
fn scale_min_pair(head: vec4<u32>, j: u32) -> vec4<f32> {
  let sh = vec2<u32>(8u * (j & 3u), 8u * (j & 3u) + 8u);
  let a = (vec2<u32>(head.y) >> sh) & vec2<u32>(0xFFu);
  let b = (vec2<u32>(head.z) >> sh) & vec2<u32>(0xFFu);
  let c = (vec2<u32>(head.w) >> sh) & vec2<u32>(0xFFu);
  let low = j < 4u;
  let sc = select((c & vec2<u32>(15u)) | ((a >> vec2<u32>(6u)) << vec2<u32>(4u)), a & vec2<u32>(63u), low);
  let m = select((c >> vec2<u32>(4u)) | ((b >> vec2<u32>(6u)) << vec2<u32>(4u)), b & vec2<u32>(63u), low);
  let dd = unpack2x16float(head.x);
  return vec4<f32>(dd.x * vec2<f32>(sc), dd.y * vec2<f32>(m)).xzyw;
}

// (d * sc, dmin * m) of sub-block j of a Q4_K / Q5_K head.
fn scale_min(head: vec4<u32>, j: u32) -> vec2<f32> {
  let r = scale_min_pair(head, j & ~1u);
  return select(r.xy, r.zw, (j & 1u) == 1u);
}

// Sub-block g (32 elements): bytes 32 * (g / 2) .. + 32 of qs, nibble g % 2.
fn decode_Q4_K(blk: u32, g: u32) -> Group {
  var o: Group;
  let sm = scale_min(w4[p.r1 / 4u + blk], g);
  let shift = 4u * (g & 1u);
  for (var h = 0u; h < 2u; h++) {
    let q = w4[8u * blk + 2u * (g / 2u) + h];
    for (var v = 0u; v < 4u; v++) { o[4u * h + v] = nibbles(q[v], shift) * sm.x - sm.y; }
  }
  return o;
}

// As Q4_K, plus bit g of qh[l] as the fifth bit of element l of sub-block g.
fn decode_Q5_K(blk: u32, g: u32) -> Group {
  var o: Group;
  let sm = scale_min(w4[p.r1 / 4u + blk], g);
  let shift = 4u * (g & 1u);
  for (var h = 0u; h < 2u; h++) {
    let q = w4[10u * blk + 2u * (g / 2u) + h];
    let qh = w4[10u * blk + 8u + h];
    for (var v = 0u; v < 4u; v++) {
      let hi = vec4<f32>(vec4<u32>(qh[v] >> g, qh[v] >> (g + 8u), qh[v] >> (g + 16u), qh[v] >> (g + 24u)) & vec4<u32>(1u));
      o[4u * h + v] = (nibbles(q[v], shift) + 16.0 * hi) * sm.x - sm.y;
    }
  }
  return o;
}

// Elements 32g .. 32g + 31: half hf = g / 4, quarter c = g % 4 of it; element l takes the
// nibble c / 2 of ql[64 hf + 32 (c % 2) + l] and bits 2c of qh[32 hf + l]; scales 2g, 2g + 1.
fn decode_Q6_K(blk: u32, g: u32) -> Group {
  var o: Group;
  let hf = g / 4u;
  let c = g % 4u;
  let d = f16_at(p.r2, blk);
  let sc = w1[p.r1 + 4u * blk + g / 2u];  // i8 scales 2g, 2g + 1 sit in this word
  let s0 = d * f32(bitcast<i32>(sc << (24u - 16u * (g & 1u))) >> 24u);
  let s1 = d * f32(bitcast<i32>(sc << (16u - 16u * (g & 1u))) >> 24u);
  for (var h = 0u; h < 2u; h++) {
    let ql = w4[12u * blk + 4u * hf + 2u * (c & 1u) + h];
    let qh = w4[12u * blk + 8u + 2u * hf + h];
    let s = select(s0, s1, h == 1u);
    for (var v = 0u; v < 4u; v++) {
      o[4u * h + v] = (nibbles(ql[v], 4u * (c / 2u)) + 16.0 * crumbs(qh[v], 2u * c) - 32.0) * s;
    }
  }
  return o;
}

// Byte-packed quants for the int8 kernels (matmul_vec_q8.wgsl, matmul_mat_q8.wgsl), which take
// 32 elements as two vec4 of bytes (elements 0..15, 16..31) for dot4I8Packed.

// The fifth bits of Q5 elements `shift` .. shift + 3 (bits of qh) as 0x10 in each byte: the
// multiply copies the 4 bits to bit offsets 0, 7, 14, 21 (no overlaps, so no carries) and the
// mask keeps bit b at bit 8b.
fn fifth_bytes(qh: u32, shift: u32) -> u32 {
  return ((((qh >> shift) & 0xFu) * 0x00204081u) & 0x01010101u) << 4u;
}

// A Q4_0 / Q4_1 block's q_j in 0..15: the low nibbles of its quant words q are elements 0..15,
// the high ones 16..31.
fn nibble_bytes(q: vec4<u32>) -> array<vec4<u32>, 2> {
  let m = vec4<u32>(0x0F0F0F0Fu);
  return array<vec4<u32>, 2>(q & m, (q >> vec4<u32>(4u)) & m);
}

// The words a K-quant group's bytes come from: quant words la, lb (elements 0..15, 16..31) and
// high-bit words ha, hb (Q5_K: qh; Q6_K: the qh quarter of the group's half).
struct QuantWords {
  la: vec4<u32>,
  lb: vec4<u32>,
  ha: vec4<u32>,
  hb: vec4<u32>,
}

// Q5_K sub-block g (decode_Q5_K's layout): nibble g % 2 of 32 quant bytes plus bit g of each qh
// byte as bit 4: q_j in 0..31.
fn q5k_words(blk: u32, g: u32) -> QuantWords {
  let l = 10u * blk + 2u * (g / 2u);
  return QuantWords(w4[l], w4[l + 1u], w4[10u * blk + 8u], w4[10u * blk + 9u]);
}
fn q5k_bytes_of(w: QuantWords, g: u32) -> array<vec4<u32>, 2> {
  let sh = vec4<u32>(4u * (g & 1u));
  let m = vec4<u32>(0x0F0F0F0Fu);
  let one = vec4<u32>(0x01010101u);
  let b = vec4<u32>(g);
  return array<vec4<u32>, 2>(((w.la >> sh) & m) | (((w.ha >> b) & one) << vec4<u32>(4u)),
                             ((w.lb >> sh) & m) | (((w.hb >> b) & one) << vec4<u32>(4u)));
}

// A Q5_0 / Q5_1 block's q_j in 0..31 from its quant words q and fifth bits qh (bit j: element j).
fn q5_bytes_of(q: vec4<u32>, qh: u32) -> array<vec4<u32>, 2> {
  let m = vec4<u32>(0x0F0F0F0Fu);
  return array<vec4<u32>, 2>(
      (q & m) | vec4<u32>(fifth_bytes(qh, 0u), fifth_bytes(qh, 4u), fifth_bytes(qh, 8u), fifth_bytes(qh, 12u)),
      ((q >> vec4<u32>(4u)) & m) | vec4<u32>(fifth_bytes(qh, 16u), fifth_bytes(qh, 20u), fifth_bytes(qh, 24u), fifth_bytes(qh, 28u)));
}
fn q5_bytes(blk: u32) -> array<vec4<u32>, 2> { return q5_bytes_of(w4[blk], w1[p.r2 + blk]); }

// Q6_K group g of a block (decode_Q6_K's layout): q_j in 0..63 from a nibble of ql and two bits
// of qh.
fn q6k_words(blk: u32, g: u32) -> QuantWords {
  let hf = g / 4u;
  let l = 12u * blk + 4u * hf + 2u * (g & 1u);
  return QuantWords(w4[l], w4[l + 1u], w4[12u * blk + 8u + 2u * hf], w4[12u * blk + 8u + 2u * hf + 1u]);
}
fn q6k_bytes_of(w: QuantWords, g: u32) -> array<vec4<u32>, 2> {
  let c = g % 4u;
  let ns = vec4<u32>(4u * (c / 2u));
  let cs = vec4<u32>(2u * c);
  let m = vec4<u32>(0x0F0F0F0Fu);
  let m2 = vec4<u32>(0x03030303u);
  return array<vec4<u32>, 2>(((w.la >> ns) & m) | (((w.ha >> cs) & m2) << vec4<u32>(4u)),
                             ((w.lb >> ns) & m) | (((w.hb >> cs) & m2) << vec4<u32>(4u)));
}
fn q6k_bytes(blk: u32, g: u32) -> array<vec4<u32>, 2> { return q6k_bytes_of(q6k_words(blk, g), g); }

// d * scale of Q6_K group g's two halves (elements 0..15, 16..31): d and the word `sc` holding
// the i8 scales 2g, 2g + 1.
fn q6k_scales_of(d: f32, sc: u32, g: u32) -> vec2<f32> {
  return d * vec2<f32>(f32(bitcast<i32>(sc << (24u - 16u * (g & 1u))) >> 24u),
                       f32(bitcast<i32>(sc << (16u - 16u * (g & 1u))) >> 24u));
}
fn q6k_scales(blk: u32, g: u32) -> vec2<f32> { return q6k_scales_of(f16_at(p.r2, blk), w1[p.r1 + 4u * blk + g / 2u], g); }

fn load_group(row: u32, k: u32) -> Group {
  _ = &w4;  // every type binds both views, though some read only one (fixed bind group layout)
  _ = &w1;
  let bpr = p.cols / (GS * GPB);
  return decode_{{TYPE}}(row * bpr + k / GPB, k % GPB);
}
