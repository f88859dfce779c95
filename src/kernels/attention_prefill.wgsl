// Entry point prefill: causal attention for a step of several query tokens, flash-attention style
// (appended to attention.wgsl: its bindings of `attend`, first_key, kv_decode). One workgroup
// per (block of BQ query tokens, query head). The keys the block sees are walked in tiles of BK:
//   1. the tile's K and V rows are staged in workgroup memory once for all BQ queries (attend
//      reads every key once per query);
//   2. scores S = Q K^T (Q scaled, staged once): invocation (g, k) of SQG x SKG takes query rows
//      g + SQG a (a < SQ) and keys k + SKG b (b < SK), masked to -big outside each query's keys
//      (causal, sliding window) and soft-capped;
//   3. online softmax per query row, RT invocations a row: running max and sum in workgroup
//      memory, this tile's probabilities in place of the scores and the rescale of the rows so far;
//   4. O += P V: invocation (row r, column vec4 c) with c = lid % HD4 holds rows r + ORP i of
//      column c and reads each staged V vec4 of the tile once for all of them.
// Defines: HD4 (head_dim / 4), BQ, BK, PWG (invocations; BQ | PWG, HD4 <= PWG).
const BQ: u32 = {{BQ}}u;
const BK: u32 = {{BK}}u;
const PWG: u32 = {{PWG}}u;
const HD4P: u32 = HD4 + 1u;             // padded K row: a warp's rows of K spread over banks
const SQ: u32 = 2u;                     // query rows per invocation for the scores
const SQG: u32 = BQ / SQ;
const SKG: u32 = PWG / SQG;
const SK: u32 = BK / SKG;               // keys per invocation for the scores
const RT: u32 = PWG / BQ;               // invocations per query row for the softmax
const RK: u32 = BK / RT;                // their keys each
const ORP: u32 = PWG / HD4;             // query rows the P V phase serves at once
const OQ: u32 = (BQ + ORP - 1u) / ORP;  // output rows per invocation
const MASKED: f32 = -1.0e38;            // scores below it are masked keys (NEG_BIG)

var<workgroup> pq: array<vec4<f32>, BQ * HD4>;   // the block's queries, scaled
var<workgroup> pk: array<vec4<f32>, BK * HD4P>;  // the tile's K rows
var<workgroup> pv: array<vec4<f32>, BK * HD4>;   // the tile's V rows
var<workgroup> pp: array<f32, BQ * BK>;          // the tile's scores, then probabilities
var<workgroup> pred: array<f32, PWG>;            // the softmax's partial maxima, then sums
var<workgroup> pm: array<f32, BQ>;               // running max per query row
var<workgroup> pl: array<f32, BQ>;               // running sum per query row
var<workgroup> palpha: array<f32, BQ>;           // this tile's rescale of each row's sums so far

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
    pq[i] = v;
  }
  if (lid < BQ) {
    pm[lid] = NEG_BIG;
    pl[lid] = 0.0;
  }
  let lo = first_key(p.pos + t0, p.window);  // the first query's first key
  let hi = p.pos + t0 + nq;                  // past the last query's last key
  let sqg = lid % SQG;
  let skg = lid / SQG;
  let sr = lid / RT;  // softmax row
  let sp = lid % RT;
  let col = lid % HD4;
  let orow = lid / HD4;
  var acc: array<vec4<f32>, OQ>;
  for (var i = 0u; i < OQ; i++) { acc[i] = vec4<f32>(0.0); }
  for (var tile = lo; tile < hi; tile += BK) {
    for (var i = lid; i < BK * HD4; i += PWG) {
      let kk = i / HD4;
      var kv = vec4<f32>(0.0);
      var vv = vec4<f32>(0.0);
      if (tile + kk < hi) {
        kv = kv_decode(k_cache[(tile + kk) * row4 + kv_off + i % HD4]);
        vv = kv_decode(v_cache[(tile + kk) * row4 + kv_off + i % HD4]);
      }
      pk[kk * HD4P + i % HD4] = kv;
      pv[i] = vv;
    }
    workgroupBarrier();
    // Zeroed explicitly: without it SwiftShader kept the previous tile's sums in s (the
    // declaration's implicit zero was not redone per iteration).
    var s: array<array<f32, SK>, SQ>;
    for (var a = 0u; a < SQ; a++) {
      for (var b = 0u; b < SK; b++) { s[a][b] = 0.0; }
    }
    for (var d = 0u; d < HD4; d++) {
      var qv: array<vec4<f32>, SQ>;
      for (var a = 0u; a < SQ; a++) { qv[a] = pq[(sqg + SQG * a) * HD4 + d]; }
      for (var b = 0u; b < SK; b++) {
        let kv = pk[(skg + SKG * b) * HD4P + d];
        for (var a = 0u; a < SQ; a++) { s[a][b] += dot(qv[a], kv); }
      }
    }
    for (var a = 0u; a < SQ; a++) {
      let r = sqg + SQG * a;
      let qpos = p.pos + t0 + r;
      for (var b = 0u; b < SK; b++) {
        let kk = skg + SKG * b;
        let j = tile + kk;
        var sc = NEG_BIG;
        if (r < nq && j <= qpos && j >= first_key(qpos, p.window)) {
          sc = s[a][b];
          // Gemma-2: softcap * tanh(logit / softcap); tanh's argument clamped (tanh(10) is 1 in f32).
          if (p.softcap > 0.0) { sc = p.softcap * tanh(clamp(sc / p.softcap, -10.0, 10.0)); }
        }
        pp[r * BK + kk] = sc;
      }
    }
    workgroupBarrier();
    var mx = NEG_BIG;
    for (var c = 0u; c < RK; c++) { mx = max(mx, pp[sr * BK + sp * RK + c]); }
    pred[lid] = mx;
    workgroupBarrier();
    var m_new = pm[sr];
    for (var c = 0u; c < RT; c++) { m_new = max(m_new, pred[sr * RT + c]); }
    workgroupBarrier();  // every invocation has read the maxima before pred takes the sums
    var sum = 0.0;
    for (var c = 0u; c < RK; c++) {
      let i = sr * BK + sp * RK + c;
      let pj = select(0.0, exp(pp[i] - m_new), pp[i] > MASKED);
      pp[i] = pj;
      sum += pj;
    }
    pred[lid] = sum;
    workgroupBarrier();
    if (sp == 0u) {
      var total = 0.0;
      for (var c = 0u; c < RT; c++) { total += pred[sr * RT + c]; }
      let alpha = exp(pm[sr] - m_new);
      palpha[sr] = alpha;
      pl[sr] = pl[sr] * alpha + total;
      pm[sr] = m_new;
    }
    workgroupBarrier();
    if (orow < ORP) {
      for (var i = 0u; i < OQ; i++) {
        let r = orow + ORP * i;
        if (r < BQ) { acc[i] *= palpha[r]; }
      }
      let n = min(BK, hi - tile);
      for (var c = 0u; c < n; c++) {
        let vv = pv[c * HD4 + col];
        for (var i = 0u; i < OQ; i++) {
          let r = orow + ORP * i;
          if (r < BQ) { acc[i] += pp[r * BK + c] * vv; }
        }
      }
    }
    // The next tile's staging must not overwrite pv while P V reads it.
    workgroupBarrier();
  }
  if (orow < ORP) {
    for (var i = 0u; i < OQ; i++) {
      let r = orow + ORP * i;
      if (r < nq) { out[((t0 + r) * p.n_heads + h) * HD4 + col] = acc[i] / pl[r]; }
    }
  }
}
