// Causal grouped-query attention over a KV cache, and the cache write.
//
// KV cache: [max_ctx][n_kv_heads * head_dim], read and written as 4-element groups of type KV_T:
// vec4<f32> (f32 cache), vec2<u32> holding 4 packed halves (f16 cache without shader-f16:
// pack2x16float / unpack2x16float are core WGSL), or vec4<f16> (f16 cache with shader-f16).
//
// attend: one workgroup per (split, head, query token). The split's keys are walked in tiles
// of WG keys, one key per invocation, with an online softmax (running max m, sum l, acc). With
// one split the result goes straight to `out`; with several (decode: flash-decoding, so a long
// context fills the GPU) each split writes (m, l, acc) to `scratch` and `combine` merges them.
//
// decode (one query token): one workgroup per (split, block of HPW query heads sharing a kv head),
// so each K/V row is read once for the whole block. Tiles of DWG keys: one key per invocation
// for the scores (HPW dot products from one K row), then invocation (slice, column) sums p * V
// over every NS-th key of the tile for all HPW heads. A context of up to split_len keys is one dispatch.
// block_reduce (max or sum over the workgroup) is block_reduce.wgsl's, appended.
//
// With {{QOUT}} lines on, decode and combine also write their output int8-quantized in blocks of
// 32 as quantize_x.wgsl does (qs, and ds = (d, d * sum, 0, 0)) for the int8 matvec of the output
// projection, so that no quantize pass runs between them (head_dim a multiple of 32).
{{ENABLE}}
{{PARAMS}}
const WG: u32 = {{WG}}u;
const D4_MAX: u32 = {{D4_MAX}}u;  // the largest head_dim / 4 (= WG)
const DWG: u32 = {{DWG}}u;  // invocations of a decode workgroup = keys per tile (a power of 2)
const HD4: u32 = {{HD4}}u;  // head_dim / 4 of the decode pipeline
const HPW: u32 = {{HPW}}u;  // query heads per decode workgroup
const NS: u32 = DWG / HD4;  // key slices of decode's P.V phase
const KL: u32 = {{KL}}u;    // K loads in flight per invocation (decode's scores)
const VL: u32 = {{VL}}u;    // V loads in flight per invocation (decode's P.V)
const NEG_BIG: f32 = -3.0e38;      // "minus infinity" (exp of it minus anything is 0)

fn kv_decode(x: {{KV_T}}) -> vec4<f32> { return {{KV_DECODE}}; }
fn kv_encode(v: vec4<f32>) -> {{KV_T}} { return {{KV_ENCODE}}; }

// kv_write
@group(0) @binding(0) var<storage, read> k_new: array<vec4<f32>>;  // [n_tokens][n_kv_heads * head_dim]
@group(0) @binding(1) var<storage, read> v_new: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> k_store: array<{{KV_T}}>;
@group(0) @binding(3) var<storage, read_write> v_store: array<{{KV_T}}>;
@group(0) @binding(4) var<uniform> pw: Params;

// attend
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;       // [n_tokens][n_heads * head_dim]
@group(0) @binding(1) var<storage, read> k_cache: array<{{KV_T}}>;
@group(0) @binding(2) var<storage, read> v_cache: array<{{KV_T}}>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>; // [n_tokens][n_heads * head_dim]
@group(0) @binding(4) var<storage, read_write> scratch: array<vec4<f32>>; // [n_tokens][n_heads][n_splits][1 + head_dim/4]
@group(0) @binding(5) var<uniform> p: Params;

{{QOUT}}@group(0) @binding(6) var<storage, read_write> out_qs: array<u32>;        // [n_heads * head_dim / 4] int8 x 4
{{QOUT}}@group(0) @binding(7) var<storage, read_write> out_ds: array<vec4<f32>>;  // [n_heads * head_dim / 32]

// combine
@group(0) @binding(0) var<storage, read> partials: array<vec4<f32>>;  // scratch of attend
@group(0) @binding(1) var<storage, read_write> merged: array<vec4<f32>>; // out
@group(0) @binding(2) var<uniform> pc: Params;
{{QOUT}}@group(0) @binding(3) var<storage, read_write> merged_qs: array<u32>;
{{QOUT}}@group(0) @binding(4) var<storage, read_write> merged_ds: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn kv_write(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row4 = pw.n_kv_heads * pw.head_dim / 4u;
  if (gid.x >= row4) { return; }
  let src = gid.y * row4 + gid.x;
  let dst = (pw.pos + gid.y) * row4 + gid.x;
  k_store[dst] = kv_encode(k_new[src]);
  v_store[dst] = kv_encode(v_new[src]);
}

var<workgroup> qs: array<vec4<f32>, D4_MAX>;
var<workgroup> ps: array<f32, WG>;

// One head's output quantized to int8 blocks of 32 = 8 vec4s: invocation col < d4 of the
// workgroup holds vec4 col of the head (live); every invocation must call it (barriers).
// Returns col's four int8 packed in a word, and for the first vec4 of a block its (d, d * sum).
var<workgroup> qred: array<f32, D4_MAX>;
struct QuantVec4 {
  packed: u32,
  ds: vec4<f32>,
}
fn quantize_vec4(live: bool, col: u32, v: vec4<f32>) -> QuantVec4 {
  let first = col & ~7u;
  if (live) { qred[col] = max(max(abs(v.x), abs(v.y)), max(abs(v.z), abs(v.w))); }
  workgroupBarrier();
  var m = 0.0;
  if (live) { for (var i = 0u; i < 8u; i++) { m = max(m, qred[first + i]); } }
  workgroupBarrier();
  let d = m / 127.0;
  let q = select(vec4<i32>(0), vec4<i32>(round(v / d)), d > 0.0);
  if (live) { qred[col] = f32(q.x + q.y + q.z + q.w); }
  workgroupBarrier();
  var r: QuantVec4;
  r.packed = (bitcast<u32>(q.x) & 0xFFu) | ((bitcast<u32>(q.y) & 0xFFu) << 8u) | ((bitcast<u32>(q.z) & 0xFFu) << 16u) |
             ((bitcast<u32>(q.w) & 0xFFu) << 24u);
  var sum = 0.0;
  if (live && col == first) { for (var i = 0u; i < 8u; i++) { sum += qred[first + i]; } }
  r.ds = vec4<f32>(d, d * sum, 0.0, 0.0);
  workgroupBarrier();
  return r;
}

// Keys a query at position qpos sees: [first_key, qpos]; with a sliding window, qpos - j < window.
fn first_key(qpos: u32, window: u32) -> u32 {
  if (window == 0u || qpos < window) { return 0u; }
  return qpos - window + 1u;
}

@compute @workgroup_size(WG)
fn attend(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32 {{SG_ARGS}}) {
{{SG}}  sg_lane = lane; sg_size = sgs;
  let split = wid.x;
  let h = wid.y;
  let t = wid.z;
  let d4 = p.head_dim / 4u;
  let kv_off = (h / (p.n_heads / p.n_kv_heads)) * d4;  // this head's kv head, in vec4s
  let row4 = p.n_kv_heads * d4;
  let qpos = p.pos + t;
  let lo = first_key(qpos, p.window) + split * p.split_len;
  let hi = min(lo + p.split_len, qpos + 1u);  // exclusive
  let q_off = (t * p.n_heads + h) * d4;
  for (var i = lid; i < d4; i += WG) { qs[i] = q[q_off + i] * p.scale; }
  workgroupBarrier();

  var m = NEG_BIG;  // running max (the same in every invocation)
  var l = 0.0;      // this invocation's share of the running sum
  var acc = vec4<f32>(0.0);  // output columns 4*lid.. (lid < d4)
  for (var tile = lo; tile < hi; tile += WG) {
    let j = tile + lid;
    var score = NEG_BIG;
    if (j < hi) {
      var qk = 0.0;
      let base = j * row4 + kv_off;
      for (var i = 0u; i < d4; i++) { qk += dot(qs[i], kv_decode(k_cache[base + i])); }
      score = qk;
      // Gemma-2: softcap * tanh(logit / softcap); tanh's argument clamped (tanh(10) is 1 in f32).
      if (p.softcap > 0.0) { score = p.softcap * tanh(clamp(qk / p.softcap, -10.0, 10.0)); }
    }
    let m_new = max(m, block_reduce(score, lid, true));
    let alpha = exp(m - m_new);
    let pj = select(0.0, exp(score - m_new), j < hi);
    l = l * alpha + pj;
    ps[lid] = pj;
    workgroupBarrier();
    if (lid < d4) {
      acc *= alpha;
      let n = min(WG, hi - tile);
      for (var c = 0u; c < n; c++) { acc += ps[c] * kv_decode(v_cache[(tile + c) * row4 + kv_off + lid]); }
    }
    m = m_new;
    // The next tile's block_reduce holds a barrier before ps is written again.
  }
  let l_sum = block_reduce(l, lid, false);
  if (lid < d4) {
    if (p.n_splits == 1u) {
      out[q_off + lid] = acc / l_sum;
    } else {
      let base = ((t * p.n_heads + h) * p.n_splits + split) * (d4 + 1u);
      if (lid == 0u) { scratch[base] = vec4<f32>(m, l_sum, 0.0, 0.0); }
      scratch[base + 1u + lid] = acc;
    }
  }
}

// Merges the splits of one (head, token): out = sum_s acc_s e^(m_s - M) / sum_s l_s e^(m_s - M).
@compute @workgroup_size(WG)
fn combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t = wid.y;
  let d4 = pc.head_dim / 4u;
  let live = lid < d4;  // no early return: the quantization below has barriers
  var o = vec4<f32>(0.0);
  if (live) {
    let base = (t * pc.n_heads + h) * pc.n_splits * (d4 + 1u);
    var big_m = NEG_BIG;
    for (var s = 0u; s < pc.n_splits; s++) { big_m = max(big_m, partials[base + s * (d4 + 1u)].x); }
    var l = 0.0;
    var acc = vec4<f32>(0.0);
    for (var s = 0u; s < pc.n_splits; s++) {
      let ml = partials[base + s * (d4 + 1u)];
      let w = exp(ml.x - big_m);
      l += ml.y * w;
      acc += partials[base + s * (d4 + 1u) + 1u + lid] * w;
    }
    o = acc / l;
    merged[(t * pc.n_heads + h) * d4 + lid] = o;
  }
{{QOUT}}  let qv = quantize_vec4(live, lid, o);
{{QOUT}}  let vi = (t * pc.n_heads + h) * d4 + lid;
{{QOUT}}  if (live) { merged_qs[vi] = qv.packed; }
{{QOUT}}  if (live && lid % 8u == 0u) { merged_ds[vi / 8u] = qv.ds; }
}

var<workgroup> dq: array<vec4<f32>, HPW * HD4>;   // the block's queries, scaled
var<workgroup> dp: array<array<f32, DWG>, HPW>;   // probabilities of the tile's keys
var<workgroup> dred: array<array<f32, DWG>, HPW>; // reduction scratch
var<workgroup> dacc: array<vec4<f32>, DWG>;       // slice partials of the P.V phase
var<workgroup> dl: array<f32, DWG>;

// Per-head maximum of s over the workgroup, returned to every invocation. The caller's next
// write to dred comes after a barrier that every invocation reaches after reading it here.
{{SG}}fn heads_max(s: array<f32, HPW>, lid: u32) -> array<f32, HPW> {
{{SG}}  for (var h = 0u; h < HPW; h++) {
{{SG}}    let v = subgroupMax(s[h]);
{{SG}}    if (sg_lane == 0u) { dred[h][lid / sg_size] = v; }
{{SG}}  }
{{SG}}  workgroupBarrier();
{{SG}}  var r: array<f32, HPW>;
{{SG}}  for (var h = 0u; h < HPW; h++) {
{{SG}}    var t = NEG_BIG;
{{SG}}    for (var i = 0u; i < (DWG + sg_size - 1u) / sg_size; i++) { t = max(t, dred[h][i]); }
{{SG}}    r[h] = t;
{{SG}}  }
{{SG}}  return r;
{{SG}}}
{{NOSG}}fn heads_max(s: array<f32, HPW>, lid: u32) -> array<f32, HPW> {
{{NOSG}}  for (var h = 0u; h < HPW; h++) { dred[h][lid] = s[h]; }
{{NOSG}}  workgroupBarrier();
{{NOSG}}  for (var st = DWG / 2u; st > 0u; st >>= 1u) {
{{NOSG}}    if (lid < st) { for (var h = 0u; h < HPW; h++) { dred[h][lid] = max(dred[h][lid], dred[h][lid + st]); } }
{{NOSG}}    workgroupBarrier();
{{NOSG}}  }
{{NOSG}}  var r: array<f32, HPW>;
{{NOSG}}  for (var h = 0u; h < HPW; h++) { r[h] = dred[h][0]; }
{{NOSG}}  return r;
{{NOSG}}}

@compute @workgroup_size(DWG)
fn decode(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32 {{SG_ARGS}}) {
{{SG}}  sg_lane = lane; sg_size = sgs;
  let split = wid.x;
  let h0 = wid.y * HPW;  // the block's first query head
  let kv_off = (h0 / (p.n_heads / p.n_kv_heads)) * HD4;
  let row4 = p.n_kv_heads * HD4;
  let lo = first_key(p.pos, p.window) + split * p.split_len;
  let hi = min(lo + p.split_len, p.pos + 1u);  // exclusive
  for (var i = lid; i < HPW * HD4; i += DWG) { dq[i] = q[h0 * HD4 + i] * p.scale; }
  // This invocation's P.V role: lid = slice * HD4 + col; it sums every NS-th key of the tile
  // into column col of every head of the block (one V load serves all HPW heads).
  let col = lid % HD4;
  let slice = lid / HD4;
  var m: array<f32, HPW>;  // running max per head (the same in every invocation)
  var l: array<f32, HPW>;  // this invocation's share of the running sums
  var acc: array<vec4<f32>, HPW>;
  for (var h = 0u; h < HPW; h++) { m[h] = NEG_BIG; l[h] = 0.0; acc[h] = vec4<f32>(0.0); }
  workgroupBarrier();
  for (var tile = lo; tile < hi; tile += DWG) {
    let j = tile + lid;
    var s: array<f32, HPW>;
    for (var h = 0u; h < HPW; h++) { s[h] = 0.0; }
    if (j < hi) {
      let base = j * row4 + kv_off;
      // Loads in batches of KL before their use, so several are in flight (the tail takes
      // what is left when HD4 is not a multiple of KL).
      var i = 0u;
      for (; i + KL <= HD4; i += KL) {
        var kk: array<vec4<f32>, KL>;
        for (var u = 0u; u < KL; u++) { kk[u] = kv_decode(k_cache[base + i + u]); }
        for (var h = 0u; h < HPW; h++) {
          for (var u = 0u; u < KL; u++) { s[h] += dot(dq[h * HD4 + i + u], kk[u]); }
        }
      }
      for (; i < HD4; i++) {
        let kk = kv_decode(k_cache[base + i]);
        for (var h = 0u; h < HPW; h++) { s[h] += dot(dq[h * HD4 + i], kk); }
      }
      if (p.softcap > 0.0) {
        for (var h = 0u; h < HPW; h++) { s[h] = p.softcap * tanh(clamp(s[h] / p.softcap, -10.0, 10.0)); }
      }
    } else {
      for (var h = 0u; h < HPW; h++) { s[h] = NEG_BIG; }
    }
    let tmax = heads_max(s, lid);
    for (var h = 0u; h < HPW; h++) {
      let m_new = max(m[h], tmax[h]);
      let alpha = exp(m[h] - m_new);
      acc[h] *= alpha;
      l[h] *= alpha;
      m[h] = m_new;
      dp[h][lid] = select(0.0, exp(s[h] - m_new), j < hi);
    }
    workgroupBarrier();
    let n = min(DWG, hi - tile);
    let vb = tile * row4 + kv_off + col;
    var c = slice;
    for (; c + (VL - 1u) * NS < n; c += VL * NS) {  // VL keys' loads in flight
      var vv: array<vec4<f32>, VL>;
      for (var u = 0u; u < VL; u++) { vv[u] = kv_decode(v_cache[vb + (c + u * NS) * row4]); }
      for (var h = 0u; h < HPW; h++) {
        for (var u = 0u; u < VL; u++) {
          let pj = dp[h][c + u * NS];
          l[h] += pj;
          acc[h] += pj * vv[u];
        }
      }
    }
    for (; c < n; c += NS) {
      let vv = kv_decode(v_cache[vb + c * row4]);
      for (var h = 0u; h < HPW; h++) {
        let pj = dp[h][c];
        l[h] += pj;
        acc[h] += pj * vv;
      }
    }
    // The next tile's heads_max holds a barrier before dp is written again.
  }
  // Sum the slices, one head at a time, and write.
  for (var h = 0u; h < HPW; h++) {
    var a = acc[h];
    var lh = l[h];
    if (NS > 1u) {
      workgroupBarrier();
      dacc[lid] = a;
      dl[lid] = lh;
      workgroupBarrier();
      if (slice == 0u) {
        for (var sl = 1u; sl < NS; sl++) {
          a += dacc[lid + sl * HD4];
          lh += dl[lid + sl * HD4];
        }
      }
    }
{{QOUT}}    let qv = quantize_vec4(slice == 0u && p.n_splits == 1u, col, a / lh);
    if (slice == 0u) {
      if (p.n_splits == 1u) {
        out[(h0 + h) * HD4 + col] = a / lh;
{{QOUT}}        out_qs[(h0 + h) * HD4 + col] = qv.packed;
{{QOUT}}        if (col % 8u == 0u) { out_ds[((h0 + h) * HD4 + col) / 8u] = qv.ds; }
      } else {
        let base = ((h0 + h) * p.n_splits + split) * (HD4 + 1u);
        if (col == 0u) { scratch[base] = vec4<f32>(m[h], lh, 0.0, 0.0); }
        scratch[base + 1u + col] = a;
      }
    }
  }
}
