// Prefill GEMM on subgroup matrices (tensor cores): the int8 GEMM of matmul_mat_q8.wgsl with each
// group's integer products S = sum_j q_j xq_j taken by subgroupMatrixMultiplyAccumulate, i8 x i8
// -> i32 on 16 x 16 x 32 tiles. K = 32 is exactly one quant group, so a tile product is one
// group's S for 16 tokens x 16 rows; its scales (ONE / MINS forms, matmul_q8_groups.wgsl) differ
// per row and token, which a subgroup matrix cannot apply (its elements are opaque), so each
// group's products are stored to workgroup memory and scaled into per-invocation f32 sums there.
//
// A workgroup is one subgroup of 32 invocations and computes BM rows x BN tokens in 16 x 16 tiles.
// (Matrix loads and stores need offsets uniform across the subgroup; WGSL's uniformity analysis
// is workgroup-wide and its rule cannot be turned off, so several subgroups of a workgroup
// cannot take tiles of their own.)
// Per K step of KB groups: the groups are staged as int8 rows of 32 bytes (weights [kb][row],
// x [kb][token]; a row stride of IS words keeps 16-byte reads of 8 rows on distinct banks), with
// their scales; then per group: the subgroups' tile products go to `sums` [token][row], a barrier,
// each invocation scales the RI rows x TJ tokens it owns into its sums, a barrier. Invocation i
// owns rows i % 8 + 8 a and tokens i / 8 + (WG / 8) b: a warp's reads of `sums` then cover 8
// consecutive rows of 4 consecutive tokens, on distinct banks with the row stride SS = BM + 8. x is the left matrix (tokens x
// k, row-major), the weights the right one (k x rows: a weight row's 32 bytes are a column).
// The i32 sums start at MAGIC (matmul_mat_q8.wgsl): the scaling reads them as floats with one
// subtraction, no i32 -> f32 conversion. Q6_K (HALVES: a scale per 16 columns) stays on DP4A.
// Matrix loads and stores address their arrays in elements of the array (i32 words, 4 i8 each),
// offsets and strides alike (measured on dawn.node 0.6.2's Dawn).
// Appended to weights.wgsl and matmul_q8_groups.wgsl. Defines: TYPE, BM, BN, KB, WS, line
// prefixes ONE / TWO / MINS. Needs subgroups of exactly 32 invocations (checked by the launcher).
const BM: u32 = {{BM}}u;
const BN: u32 = {{BN}}u;
const KB: u32 = {{KB}}u;
const WG: u32 = 32u;
const IS: u32 = 12u;         // staged row stride in words: 32 bytes and 16 of padding
const SS: u32 = BM + 8u;     // `sums` row stride in words (see above)
const RI: u32 = BM / 8u;     // rows an invocation owns
const TJ: u32 = BN * 8u / WG;  // tokens an invocation owns
alias WS = {{WS}};

var<workgroup> ws: array<i32, KB * BM * IS>;  // [kb][row]: 32 int8
var<workgroup> xs: array<i32, KB * BN * IS>;  // [kb][token]: 32 int8
var<workgroup> wd: array<WS, KB * BM>;        // [kb][row]
var<workgroup> xds: array<f32, KB * BN>;      // [kb][token]: d
{{MINS}}var<workgroup> xss: array<f32, KB * BN>;  // [kb][token]: d * sum
var<workgroup> sums: array<i32, BN * SS>;     // one group's products, [token][row], as MAGIC + S

fn stage_words(i: u32, a: vec4<u32>, b: vec4<u32>, to_x: bool) {
  let v = bitcast<vec4<i32>>(a);
  let u = bitcast<vec4<i32>>(b);
  if (to_x) {
    xs[i] = v.x; xs[i + 1u] = v.y; xs[i + 2u] = v.z; xs[i + 3u] = v.w;
    xs[i + 4u] = u.x; xs[i + 5u] = u.y; xs[i + 6u] = u.z; xs[i + 7u] = u.w;
  } else {
    ws[i] = v.x; ws[i + 1u] = v.y; ws[i + 2u] = v.z; ws[i + 3u] = v.w;
    ws[i + 4u] = u.x; ws[i + 5u] = u.y; ws[i + 6u] = u.z; ws[i + 7u] = u.w;
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let r0 = (wid.x + wid.y * p.wg_x) * BM;
  let t0 = wid.z * BN;
  let nb = p.cols / 32u;
  let ro = tid % 8u;  // rows ro + 8 a, tokens to + (WG / 8) b (see above)
  let to = tid / 8u;
  var acc: array<array<f32, RI>, TJ>;
  for (var j = 0u; j < TJ; j++) {
    for (var i = 0u; i < RI; i++) { acc[j][i] = 0.0; }
  }
  const WI = (KB * BM + WG - 1u) / WG;
  const XI = (KB * BN + WG - 1u) / WG;
  var wr: array<WRaw, WI>;
  var xr: array<XRaw, XI>;
  for (var n = 0u; n < WI; n++) { wr[n] = fetch_weight(tid + n * WG, 0u, r0, nb); }
  for (var n = 0u; n < XI; n++) { xr[n] = fetch_x(tid + n * WG, 0u, t0, nb); }
  for (var k0 = 0u; k0 < nb; k0 += KB) {
    for (var n = 0u; n < WI; n++) {
      let i = tid + n * WG;
      if (i < KB * BM) {
        let g = weight_group_{{TYPE}}(wr[n]);
        let kb = i % KB;
        let r = i / KB;
        stage_words((kb * BM + r) * IS, g.q[0], g.q[1], false);
        wd[kb * BM + r] = staged_scale(g.s);
      }
    }
    for (var n = 0u; n < XI; n++) {
      let i = tid + n * WG;
      if (i < KB * BN) {
        let kb = i % KB;
        let t = i / KB;
        stage_words((kb * BN + t) * IS, xr[n].a, xr[n].b, true);
        xds[kb * BN + t] = xr[n].d.x;
{{MINS}}        xss[kb * BN + t] = xr[n].d.y;
      }
    }
    workgroupBarrier();
    if (k0 + KB < nb) {
      for (var n = 0u; n < WI; n++) { wr[n] = fetch_weight(tid + n * WG, k0 + KB, r0, nb); }
      for (var n = 0u; n < XI; n++) { xr[n] = fetch_x(tid + n * WG, k0 + KB, t0, nb); }
    }
    let kn = min(KB, nb - k0);
    for (var kb = 0u; kb < kn; kb++) {
      for (var mt = 0u; mt < BN / 16u; mt++) {
        let xm = subgroupMatrixLoad<subgroup_matrix_left<i8, 32, 16>, row_major>(&xs, (kb * BN + 16u * mt) * IS, IS);
        for (var nt = 0u; nt < BM / 16u; nt++) {
          let wm = subgroupMatrixLoad<subgroup_matrix_right<i8, 16, 32>, col_major>(&ws, (kb * BM + 16u * nt) * IS, IS);
          let s = subgroupMatrixMultiplyAccumulate(xm, wm, subgroup_matrix_result<i32, 16, 16>(MAGIC));
          subgroupMatrixStore<row_major>(&sums, 16u * mt * SS + 16u * nt, s, SS);
        }
      }
      workgroupBarrier();
      var dw: array<WS, RI>;
      for (var i = 0u; i < RI; i++) { dw[i] = wd[kb * BM + ro + 8u * i]; }
      for (var j = 0u; j < TJ; j++) {
        let t = to + (WG / 8u) * j;
        let dx = xds[kb * BN + t];
{{MINS}}        let dxs = xss[kb * BN + t];
        for (var i = 0u; i < RI; i++) {
          let s = magic_to_f32(sums[t * SS + ro + 8u * i]);
{{ONE}}          acc[j][i] = fma(dw[i] * dx, s, acc[j][i]);
{{MINS}}          acc[j][i] = fma(dw[i].x * dx, s, fma(dw[i].y, dxs, acc[j][i]));
        }
      }
      workgroupBarrier();
    }
  }
  for (var j = 0u; j < TJ; j++) {
    let t = t0 + to + (WG / 8u) * j;
    if (t < p.n_tokens) {
      for (var i = 0u; i < RI; i++) {
        let r = r0 + ro + 8u * i;
        if (r < p.chunk_rows) {
          store_y(t, p.row_offset + r, acc[j][i]);
        }
      }
    }
  }
}
