// The end of every matrix-vector kernel (matmul_vec.wgsl, matmul_vec_q8.wgsl), appended to its
// source: each thread holds ROWS row partials plus one extra partial in `acc` (matmul_vec's
// sum of squares of x for a fused RMSNorm; 0 otherwise); they are summed over the workgroup with
// subgroupAdd ({{SG}} lines) or a tree in workgroup memory ({{NOSG}} lines), and thread r < ROWS
// writes row r: y (+)= sum * row_scale(extra sum) (store_y, matmul_store.wgsl). The kernel
// defines row_scale(), ROWS, WG and the bindings y and p.
var<private> acc: array<f32, ROWS + 1u>;
{{SG}}const NSG: u32 = (WG + 3u) / 4u;  // most subgroups a workgroup can have (WebGPU subgroups have >= 4 lanes)
{{SG}}var<workgroup> red: array<f32, (ROWS + 1u) * NSG>;  // a partial per sum and subgroup
{{NOSG}}var<workgroup> red: array<f32, (ROWS + 1u) * WG>;  // a partial per sum and thread

fn store_rows(tid: u32, row0: u32, lane: u32, sgs: u32) {
{{SG}}  let n_sg = (WG + sgs - 1u) / sgs;
{{SG}}  for (var r = 0u; r <= ROWS; r++) {
{{SG}}    let s = subgroupAdd(acc[r]);
{{SG}}    if (lane == 0u) { red[r * NSG + tid / sgs] = s; }
{{SG}}  }
{{SG}}  workgroupBarrier();
{{SG}}  if (tid < ROWS && row0 + tid < p.chunk_rows) {
{{SG}}    var total = 0.0;
{{SG}}    var extra = 0.0;
{{SG}}    for (var k = 0u; k < n_sg; k++) {
{{SG}}      total += red[tid * NSG + k];
{{SG}}      extra += red[ROWS * NSG + k];
{{SG}}    }
{{SG}}    store_y(0u, p.row_offset + row0 + tid, total * row_scale(extra));
{{SG}}  }
{{NOSG}}  for (var r = 0u; r <= ROWS; r++) { red[r * WG + tid] = acc[r]; }
{{NOSG}}  workgroupBarrier();
{{NOSG}}  for (var s = WG / 2u; s > 0u; s >>= 1u) {
{{NOSG}}    if (tid < s) {
{{NOSG}}      for (var r = 0u; r <= ROWS; r++) { red[r * WG + tid] += red[r * WG + tid + s]; }
{{NOSG}}    }
{{NOSG}}    workgroupBarrier();
{{NOSG}}  }
{{NOSG}}  if (tid < ROWS && row0 + tid < p.chunk_rows) {
{{NOSG}}    store_y(0u, p.row_offset + row0 + tid, red[tid * WG] * row_scale(red[ROWS * WG]));
{{NOSG}}  }
}
