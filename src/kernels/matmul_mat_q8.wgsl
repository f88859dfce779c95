// Prefill GEMM of the int8-decodable weights (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K) with
// int8-quantized activations (quantize_x_batch.wgsl): y[t][row_offset + r] (+)= sum_c W[r][c] x[t][c].
// Per group of 32 columns the integer sum S = sum_j q_j xq_j is taken four products at a time
// with dot4I8Packed (DP4A): 4 MACs per instruction and no weight conversion to float. A group's
// weights are w_j = a q_j (+ b), so its product takes one of the forms ONE / MINS / HALVES
// (matmul_q8_groups.wgsl).
//
// A workgroup computes a tile of BM rows x BN tokens; thread (rg, tg) owns rows rg + i * RG
// (i < TM) and tokens tg + j * TG (j < TN), a TM x TN register tile. The K loop takes KB groups
// of 32 columns at a time: the tile's weight groups are staged in workgroup memory already as
// int8 with their scales, and the x blocks with theirs, so the inner loop is only 16-byte
// workgroup loads and DP4As. Staging reads KB consecutive groups per row (64..128 contiguous
// bytes of Q4_0); the inner loop's loads of a warp hit RG distinct weight rows and TG distinct
// tokens (broadcasts), the rows padded by one vec4 so that the staging writes spread across banks.
// Appended to weights.wgsl and matmul_q8_groups.wgsl (the bindings and each type's group decoding).
// Defines: TYPE, BM, BN, TM, TN, KB, WS (f32 for ONE, else vec2<f32>), line prefixes ONE / TWO (MINS or HALVES) / MINS / HALVES.
const BM: u32 = {{BM}}u;
const BN: u32 = {{BN}}u;
const TM: u32 = {{TM}}u;
const TN: u32 = {{TN}}u;
const KB: u32 = {{KB}}u;
const RG: u32 = BM / TM;
const TG: u32 = BN / TN;
const WG: u32 = RG * TG;
const BMP: u32 = BM + 1u;  // padded strides (see above)
const BNP: u32 = BN + 1u;
alias WS = {{WS}};

var<workgroup> wq: array<vec4<u32>, 2u * KB * BMP>;  // [kb][half][row]: elements 16 h .. 16 h + 15
var<workgroup> wd: array<WS, KB * BM>;               // [kb][row]
var<workgroup> xs: array<vec4<u32>, 2u * KB * BNP>;  // [kb][half][token]
var<workgroup> xds: array<f32, KB * BN>;             // [kb][token]: d
{{MINS}}var<workgroup> xss: array<f32, KB * BN>;     // [kb][token]: d * sum

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let r0 = (wid.x + wid.y * p.wg_x) * BM;
  let t0 = wid.z * BN;
  let nb = p.cols / 32u;
  let rg = tid % RG;
  let tg = tid / RG;
  var acc: array<array<f32, TN>, TM>;
  for (var i = 0u; i < TM; i++) {
    for (var j = 0u; j < TN; j++) { acc[i][j] = 0.0; }
  }
  // Each thread stages WI weight items and XI x items per K step; the next step's are loaded
  // into registers before this step's arithmetic (their latency overlaps it) and stored after.
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
        wq[2u * kb * BMP + r] = g.q[0];
        wq[(2u * kb + 1u) * BMP + r] = g.q[1];
        wd[kb * BM + r] = staged_scale(g.s);
      }
    }
    for (var n = 0u; n < XI; n++) {
      let i = tid + n * WG;
      if (i < KB * BN) {
        let kb = i % KB;
        let t = i / KB;
        xs[2u * kb * BNP + t] = xr[n].a;
        xs[(2u * kb + 1u) * BNP + t] = xr[n].b;
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
      var xa: array<vec4<u32>, TN>;
      var xb: array<vec4<u32>, TN>;
      var dx: array<f32, TN>;
{{MINS}}      var dxs: array<f32, TN>;
      for (var j = 0u; j < TN; j++) {
        let t = tg + j * TG;
        xa[j] = xs[2u * kb * BNP + t];
        xb[j] = xs[(2u * kb + 1u) * BNP + t];
        dx[j] = xds[kb * BN + t];
{{MINS}}        dxs[j] = xss[kb * BN + t];
      }
      for (var i = 0u; i < TM; i++) {
        let r = rg + i * RG;
        let wa = wq[2u * kb * BMP + r];
        let wb = wq[(2u * kb + 1u) * BMP + r];
        let dw = wd[kb * BM + r];
        for (var j = 0u; j < TN; j++) {
          var s = MAGIC;
          s += dot4I8Packed(wa.x, xa[j].x);
          s += dot4I8Packed(wa.y, xa[j].y);
          s += dot4I8Packed(wa.z, xa[j].z);
          s += dot4I8Packed(wa.w, xa[j].w);
{{HALVES}}          let s0 = magic_to_f32(s);
{{HALVES}}          s = MAGIC;
          s += dot4I8Packed(wb.x, xb[j].x);
          s += dot4I8Packed(wb.y, xb[j].y);
          s += dot4I8Packed(wb.z, xb[j].z);
          s += dot4I8Packed(wb.w, xb[j].w);
{{ONE}}          acc[i][j] = fma(dw, magic_to_f32(s) * dx[j], acc[i][j]);
{{MINS}}          acc[i][j] = fma(dw.x, magic_to_f32(s) * dx[j], fma(dw.y, dxs[j], acc[i][j]));
{{HALVES}}          acc[i][j] = fma(fma(dw.x, s0, dw.y * magic_to_f32(s)), dx[j], acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var j = 0u; j < TN; j++) {
    let t = t0 + tg + j * TG;
    if (t < p.n_tokens) {
      for (var i = 0u; i < TM; i++) {
        let r = r0 + rg + i * RG;
        if (r < p.chunk_rows) {
          store_y(t, p.row_offset + r, acc[i][j]);
        }
      }
    }
  }
}
