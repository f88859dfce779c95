// Matrix-matrix (n_tokens > 1): y[t][row_offset + r] (+)= sum_c W[r][c] * x[t][c] for the rows
// r of one weight chunk. Appended to weights.wgsl (load_group). A workgroup computes a tile of
// TT tokens x WG rows, one row per thread: the x tile for KC columns is staged in workgroup
// memory, and each thread decodes a group of its row once and uses it for all TT tokens, so
// weights are read once per token tile.
// Defines: FT (f32 or f16: the arithmetic of each group's dot products; sums across groups are
// f32), WG, TT, KC (a multiple of 32).
{{PARAMS}}
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;  // [n_tokens][cols]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;  // [n_tokens][y_stride]
@group(0) @binding(4) var<uniform> p: Params;

alias FT = {{FT}};
const WG: u32 = {{WG}}u;
const TT: u32 = {{TT}}u;
const KC: u32 = {{KC}}u;

var<workgroup> xs: array<vec4<FT>, TT * KC / 4u>;  // [TT][KC / 4]

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
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
      if (t0 + t < p.n_tokens) {
        store_y(t0 + t, p.row_offset + row, acc[t]);
      }
    }
  }
}
