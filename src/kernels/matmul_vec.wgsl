// Matrix-vector (n_tokens == 1): y[row_offset + r] (+)= sum_c W[r][c] * x[c] for the rows r of
// one weight chunk. Appended to weights.wgsl (load_group).
//
// Each workgroup owns ROWS consecutive rows; all WG threads stride over the column groups, and a
// thread loads each x group once and reuses it for its ROWS rows (x is read from L1 once per
// ROWS weight groups instead of once per group: at 4-bit weights that read would otherwise cost
// more than the weights). ROWS independent 16-byte weight loads per iteration keep enough bytes
// in flight. The ROWS sums are then reduced across the workgroup, with subgroupAdd ({{SG}}
// lines) or a tree in workgroup memory ({{NOSG}} lines).
//
// The x the rows are multiplied with can be computed on the fly from the layer's raw vectors,
// which saves a dispatch and a pass over memory (IN_* line prefixes choose one):
//   IN_PLAIN  x as given;
//   IN_NORM   RMSNorm(x) * weight: x * aux is dotted, and the row sums are scaled by
//             rsqrt(mean(x^2) + eps), the sum of squares being reduced with them;
//   IN_GATED  act(gate) * up: x holds the gate, aux the up projection, ACT the activation.
// Defines: FT (f32 or f16 dot products; sums across groups are f32), WG, ROWS, SG/NOSG, IN_*, ACT.
{{PARAMS}}
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;  // [cols]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;  // [y_stride]
@group(0) @binding(4) var<uniform> p: Params;
{{IN_AUX}}@group(0) @binding(5) var<storage, read> aux: array<vec4<f32>>;  // [cols] norm weight or up

fn input_vec(i: u32) -> vec4<f32> {
{{IN_PLAIN}}  return x[i];
{{IN_NORM}}  return x[i] * aux[i];
{{IN_GATED}}  let g = x[i];
{{IN_GATED}}  return vec4<f32>({{ACT}}(g.x), {{ACT}}(g.y), {{ACT}}(g.z), {{ACT}}(g.w)) * aux[i];
}

alias FT = {{FT}};
const WG: u32 = {{WG}}u;
const ROWS: u32 = {{ROWS}}u;

// IN_NORM: 1 / RMS of x, from its sum of squares; 1 otherwise.
fn row_scale(sum_sq: f32) -> f32 {
{{IN_NORM}}  return inverseSqrt(sum_sq / f32(p.cols) + p.eps);
  return 1.0;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32> {{SG_ARGS}}) {
  let row0 = (wid.x + wid.y * p.wg_x) * ROWS;
  for (var r = 0u; r <= ROWS; r++) { acc[r] = 0.0; }  // acc[ROWS]: x's sum of squares (IN_NORM)
  let n_groups = p.cols / GS;
  for (var k = tid; k < n_groups; k += WG) {
    var xg: array<vec4<FT>, GV>;
    for (var v = 0u; v < GV; v++) {
      xg[v] = vec4<FT>(input_vec(k * GV + v));
{{IN_NORM}}      acc[ROWS] += dot(x[k * GV + v], x[k * GV + v]);
    }
    for (var r = 0u; r < ROWS; r++) {
      if (row0 + r < p.chunk_rows) {
        let wv = load_group(row0 + r, k);
        var s = FT(0);
        for (var v = 0u; v < GV; v++) { s += dot(vec4<FT>(wv[v]), xg[v]); }
        acc[r] += f32(s);
      }
    }
  }
{{SG}}  store_rows(tid, row0, lane, sgs);
{{NOSG}}  store_rows(tid, row0, 0u, 1u);
}
