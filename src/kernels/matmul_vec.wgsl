// Matrix-vector (n_tokens == 1): y[row_offset + r] (+)= sum_c W[r][c] * x[c] for the rows r of
// one weight chunk. Appended to weights.wgsl (load_group) and followed by one of
// matmul_reduce_*.wgsl (row_sum). Each workgroup takes WG / tpr rows; the tpr threads of a row
// stride over its groups, then the row is reduced (subgroups or workgroup memory).
// Defines: FT (f32 or f16: the arithmetic of each group's dot product; sums across groups are
// f32), WG. The threads per row (a power of two) are a parameter, so one pipeline serves all
// matrix widths.
{{PARAMS}}
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;  // [cols]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;  // [y_stride]
@group(0) @binding(4) var<uniform> p: Params;

alias FT = {{FT}};
const WG: u32 = {{WG}}u;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let row = (wid.x + wid.y * p.wg_x) * (WG / p.tpr) + tid / p.tpr;
  var acc = 0.0;
  if (row < p.chunk_rows) {
    for (var k = tid % p.tpr; k < p.cols / GS; k += p.tpr) {
      let wv = load_group(row, k);
      var s = FT(0);
      for (var v = 0u; v < GV; v++) { s += dot(vec4<FT>(wv[v]), vec4<FT>(x[k * GV + v])); }
      acc += f32(s);
    }
  }
  let total = row_sum(acc, tid);
  if (tid % p.tpr == 0u && row < p.chunk_rows) {
    let i = p.row_offset + row;
    y[i] = select(0.0, y[i], p.accumulate != 0u) + total;
  }
}
