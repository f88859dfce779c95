// Argmax and top-k of one row of logits, on the GPU, so only a few bytes come back per token.
// Both run in two passes: n_groups workgroups reduce parts of the row to candidates, then one
// workgroup reduces the candidates. Elements are ordered by (value descending, id ascending):
// ties go to the smallest id, as std::max_element / a stable sort would.
// Lines starting with {{SG}} / {{NOSG}} are the subgroup / workgroup-memory variants.
{{ENABLE}}
{{PARAMS}}
const WG: u32 = {{WG}}u;
const NONE: u32 = 0xffffffffu;       // id of "no element" (sorts after every real one)
const LOWEST: f32 = -0x1.fffffep+127f;  // its value: -FLT_MAX
const HIGHEST: f32 = 0x1.fffffep+127f;

@group(0) @binding(0) var<storage, read> logits: array<f32>;          // [.. offset + n]
@group(0) @binding(1) var<storage, read_write> cand: array<vec2<u32>>; // (id, value bits) per group
@group(0) @binding(2) var<storage, read_write> out: array<u32>;  // k pairs (id, value bits), or k ids (ids_only)
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> red_v: array<f32, WG>;
var<workgroup> red_i: array<u32, WG>;
var<private> sg_lane: u32;
var<private> sg_size: u32;

struct Best { v: f32, i: u32 }

fn better(a: Best, b: Best) -> bool { return a.v > b.v || (a.v == b.v && a.i < b.i); }

// The best of every invocation's x, returned to all of them. The subgroup variant assumes
// subgroups are consecutive runs of local_invocation_index.
{{SG}}fn block_best(x: Best, lid: u32) -> Best {
{{SG}}  var m = subgroupMax(x.v);
{{SG}}  var i = subgroupMin(select(NONE, x.i, x.v == m));
{{SG}}  if (sg_lane == 0u) { red_v[lid / sg_size] = m; red_i[lid / sg_size] = i; }
{{SG}}  workgroupBarrier();
{{SG}}  var b = Best(LOWEST, NONE);
{{SG}}  for (var s = sg_lane; s < (WG + sg_size - 1u) / sg_size; s += sg_size) {
{{SG}}    let c = Best(red_v[s], red_i[s]);
{{SG}}    if (better(c, b)) { b = c; }
{{SG}}  }
{{SG}}  m = subgroupMax(b.v);
{{SG}}  i = subgroupMin(select(NONE, b.i, b.v == m));
{{SG}}  workgroupBarrier();
{{SG}}  return Best(m, i);
{{SG}}}
{{NOSG}}fn block_best(x: Best, lid: u32) -> Best {
{{NOSG}}  red_v[lid] = x.v;
{{NOSG}}  red_i[lid] = x.i;
{{NOSG}}  workgroupBarrier();
{{NOSG}}  for (var s = WG / 2u; s > 0u; s >>= 1u) {
{{NOSG}}    if (lid < s && better(Best(red_v[lid + s], red_i[lid + s]), Best(red_v[lid], red_i[lid]))) {
{{NOSG}}      red_v[lid] = red_v[lid + s];
{{NOSG}}      red_i[lid] = red_i[lid + s];
{{NOSG}}    }
{{NOSG}}    workgroupBarrier();
{{NOSG}}  }
{{NOSG}}  let b = Best(red_v[0], red_i[0]);
{{NOSG}}  workgroupBarrier();
{{NOSG}}  return b;
{{NOSG}}}

// Element e of what a pass reduces: the logits row (first pass) or the candidates (second).
fn element(e: u32, from_candidates: bool) -> Best {
  if (from_candidates) { let c = cand[e]; return Best(bitcast<f32>(c.y), c.x); }
  return Best(logits[p.offset + e], e);
}

// The k best elements of [lo, hi) in order, into dst (cand or out) at dst_base: round r takes
// the best element that ranks after round r-1's pick.
fn top_k(lo: u32, hi: u32, from_candidates: bool, to_out: bool, dst_base: u32, lid: u32) {
  var prev = Best(HIGHEST, 0u);
  for (var r = 0u; r < p.k; r++) {
    var b = Best(LOWEST, NONE);
    for (var e = lo + lid; e < hi; e += WG) {
      let x = element(e, from_candidates);
      if (x.i != NONE && better(prev, x) && better(x, b)) { b = x; }
    }
    let w = block_best(b, lid);
    if (lid == 0u) {
      let pair = vec2<u32>(w.i, bitcast<u32>(w.v));
      if (!to_out) {
        cand[dst_base + r] = pair;
      } else if (p.ids_only != 0u) {
        out[r] = w.i;
      } else {
        out[2u * r] = pair.x;
        out[2u * r + 1u] = pair.y;
      }
    }
    prev = w;
  }
}

// Pass 1 of both: group g takes elements [g * chunk, (g + 1) * chunk) of the row. Argmax is
// top-k with k = 1.
@compute @workgroup_size(WG)
fn top_k_part(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32 {{SG_ARGS}}) {
{{SG}}  sg_lane = lane; sg_size = sgs;
  let lo = wid.x * p.chunk;
  top_k(lo, min(lo + p.chunk, p.n), false, false, wid.x * p.k, lid);
}

// Pass 2: the best k of the n_groups * k candidates.
@compute @workgroup_size(WG)
fn top_k_merge(@builtin(local_invocation_index) lid: u32 {{SG_ARGS}}) {
{{SG}}  sg_lane = lane; sg_size = sgs;
  top_k(0u, p.n_groups * p.k, true, true, 0u, lid);
}
