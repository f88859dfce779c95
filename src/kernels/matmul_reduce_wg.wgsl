// row_sum for matmul_vec.wgsl without subgroups: a tree over workgroup memory within each run of p.tpr
// threads (p.tpr a power of two). Every thread calls it; the row's total is valid in the thread
// with tid % p.tpr == 0.
var<workgroup> red: array<f32, WG>;

fn row_sum(v: f32, tid: u32) -> f32 {
  red[tid] = v;
  workgroupBarrier();
  for (var s = p.tpr / 2u; s > 0u; s >>= 1u) {
    if (tid % p.tpr < s) { red[tid] += red[tid + s]; }
    workgroupBarrier();
  }
  return red[tid];
}
