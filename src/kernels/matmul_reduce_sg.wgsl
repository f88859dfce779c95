// row_sum for matmul_vec.wgsl with subgroups: subgroupAdd, then one value per subgroup combined
// through workgroup memory. Assumes (as every implementation does for 1-D workgroups) that a
// subgroup is a contiguous run of local_invocation_index, and that p.tpr >= the subgroup size
// (the launcher picks p.tpr from the adapter's maximum subgroup size). The size itself is measured
// (subgroupAdd(1)), never assumed. The row's total is valid in the thread with tid % p.tpr == 0.
var<workgroup> red: array<f32, WG>;

fn row_sum(v: f32, tid: u32) -> f32 {
  let s = subgroupAdd(v);
  let n = subgroupAdd(1u);
  red[tid] = s;
  workgroupBarrier();
  var total = 0.0;
  if (tid % p.tpr == 0u) {
    for (var k = 0u; k < p.tpr; k += n) { total += red[tid + k]; }
  }
  return total;
}
