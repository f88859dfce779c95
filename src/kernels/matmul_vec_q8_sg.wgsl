// Entry point main_sg: the int8-activation matrix-vector (matmul_vec_q8.wgsl's group_dot_TYPE)
// with each subgroup owning RPS rows of its own, for adapters whose subgroups have one fixed size
// SGS. A subgroup's lanes stride along its rows (lane l takes groups l, l + SGS, ...: each row is
// read as SGS x 16 contiguous bytes per step), UN groups per lane per step so that UN * RPS
// independent 16-byte weight loads are in flight, x reused for the RPS rows; the row sums are
// reduced with subgroupAdd alone: no workgroup memory and no barrier.
// The workgroup's WG / SGS subgroups own consecutive row blocks: subgroup s is taken to be
// invocations s * SGS .. s * SGS + SGS - 1 (how 1-D workgroups are laid out in practice; WGSL has
// no subgroup id). An adapter laying them out otherwise sums wrong lanes: the matmul tests run
// this variant on the device (scripts/device) to check.
// Appended to weights.wgsl + matmul_vec_q8.wgsl (+ matvec_reduce.wgsl, unused here).
const SGS: u32 = {{SGS}}u;  // the adapter's subgroup size
const RPS: u32 = {{RPS}}u;  // rows per subgroup
const UN: u32 = {{UN}}u;    // groups per lane per step

@compute @workgroup_size(WG)
fn main_sg(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let lane = tid % SGS;
  let row0 = ((wid.x + wid.y * p.wg_x) * (WG / SGS) + tid / SGS) * RPS;
  // Rows past the chunk compute a copy of its last row (no branch around the subgroupAdd) and
  // store nothing.
  var rows: array<u32, RPS>;
  for (var r = 0u; r < RPS; r++) { rows[r] = min(row0 + r, p.chunk_rows - 1u); }
  var sum: array<f32, RPS>;
  var ss = 0.0;  // sum of x^2 over this lane's groups (NORM inputs)
  let ng = p.cols / 32u;
  var k = lane;
  for (; k + (UN - 1u) * SGS < ng; k += UN * SGS) {
    for (var u = 0u; u < UN; u++) {
      let g = k + u * SGS;
      let xa = xq[2u * g];
      let xb = xq[2u * g + 1u];
      let dx = xd[g].xy;
{{NORM}}      ss += xd[g].z;
      for (var r = 0u; r < RPS; r++) { sum[r] += group_dot_{{TYPE}}(rows[r], g, xa, xb, dx); }
    }
  }
  for (; k < ng; k += SGS) {
    let xa = xq[2u * k];
    let xb = xq[2u * k + 1u];
    let dx = xd[k].xy;
{{NORM}}    ss += xd[k].z;
    for (var r = 0u; r < RPS; r++) { sum[r] += group_dot_{{TYPE}}(rows[r], k, xa, xb, dx); }
  }
  let scale = row_scale(subgroupAdd(ss));  // every subgroup reads all groups of x
  for (var r = 0u; r < RPS; r++) {
    let s = subgroupAdd(sum[r]);
    if (lane == 0u && row0 + r < p.chunk_rows) {
      store_y(0u, p.row_offset + row0 + r, s * scale);
    }
  }
}
