{{ENABLE}}
// Matrix-vector for Q4_0 weights against an int8-quantized x (quantize_x.wgsl): per block of 32,
// sum_j (q_j - 8) * d_w * xq_j * d_x = d_w * (d_x * sum_j q_j xq_j - 8 * d_x * sum_j xq_j), the
// integer sum taken four products at a time with dot4I8Packed (DP4A), so a weight costs about
// half an instruction instead of a conversion and a multiply-add. Rows, workgroups and the
// reduction (matvec_reduce.wgsl) are as in matmul_vec.wgsl: ROWS rows per workgroup, x blocks
// reused across them.
{{PARAMS}}
@group(0) @binding(0) var<storage, read> w4: array<vec4<u32>>;   // region 0: qs[16] per block
@group(0) @binding(1) var<storage, read> w1: array<u32>;         // region 1 at p.r1: f16 d per block
@group(0) @binding(2) var<storage, read> xq: array<vec4<u32>>;   // [cols / 16] int8 x 16
@group(0) @binding(3) var<storage, read_write> y: array<f32>;    // [y_stride]
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<storage, read> xd: array<vec2<f32>>;   // [cols / 32] (d, d * sum)

const WG: u32 = {{WG}}u;
const ROWS: u32 = {{ROWS}}u;
const LOW = 0x0F0F0F0Fu;

fn row_scale(extra: f32) -> f32 { return 1.0; }

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32> {{SG_ARGS}}) {
  let row0 = (wid.x + wid.y * p.wg_x) * ROWS;
  let nb = p.cols / 32u;
  for (var r = 0u; r <= ROWS; r++) { acc[r] = 0.0; }
  for (var k = tid; k < nb; k += WG) {
    let xa = xq[2u * k];       // elements 0..15
    let xb = xq[2u * k + 1u];  // elements 16..31
    let dx = xd[k];
    for (var r = 0u; r < ROWS; r++) {
      if (row0 + r < p.chunk_rows) {
        let blk = (row0 + r) * nb + k;
        let q = w4[blk];
        let dw = unpack2x16float(w1[p.r1 + blk / 2u])[blk & 1u];
        let lo = q & vec4<u32>(LOW);
        let hi = (q >> vec4<u32>(4u)) & vec4<u32>(LOW);
        let s = dot4I8Packed(lo.x, xa.x) + dot4I8Packed(lo.y, xa.y) + dot4I8Packed(lo.z, xa.z) + dot4I8Packed(lo.w, xa.w) +
                dot4I8Packed(hi.x, xb.x) + dot4I8Packed(hi.y, xb.y) + dot4I8Packed(hi.z, xb.z) + dot4I8Packed(hi.w, xb.w);
        acc[r] += dw * (dx.x * f32(s) - 8.0 * dx.y);
      }
    }
  }
{{SG}}  store_rows(tid, row0, lane, sgs);
{{NOSG}}  store_rows(tid, row0, 0u, 1u);
}
