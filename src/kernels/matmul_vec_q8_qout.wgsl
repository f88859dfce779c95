// Entry point main_qout: the int8-activation matrix-vector (matmul_vec_q8.wgsl's group_dot_TYPE)
// that also hands the next matvec its input already int8-quantized, so no quantize pass
// (quantize_x.wgsl) runs between them. A quantization block is 32 consecutive outputs, so a
// workgroup owns whole blocks: one block of 32 rows (or 32 gate + 32 up rows, GATED).
//   GATED:    the block of act(gate) * up (the stacked gate | up weight: up rows start at seg1);
//             nothing else is stored.
//   RESIDUAL: y (+)= W x as ever (the residual stream), then the block of y * norm weight with its
//             sum of squares of y: an RMSNorm input as quantize_x.wgsl leaves it (the consumer
//             applies 1 / rms).
//   ROPE:     (not quantized) a decode step's q | k | v, or whole parts of it from row
//             rp.first_row on: q and k rotated (RoPE at rp.pos), q to y, k and v straight into
//             row rp.pos of the KV caches, so no RoPE / cache-write pass runs before the
//             attention. With NEOX a block takes rows 16j.. and their partners
//             head_dim / 2 + 16j.. of one head, so every rotated pair is in one block.
// Threads: KT lanes along K times WG / KT row slices; lane l of slice s sums units l, l + KT,
// ... of rows s, s + RS, ... (RPT rows). A lane takes UN units per batch, loading them all before
// the arithmetic, so a workgroup that owns few rows still keeps many loads in flight.
// The lanes' partials are summed by subgroupAdd (QSG lines; subgroups of at most 32 invocations,
// runs of consecutive invocations, so a slice's lanes are whole subgroups) or in workgroup memory
// (QNOSG lines), and so are the block's maximum and sums in the epilogue.
// Appended to weights.wgsl + matmul_vec_q8.wgsl (+ its reduce / store files, unused here) +
// activations.wgsl + rope_math.wgsl. Defines: NR (32 or 64), UN, ROPE_PARAMS, KV_T / KV_ENCODE
// (attention.h), line prefixes QOUT_GATED / QOUT_RESIDUAL / QOUT_Q8 (either) / QOUT_ROPE /
// QOUT_NEOX / QSG / QNOSG.
const KT: u32 = {{KT}}u;   // lanes along K (a multiple of 32 and of the subgroup size)
const RS: u32 = WG / KT;   // row slices
const NR: u32 = {{NR}}u;   // rows per workgroup
const RPT: u32 = NR / RS;  // rows per thread
const UN: u32 = {{UN}}u;   // units per lane and batch

// Bindings of the modes (an entry point's layout holds only what it uses).
@group(0) @binding(8) var<storage, read_write> qo_qs: array<u32>;        // [outputs / 4] int8 x 4
@group(0) @binding(9) var<storage, read_write> qo_ds: array<vec4<f32>>;  // [outputs / 32] (d, d * sum, sum y^2, 0)
{{QOUT_RESIDUAL}}@group(0) @binding(10) var<storage, read> qo_norm: array<f32>;  // the next RMSNorm's weight
{{ROPE_PARAMS}}
@group(0) @binding(11) var<storage, read_write> k_cache: array<{{KV_T}}>;  // [max_ctx][kv_dim]
@group(0) @binding(12) var<storage, read_write> v_cache: array<{{KV_T}}>;
@group(0) @binding(13) var<storage, read> inv_freq: array<f32>;           // [rotary_dim / 2]
@group(0) @binding(14) var<uniform> rp: RopeParams;

var<workgroup> qo_part: array<f32, NR * KT>;  // [row][lane or lane's subgroup] partial sums
var<workgroup> qo_red: array<f32, KT>;        // sums of squares of x, then the block's maxima (KT >= 32)
var<workgroup> qo_val: array<f32, NR>;        // the block's rows of W x
var<workgroup> qo_q: array<i32, 32>;
var<workgroup> qo_qsum: array<i32, 32>;       // partial sums of the block's q
var<workgroup> qo_sq: array<f32, 32>;         // partial sums of y^2; ROPE: the rotated values
var<private> qo_sgs: u32 = 1u;                // the subgroup size (QSG)

// Row of the weight for local row lr of output block b.
fn qout_row(lr: u32, b: u32) -> u32 {
{{QOUT_GATED}}  if (lr >= 32u) { return p.seg1 + 32u * b + lr - 32u; }
{{QOUT_NEOX}}  let bph = rp.head_dim / 32u;  // blocks per head
{{QOUT_NEOX}}  let j = b % bph;
{{QOUT_NEOX}}  return (b - j) * 32u + select(rp.head_dim / 2u + 16u * j + lr - 16u, 16u * j + lr, lr < 16u);
  return 32u * b + lr;
}

fn kv_encode(v: vec4<f32>) -> {{KV_T}} { return {{KV_ENCODE}}; }

@compute @workgroup_size(WG)
fn main_qout(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32> {{SG_ARGS}}) {
{{QSG}}  qo_sgs = sgs;
  let b = wid.x + wid.y * p.wg_x;  // the output block
  let kl = tid % KT;
  let slice = tid / KT;
  let nu = p.cols / 32u / GU;  // units of GU groups (matmul_vec_q8.wgsl)
  var a: array<f32, RPT>;
  for (var i = 0u; i < RPT; i++) { a[i] = 0.0; }
  var ss = 0.0;  // sum of x^2 over this lane's groups (NORM inputs)
  var u = kl;
  for (; u + (UN - 1u) * KT < nu; u += UN * KT) {
    var xs: array<XUnit, UN>;
    for (var j = 0u; j < UN; j++) { xs[j] = load_x(u + j * KT); }
    for (var j = 0u; j < UN; j++) {
      ss += unit_ss(xs[j]);
      for (var i = 0u; i < RPT; i++) { a[i] += unit_dot(qout_row(slice + i * RS, b), u + j * KT, xs[j]); }
    }
  }
  for (; u < nu; u += KT) {
    let x = load_x(u);
    ss += unit_ss(x);
    for (var i = 0u; i < RPT; i++) { a[i] += unit_dot(qout_row(slice + i * RS, b), u, x); }
  }
  // Partials: one per subgroup of a slice (QSG) or one per lane (QNOSG), np of them per row.
{{QSG}}  let np = KT / sgs;
{{QSG}}  let first = kl % sgs == 0u;
{{QSG}}  for (var i = 0u; i < RPT; i++) {
{{QSG}}    let r = subgroupAdd(a[i]);
{{QSG}}    if (first) { qo_part[(slice + i * RS) * KT + kl / sgs] = r; }
{{QSG}}  }
{{QSG}}  let ss_part = subgroupAdd(ss);
{{QSG}}  if (slice == 0u && first) { qo_red[kl / sgs] = ss_part; }  // every slice walked the same groups
{{QNOSG}}  let np = KT;
{{QNOSG}}  for (var i = 0u; i < RPT; i++) { qo_part[(slice + i * RS) * KT + kl] = a[i]; }
{{QNOSG}}  if (slice == 0u) { qo_red[kl] = ss; }
  workgroupBarrier();
  if (tid < NR) {
    var t = 0.0;
    for (var j = 0u; j < np; j++) { t += qo_part[tid * KT + j]; }
    var s2 = 0.0;
    for (var j = 0u; j < np; j++) { s2 += qo_red[j]; }
    qo_val[tid] = t * row_scale(s2);
  }
  workgroupBarrier();
{{QOUT_Q8}}  quantize_block(tid, b);
{{QOUT_ROPE}}  rope_block(tid, b);
}

// GATED / RESIDUAL: the block's 32 outputs, one per thread tid < 32, quantized; every invocation
// calls it (barriers). v is what the next matvec multiplies.
fn quantize_block(tid: u32, b: u32) {
  let e = 32u * b + tid;
  var v = 0.0;
  var sq = 0.0;
  if (tid < 32u) {
{{QOUT_GATED}}    v = {{ACT}}(qo_val[tid]) * qo_val[32u + tid];
{{QOUT_RESIDUAL}}    let yn = select(0.0, y[e], p.accumulate != 0u) + qo_val[tid];
{{QOUT_RESIDUAL}}    y[e] = yn;
{{QOUT_RESIDUAL}}    v = yn * qo_norm[e];
{{QOUT_RESIDUAL}}    sq = yn * yn;
  }
  // Threads 0..31 are whole subgroups (QSG): nb partials of the block, one per subgroup or thread.
{{QSG}}  let nb = 32u / qo_sgs;
{{QSG}}  let slot = tid / qo_sgs;
{{QSG}}  let keep = tid % qo_sgs == 0u;
{{QSG}}  let m_part = subgroupMax(abs(v));
{{QNOSG}}  let nb = 32u;
{{QNOSG}}  let slot = tid;
{{QNOSG}}  let keep = true;
{{QNOSG}}  let m_part = abs(v);
  if (tid < 32u && keep) { qo_red[slot] = m_part; }
  workgroupBarrier();
  var m = 0.0;
  if (tid < 32u) { for (var j = 0u; j < nb; j++) { m = max(m, qo_red[j]); } }
  let d = m / 127.0;
  let q = select(0i, i32(round(v / d)), d > 0.0);
{{QSG}}  let q_part = subgroupAdd(q);
{{QSG}}  let sq_part = subgroupAdd(sq);
{{QNOSG}}  let q_part = q;
{{QNOSG}}  let sq_part = sq;
  if (tid < 32u) {
    qo_q[tid] = q;
    if (keep) {
      qo_qsum[slot] = q_part;
      qo_sq[slot] = sq_part;
    }
  }
  workgroupBarrier();
  if (tid < 32u && tid % 4u == 0u) {
    qo_qs[e / 4u] = (bitcast<u32>(qo_q[tid]) & 0xFFu) | ((bitcast<u32>(qo_q[tid + 1u]) & 0xFFu) << 8u) |
                    ((bitcast<u32>(qo_q[tid + 2u]) & 0xFFu) << 16u) | ((bitcast<u32>(qo_q[tid + 3u]) & 0xFFu) << 24u);
  }
  if (tid == 0u) {
    var s = 0i;
    var s2 = 0.0;
    for (var j = 0u; j < nb; j++) {
      s += qo_qsum[j];
      s2 += qo_sq[j];
    }
    qo_ds[b] = vec4<f32>(d, d * f32(s), s2, 0.0);
  }
}

// ROPE: thread tid < 32 rotates its row with its pair's partner (local row tid ^ 1, or tid ^ 16
// with NEOX: qout_row) as rope.wgsl's rotate_pair does, q rows go to y; then threads tid < 8 write
// four consecutive k or v rows each as one cache element of row rp.pos. Every invocation calls
// it (a barrier). A block lies in one part: q, k, v are whole heads of head_dim (a multiple of 32).
fn rope_block(tid: u32, b: u32) {
  let q_rows = rp.n_heads * rp.head_dim;
  let kv_dim = rp.n_kv_heads * rp.head_dim;
  if (tid < 32u) {
    let r = qout_row(tid, b);
    let g = rp.first_row + r;  // the row within q | k | v
    var val = qo_val[tid];
    let d = select(g - q_rows, g, g < q_rows) % rp.head_dim;  // k heads start at q_rows
    if (g < q_rows + kv_dim && d < rp.rotary_dim) {
      let neox = rp.neox != 0u;
      let pr = rope_pair(d, rp.rotary_dim, neox);  // its partner is local row tid ^ 1 (tid ^ 16 with NEOX)
      let other = qo_val[select(tid ^ 1u, tid ^ 16u, neox)];
      val = rope_rotate(val, other, pr.first, rope_sincos(f32(rp.pos) * inv_freq[pr.i]) * rp.attn_factor);
    }
    if (g < q_rows) { y[r] = val; }  // q rows lead the weight where it holds them
    qo_sq[tid] = val;
  }
  workgroupBarrier();
  if (tid < 8u) {
    let g = rp.first_row + qout_row(4u * tid, b);
    let v4 = vec4<f32>(qo_sq[4u * tid], qo_sq[4u * tid + 1u], qo_sq[4u * tid + 2u], qo_sq[4u * tid + 3u]);
    if (g >= q_rows + kv_dim) {
      v_cache[(rp.pos * kv_dim + g - q_rows - kv_dim) / 4u] = kv_encode(v4);
    } else if (g >= q_rows) {
      k_cache[(rp.pos * kv_dim + g - q_rows) / 4u] = kv_encode(v4);
    }
  }
}
