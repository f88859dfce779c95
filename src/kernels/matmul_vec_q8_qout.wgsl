// Entry point main_qout: the int8-activation matrix-vector (matmul_vec_q8.wgsl's group_dot_TYPE)
// that also hands the next matvec its input already int8-quantized, so no quantize pass
// (quantize_x.wgsl) runs between them. A quantization block is 32 consecutive outputs, so a
// workgroup owns whole blocks: one block of 32 rows (or 32 gate + 32 up rows, GATED).
//   GATED:    the block of act(gate) * up (the stacked gate | up weight: up rows start at seg1);
//             nothing else is stored.
//   RESIDUAL: y (+)= W x as ever (the residual stream), then the block of y * norm weight with its
//             sum of squares of y: an RMSNorm input as quantize_x.wgsl leaves it (the consumer
//             applies 1 / rms).
// Threads: KT lanes along K times WG / KT row slices; lane l of slice s sums groups l, l + KT,
// ... of rows s, s + RS, ... (RPT rows), then the lanes' partials are summed in workgroup memory.
// Appended to weights.wgsl + matmul_vec_q8.wgsl (+ its reduce / store files, unused here) +
// activations.wgsl. Defines: NR (32 or 64), QOUT_GATED / QOUT_RESIDUAL line prefixes.
const KT: u32 = 32u;       // lanes along K
const RS: u32 = WG / KT;   // row slices
const NR: u32 = {{NR}}u;   // rows per workgroup
const RPT: u32 = NR / RS;  // rows per thread

@group(0) @binding(8) var<storage, read_write> qo_qs: array<u32>;        // [outputs / 4] int8 x 4
@group(0) @binding(9) var<storage, read_write> qo_ds: array<vec4<f32>>;  // [outputs / 32] (d, d * sum, sum y^2, 0)
{{QOUT_RESIDUAL}}@group(0) @binding(10) var<storage, read> qo_norm: array<f32>;  // the next RMSNorm's weight

var<workgroup> qo_part: array<f32, NR * KT>;  // [row][lane] partial sums
var<workgroup> qo_red: array<f32, KT>;
var<workgroup> qo_val: array<f32, NR>;
var<workgroup> qo_q: array<i32, 32>;
var<workgroup> qo_sq: array<f32, 32>;

// Row of the weight for local row lr of output block b.
fn qout_row(lr: u32, b: u32) -> u32 {
{{QOUT_GATED}}  if (lr >= 32u) { return p.seg1 + 32u * b + lr - 32u; }
  return 32u * b + lr;
}

@compute @workgroup_size(WG)
fn main_qout(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let b = wid.x + wid.y * p.wg_x;  // the output block
  let lane = tid % KT;
  let slice = tid / KT;
  let ng = p.cols / 32u;
  var a: array<f32, RPT>;
  for (var i = 0u; i < RPT; i++) { a[i] = 0.0; }
  var ss = 0.0;  // sum of x^2 over this lane's groups (NORM inputs)
  for (var u = lane; u < ng / GU; u += KT) {  // units of GU groups (matmul_vec_q8.wgsl)
    let x = load_x(u);
    ss += unit_ss(x);
    for (var i = 0u; i < RPT; i++) { a[i] += unit_dot(qout_row(slice + i * RS, b), u, x); }
  }
  for (var i = 0u; i < RPT; i++) { qo_part[(slice + i * RS) * KT + lane] = a[i]; }
  if (slice == 0u) { qo_red[lane] = ss; }  // every slice walked the same groups
  workgroupBarrier();
  if (tid < NR) {
    var t = 0.0;
    for (var j = 0u; j < KT; j++) { t += qo_part[tid * KT + j]; }
    var s2 = 0.0;
    for (var j = 0u; j < KT; j++) { s2 += qo_red[j]; }
    qo_val[tid] = t * row_scale(s2);
  }
  workgroupBarrier();
  // The block's 32 outputs, one per thread tid < 32: v is what the next matvec multiplies.
  let e = 32u * b + tid;
  var v = 0.0;
  var sq = 0.0;
  if (tid < 32u) {
{{QOUT_GATED}}    v = {{ACT}}(qo_val[tid]) * qo_val[32u + tid];
{{QOUT_RESIDUAL}}    let yn = select(0.0, y[e], p.accumulate != 0u) + qo_val[tid];
{{QOUT_RESIDUAL}}    y[e] = yn;
{{QOUT_RESIDUAL}}    v = yn * qo_norm[e];
{{QOUT_RESIDUAL}}    sq = yn * yn;
    qo_red[tid] = abs(v);
  }
  workgroupBarrier();
  var m = 0.0;
  if (tid < 32u) { for (var j = 0u; j < 32u; j++) { m = max(m, qo_red[j]); } }
  let d = m / 127.0;
  let q = select(0i, i32(round(v / d)), d > 0.0);
  if (tid < 32u) {
    qo_q[tid] = q;
    qo_sq[tid] = sq;
  }
  workgroupBarrier();
  if (tid < 32u && tid % 4u == 0u) {
    qo_qs[e / 4u] = (bitcast<u32>(qo_q[tid]) & 0xFFu) | ((bitcast<u32>(qo_q[tid + 1u]) & 0xFFu) << 8u) |
                    ((bitcast<u32>(qo_q[tid + 2u]) & 0xFFu) << 16u) | ((bitcast<u32>(qo_q[tid + 3u]) & 0xFFu) << 24u);
  }
  if (tid == 0u) {
    var s = 0i;
    var s2 = 0.0;
    for (var j = 0u; j < 32u; j++) {
      s += qo_q[j];
      s2 += qo_sq[j];
    }
    qo_ds[b] = vec4<f32>(d, d * f32(s), s2, 0.0);
  }
}
