// Prefill GEMM on f16 subgroup matrices (tensor cores): y[t][r] (+)= sum_c W[r][c] x[t][c] for the
// rows of one weight chunk. Weights are decoded to f16 while staging, their scale (and min) applied
// there, so the whole K accumulates in f32 result matrices with no per-group scaling after each
// product (what the int8 matrix GEMM cannot avoid: its group products need per-row, per-token
// scales). x arrives as f16 (pack_x_f16.wgsl) and its matrices load straight from that buffer (rows
// of tokens past the step's hold stale values, which reach only those tokens' outputs, never
// stored; the buffer holds whole tiles of tokens).
//
// A workgroup is NSG groups of 32 invocations (subgroups: the launcher requires subgroups of
// exactly 32, and invocation i in subgroup i / 32, as NVIDIA's warps are) and computes BM rows x BN
// tokens; group s owns rows s * SBM .. + SBM of the tile as (BN / 16) x (SBM / 16) result matrices
// of 16 x 16. x is the left matrix (tokens x k, row-major), the weights the right one (k x rows:
// a weight row is a column). Per K step of KB groups of 32 columns, the weights are staged as ws
// [row][k] with a row stride of SS = KS + 8 elements (16 bytes of padding: the matrix loads' 16
// rows fall on distinct banks).
// The grid runs token tiles along x, so the workgroups that share a weight tile run together
// and read it from L2 rather than memory.
// EMU: the same staging with the products taken one by one in f32 (ST = f32) instead of by
// subgroup matrices: how the kernel is tested on adapters without them (SwiftShader); invocation
// l of a group then owns the elements l + 32 j (j < 8) of each 16 x 16 tile, as the MMA path's
// store does.
// Appended to weights.wgsl and matmul_q8_groups.wgsl (bindings; weight_words / weight_group:
// int8 q_j and their scales in the forms ONE / MINS / HALVES). Defines: TYPE, BM, BN, NSG, KB, ST,
// line prefixes ONE / MINS / HALVES, MMA / EMU, SG1 / SGN (one group, or several), D16 / D32 (the
// weights decoded in f16 or in f32 arithmetic; the emulation has no f16).
const BM: u32 = {{BM}}u;       // rows per workgroup
const BN: u32 = {{BN}}u;       // tokens per workgroup
const NSG: u32 = {{NSG}}u;     // groups of 32 invocations
const KB: u32 = {{KB}}u;       // groups of 32 columns per K step
const WG: u32 = 32u * NSG;
const SBM: u32 = BM / NSG;     // rows per group of 32
const KS: u32 = 32u * KB;
const SS: u32 = KS + 8u;
const MT: u32 = BN / 16u;
const NT: u32 = SBM / 16u;
alias ST = {{ST}};
alias WS = {{WS}};  // matmul_q8_groups.wgsl's staged_scale (unused here)

{{MMA}}@group(0) @binding(8) var<storage, read> xh: array<f16>;  // [tokens][cols]
{{EMU}}@group(0) @binding(8) var<storage, read> xh: array<u32>;  // [tokens][cols / 2]: f16 pairs

var<workgroup> ws: array<ST, BM * SS>;  // [row][k]
{{MMA}}var<workgroup> outs: array<f32, NSG * 256u>;  // one result matrix per group, on its way to y

{{EMU}}fn x_at(t: u32, c: u32) -> f32 { let i = t * p.cols + c; return unpack2x16float(xh[i / 2u])[i & 1u]; }

// Bytes 0, 2 and 1, 3 of word w as f16 1024 + byte: a byte sits exactly in the mantissa of 1024
// (spacing 1 up to 2048), so no conversion instruction is needed.
{{D16}}fn byte_pairs(w: u32) -> array<vec2<f16>, 2> {
{{D16}}  return array<vec2<f16>, 2>(bitcast<vec2<f16>>((w & 0x00FF00FFu) | 0x64006400u),
{{D16}}                             bitcast<vec2<f16>>(((w >> 8u) & 0x00FF00FFu) | 0x64006400u));
{{D16}}}

fn stage_weights(tid: u32, k0: u32, r0: u32, nb: u32) {
  for (var i = tid; i < KB * BM; i += WG) {
    let g = weight_group_{{TYPE}}(fetch_weight(i, k0, r0, nb));
    let base = (i / KB) * SS + (i % KB) * 32u;
    // Element j of the group is q_j * a + b, with a per half of 16 (HALVES) or one a.
{{ONE}}    let a = vec2<f32>(g.s.x); let b = 0.0;
{{MINS}}    let a = vec2<f32>(g.s.x); let b = g.s.y;
{{HALVES}}    let a = g.s; let b = 0.0;
    // D16: in f16 arithmetic, the signed q_j (ONE, HALVES) moved to unsigned bytes by + 128;
    // (1024 + 128 + q) - 1152 is exact, so for b = 0 the one rounding is the product's, as in f32.
{{D16}}{{MINS}}    let flip = 0u; let bias = vec2<f16>(1024.0h);
{{D16}}{{ONE}}    let flip = 0x80808080u; let bias = vec2<f16>(1152.0h);
{{D16}}{{HALVES}}    let flip = 0x80808080u; let bias = vec2<f16>(1152.0h);
    for (var h = 0u; h < 2u; h++) {
{{D16}}      let ah = vec2<f16>(f16(a[h]));
{{D16}}      let bh = vec2<f16>(f16(b));
      for (var v = 0u; v < 4u; v++) {
        let o = base + 16u * h + 4u * v;
{{D16}}        let pr = byte_pairs(g.q[h][v] ^ flip);
{{D16}}        let e02 = fma(pr[0] - bias, ah, bh);
{{D16}}        let e13 = fma(pr[1] - bias, ah, bh);
{{D16}}        ws[o] = e02.x; ws[o + 1u] = e13.x; ws[o + 2u] = e02.y; ws[o + 3u] = e13.y;
{{D32}}        let e = vec4<ST>(vec4<f32>(unpack4xI8(g.q[h][v])) * a[h] + b);
{{D32}}        ws[o] = e.x; ws[o + 1u] = e.y; ws[o + 2u] = e.z; ws[o + 3u] = e.w;
      }
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let t0 = wid.x * BN;
  let r0 = wid.y * BM;
  let nb = p.cols / 32u;
  let lane = tid % 32u;
{{SG1}}  let sg = 0u;
{{SGN}}  let sg = tid / 32u;
  let sr = sg * SBM;  // the group's first row in the tile
{{MMA}}  var acc: array<subgroup_matrix_result<f32, 16, 16>, MT * NT>;
{{MMA}}  for (var i = 0u; i < MT * NT; i++) { acc[i] = subgroup_matrix_result<f32, 16, 16>(0.0); }
{{EMU}}  var acc: array<array<f32, 8>, MT * NT>;
  for (var k0 = 0u; k0 < nb; k0 += KB) {
    stage_weights(tid, k0, r0, nb);
    workgroupBarrier();
    let kn = 2u * min(KB, nb - k0);  // steps of 16 columns holding data
{{MMA}}    for (var kk = 0u; kk < kn; kk++) {
{{MMA}}      var wm: array<subgroup_matrix_right<f16, 16, 16>, NT>;
{{MMA}}      for (var nt = 0u; nt < NT; nt++) {
{{MMA}}        wm[nt] = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&ws, (sr + 16u * nt) * SS + 16u * kk, SS);
{{MMA}}      }
{{MMA}}      for (var mt = 0u; mt < MT; mt++) {
{{MMA}}        let xm = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&xh, (t0 + 16u * mt) * p.cols + 32u * k0 + 16u * kk, p.cols);
{{MMA}}        for (var nt = 0u; nt < NT; nt++) {
{{MMA}}          acc[mt * NT + nt] = subgroupMatrixMultiplyAccumulate(xm, wm[nt], acc[mt * NT + nt]);
{{MMA}}        }
{{MMA}}      }
{{MMA}}    }
{{EMU}}    for (var c = 0u; c < 16u * kn; c++) {
{{EMU}}      for (var mt = 0u; mt < MT; mt++) {
{{EMU}}        for (var nt = 0u; nt < NT; nt++) {
{{EMU}}          for (var j = 0u; j < 8u; j++) {
{{EMU}}            let e = lane + 32u * j;
{{EMU}}            let xv = x_at(t0 + 16u * mt + e / 16u, 32u * k0 + c);
{{EMU}}            acc[mt * NT + nt][j] = fma(xv, ws[(sr + 16u * nt + e % 16u) * SS + c], acc[mt * NT + nt][j]);
{{EMU}}          }
{{EMU}}        }
{{EMU}}      }
{{EMU}}    }
    workgroupBarrier();
  }
  for (var mt = 0u; mt < MT; mt++) {
    for (var nt = 0u; nt < NT; nt++) {
{{MMA}}      subgroupMatrixStore<row_major>(&outs, 256u * sg, acc[mt * NT + nt], 16u);
{{MMA}}      workgroupBarrier();
      for (var j = 0u; j < 8u; j++) {
        let e = lane + 32u * j;  // element (e / 16, e % 16): token, row
        let t = t0 + 16u * mt + e / 16u;
        let r = r0 + sr + 16u * nt + e % 16u;
{{MMA}}        let v = outs[256u * sg + e];
{{EMU}}        let v = acc[mt * NT + nt][j];
        if (t < p.n_tokens && r < p.chunk_rows) { store_y(t, p.row_offset + r, v); }
      }
{{MMA}}      workgroupBarrier();
    }
  }
}
