// y[t][row_offset + r] (+)= sum_c W[r][c] * x[t][c] for the rows r of one weight chunk.
// Appended to weights.wgsl (load_group) and followed by one of matmul_reduce_*.wgsl (row_sum).
//   matvec (n_tokens == 1): RPW rows per workgroup, TPR threads per row striding over the
//     row's groups, then a reduction per row (subgroups or workgroup memory).
//   matmat (n_tokens > 1): a tile of TT tokens x WG rows per workgroup; the x tile for KC columns
//     sits in workgroup memory and each thread decodes a group of its row once for TT tokens.
// Defines: FT (f32 or f16: the arithmetic of the dot products; sums across groups stay f32),
// WG, TPR, TT, KC, ACCUMULATE (true: add into y, the residual fusion).
{{PARAMS}}
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;       // [n_tokens][cols]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;       // [n_tokens][y_stride]
@group(0) @binding(4) var<uniform> p: Params;

alias FT = {{FT}};
const WG: u32 = {{WG}}u;
const TPR: u32 = {{TPR}}u;
const RPW: u32 = WG / TPR;
const TT: u32 = {{TT}}u;
const KC: u32 = {{KC}}u;
const ACCUMULATE: bool = {{ACCUMULATE}};

fn store(t: u32, row: u32, v: f32) {
  let i = t * p.y_stride + p.row_offset + row;
  if (ACCUMULATE) { y[i] += v; } else { y[i] = v; }
}

@compute @workgroup_size(WG)
fn matvec(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let row = (wid.x + wid.y * p.wg_x) * RPW + tid / TPR;
  var acc = 0.0;
  if (row < p.chunk_rows) {
    for (var k = tid % TPR; k < p.cols / GS; k += TPR) {
      let wv = load_group(row, k);
      var s = FT(0);
      for (var v = 0u; v < GV; v++) { s += dot(vec4<FT>(wv[v]), vec4<FT>(x[k * GV + v])); }
      acc += f32(s);
    }
  }
  let total = row_sum(acc, tid);
  if (tid % TPR == 0u && row < p.chunk_rows) { store(0u, row, total); }
}

var<workgroup> xs: array<vec4<FT>, TT * KC / 4u>;  // [TT][KC / 4]

@compute @workgroup_size(WG)
fn matmat(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let row = (wid.x + wid.y * p.wg_x) * WG + tid;
  let t0 = wid.z * TT;
  let cols4 = p.cols / 4u;
  var acc: array<f32, TT>;
  for (var kc = 0u; kc < p.cols; kc += KC) {
    for (var i = tid; i < TT * KC / 4u; i += WG) {
      let t = t0 + i / (KC / 4u);
      let c4 = kc / 4u + i % (KC / 4u);
      var v = vec4<FT>(FT(0));
      if (t < p.n_tokens && c4 < cols4) { v = vec4<FT>(x[t * cols4 + c4]); }
      xs[i] = v;
    }
    workgroupBarrier();
    if (row < p.chunk_rows) {
      let groups = min(KC, p.cols - kc) / GS;
      for (var g = 0u; g < groups; g++) {
        let wv = load_group(row, kc / GS + g);
        for (var t = 0u; t < TT; t++) {
          var s = FT(0);
          for (var v = 0u; v < GV; v++) { s += dot(vec4<FT>(wv[v]), xs[t * (KC / 4u) + g * GV + v]); }
          acc[t] += f32(s);
        }
      }
    }
    workgroupBarrier();
  }
  if (row < p.chunk_rows) {
    for (var t = 0u; t < TT; t++) {
      if (t0 + t < p.n_tokens) { store(t0 + t, row, acc[t]); }
    }
  }
}
