// Entry point prefill: causal attention for a step of several query tokens, flash-attention style
// (appended to attention.wgsl: its bindings of `attend`, first_key, kv_decode, kv types). One
// workgroup of 128 invocations per (block of BQ query tokens, query head). The keys the block
// sees are walked in tiles of BK; per tile:
//   1. the tile's K and V rows are staged in workgroup memory, in the cache's own type (f16 rows
//      stay packed: twice the keys per tile), once for all BQ queries; they were loaded into
//      registers during the previous tile;
//   2. scores in registers, register-tiled: invocation (g, k) = (lid / 16, lid % 16) takes query
//      rows g + 8 a (a < TQ) and keys k + 16 b (b < TK), so each staged K vec4 serves TQ rows and
//      each Q vec4 TK keys; masked (causal, sliding window) and soft-capped;
//   3. online softmax: the 16 invocations of a row group publish their maxima, every one of them
//      reads the row's 16 and rescales, then publishes its probabilities and their sum;
//   4. O += P V in registers: the same invocation holds rows g + 8 a and column vec4s k + 16 c
//      (c < TC) of the output, with the running max and sum of its rows (so nothing else is
//      shared between tiles).
// Four barriers a tile. Defines: HD4 (head_dim / 4), BQ (a multiple of 8), BK (of 16).
const BQ: u32 = {{BQ}}u;
const BK: u32 = {{BK}}u;
const PWG: u32 = 128u;
const KG: u32 = 16u;                     // key groups (scores) = column groups (P V)
const RG: u32 = PWG / KG;                // row groups
const TQ: u32 = BQ / RG;                 // query rows per invocation
const TK: u32 = BK / KG;                 // keys per invocation
const TC: u32 = (HD4 + KG - 1u) / KG;    // output column vec4s per invocation
const HD4P: u32 = HD4 + 1u;              // padded rows: the 16 keys a warp reads spread over banks
const MASKED: f32 = -1.0e38;             // scores below it are masked keys (NEG_BIG)

const STG: u32 = (BK * HD4 + PWG - 1u) / PWG;  // K (and V) vec4s each invocation stages per tile

var<workgroup> fq: array<vec4<f32>, BQ * HD4P>;  // the block's queries, scaled
var<workgroup> fk: array<{{KV_T}}, BK * HD4P>;    // the tile's K rows
var<workgroup> fv: array<{{KV_T}}, BK * HD4>;     // the tile's V rows
var<workgroup> fp: array<f32, BQ * BK>;           // the tile's probabilities
var<workgroup> fmax: array<f32, BQ * KG>;         // per row, each key group's maximum
var<workgroup> fsum: array<f32, BQ * KG>;         // per row, each key group's sum of probabilities

// Loads this invocation's share of the K and V rows of keys tile.. (zero past hi), all before
// any use, so they are in flight together.
fn load_tile(tile: u32, hi: u32, kv_off: u32, row4: u32, lid: u32, kx: ptr<function, array<{{KV_T}}, STG>>,
             vx: ptr<function, array<{{KV_T}}, STG>>) {
  for (var u = 0u; u < STG; u++) {
    let i = lid + u * PWG;
    let kk = i / HD4;
    var kv = kv_encode(vec4<f32>(0.0));
    var vv = kv;
    if (i < BK * HD4 && tile + kk < hi) {
      let src = (tile + kk) * row4 + kv_off + i % HD4;
      kv = k_cache[src];
      vv = v_cache[src];
    }
    (*kx)[u] = kv;
    (*vx)[u] = vv;
  }
}

@compute @workgroup_size(PWG)
fn prefill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t0 = wid.x * BQ;
  let h = wid.y;
  let kv_off = (h / (p.n_heads / p.n_kv_heads)) * HD4;
  let row4 = p.n_kv_heads * HD4;
  let nq = min(BQ, p.n_tokens - t0);  // the block's query rows
  for (var i = lid; i < BQ * HD4; i += PWG) {
    let r = i / HD4;
    var v = vec4<f32>(0.0);
    if (r < nq) { v = q[((t0 + r) * p.n_heads + h) * HD4 + i % HD4] * p.scale; }
    fq[r * HD4P + i % HD4] = v;
  }
  let lo = first_key(p.pos + t0, p.window);  // the first query's first key
  let hi = p.pos + t0 + nq;                  // past the last query's last key
  let g = lid / KG;
  let kg = lid % KG;
  var m: array<f32, TQ>;  // running max of rows g + 8 a (the same in all 16 invocations of g)
  var l: array<f32, TQ>;  // running sum
  var acc: array<array<vec4<f32>, TC>, TQ>;
  for (var a = 0u; a < TQ; a++) {
    m[a] = NEG_BIG;
    l[a] = 0.0;
    for (var c = 0u; c < TC; c++) { acc[a][c] = vec4<f32>(0.0); }
  }
  // The tile's K / V come into registers one tile ahead (loaded before this tile's arithmetic,
  // stored after it), so the loads' latency is hidden behind the scores and P V.
  var kx_next: array<{{KV_T}}, STG>;
  var vx_next: array<{{KV_T}}, STG>;
  load_tile(lo, hi, kv_off, row4, lid, &kx_next, &vx_next);
  for (var tile = lo; tile < hi; tile += BK) {
    let n = min(BK, hi - tile);
    for (var u = 0u; u < STG; u++) {
      let i = lid + u * PWG;
      if (i < BK * HD4) {
        fk[(i / HD4) * HD4P + i % HD4] = kx_next[u];
        fv[i] = vx_next[u];
      }
    }
    workgroupBarrier();  // also: the query rows are staged (first tile)
    if (tile + BK < hi) { load_tile(tile + BK, hi, kv_off, row4, lid, &kx_next, &vx_next); }
    // Zeroed explicitly: without it SwiftShader kept the previous tile's sums (the declaration's
    // implicit zero was not redone per iteration).
    var s: array<array<f32, TK>, TQ>;
    for (var a = 0u; a < TQ; a++) {
      for (var b = 0u; b < TK; b++) { s[a][b] = 0.0; }
    }
    for (var d = 0u; d < HD4; d++) {
      var kx: array<vec4<f32>, TK>;
      for (var b = 0u; b < TK; b++) { kx[b] = kv_decode(fk[(kg + KG * b) * HD4P + d]); }
      for (var a = 0u; a < TQ; a++) {
        let qv = fq[(g + RG * a) * HD4P + d];
        for (var b = 0u; b < TK; b++) { s[a][b] += dot(qv, kx[b]); }
      }
    }
    for (var a = 0u; a < TQ; a++) {
      let r = g + RG * a;
      let qpos = p.pos + t0 + r;
      let first = first_key(qpos, p.window);
      var mx = NEG_BIG;
      for (var b = 0u; b < TK; b++) {
        let j = tile + kg + KG * b;
        var sc = NEG_BIG;
        if (r < nq && j <= qpos && j >= first) {
          sc = s[a][b];
          // Gemma-2: softcap * tanh(logit / softcap); tanh's argument clamped (tanh(10) is 1 in f32).
          if (p.softcap > 0.0) { sc = p.softcap * tanh(clamp(sc / p.softcap, -10.0, 10.0)); }
        }
        s[a][b] = sc;
        mx = max(mx, sc);
      }
      fmax[r * KG + kg] = mx;
    }
    workgroupBarrier();
    var alpha: array<f32, TQ>;
    for (var a = 0u; a < TQ; a++) {
      let r = g + RG * a;
      var m_new = m[a];
      for (var i = 0u; i < KG; i++) { m_new = max(m_new, fmax[r * KG + i]); }
      alpha[a] = exp(m[a] - m_new);
      m[a] = m_new;
      var sum = 0.0;
      for (var b = 0u; b < TK; b++) {
        let pj = select(0.0, exp(s[a][b] - m_new), s[a][b] > MASKED);
        fp[r * BK + kg + KG * b] = pj;
        sum += pj;
      }
      fsum[r * KG + kg] = sum;
    }
    workgroupBarrier();
    for (var a = 0u; a < TQ; a++) {
      let r = g + RG * a;
      var sum = 0.0;
      for (var i = 0u; i < KG; i++) { sum += fsum[r * KG + i]; }
      l[a] = l[a] * alpha[a] + sum;
      for (var c = 0u; c < TC; c++) { acc[a][c] *= alpha[a]; }
    }
    for (var j = 0u; j < n; j++) {
      var vx: array<vec4<f32>, TC>;
      for (var c = 0u; c < TC; c++) { vx[c] = kv_decode(fv[j * HD4 + min(kg + KG * c, HD4 - 1u)]); }
      for (var a = 0u; a < TQ; a++) {
        let pj = fp[(g + RG * a) * BK + j];
        for (var c = 0u; c < TC; c++) { acc[a][c] += pj * vx[c]; }
      }
    }
    // The next tile's staging must not overwrite fk / fv, nor its maxima fmax, while this one reads them.
    workgroupBarrier();
  }
  for (var a = 0u; a < TQ; a++) {
    let r = g + RG * a;
    if (r < nq) {
      for (var c = 0u; c < TC; c++) {
        let col = kg + KG * c;
        if (col < HD4) { out[((t0 + r) * p.n_heads + h) * HD4 + col] = acc[a][c] / l[a]; }
      }
    }
  }
}
