// out[t][c] = scale * W[ids[t]][c] for the tokens whose id falls in this weight chunk (rows
// first_row .. first_row + chunk_rows); one workgroup per token, threads striding over groups.
// Appended to weights.wgsl (load_group). Ids outside every chunk leave their output row as is.
{{PARAMS}}
@group(0) @binding(2) var<storage, read> ids: array<u32>;             // [n_tokens]
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>; // [n_tokens][cols]
@group(0) @binding(4) var<uniform> p: Params;

const WG: u32 = {{WG}}u;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let t = wid.x + wid.y * p.wg_x;
  if (t >= p.n_tokens) { return; }
  let id = ids[t];
  if (id < p.first_row || id - p.first_row >= p.chunk_rows) { return; }
  let row = id - p.first_row;
  for (var k = tid; k < p.cols / GS; k += WG) {
    let wv = load_group(row, k);
    for (var v = 0u; v < GV; v++) { out[t * (p.cols / 4u) + k * GV + v] = wv[v] * p.scale; }
  }
}
