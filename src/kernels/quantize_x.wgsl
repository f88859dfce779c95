// Quantizes one activation vector to int8 blocks of 32 (a scale and the scaled sum per block), so
// the decode matvecs can take 4-bit x 8-bit dot products four at a time (dot4I8Packed) instead of
// converting every weight to float (matmul_vec_q8.wgsl). The vector is computed on the fly as
// matmul_vec.wgsl does (IN_* line prefixes): x, x * weight for an RMSNorm input, or act(gate) * up.
// A workgroup quantizes 8 blocks, one element per thread. For an RMSNorm input the norm's scale
// 1 / rms(x) is left out: scaling a block by a positive number changes its scale d, not its int8
// values, so the consumer multiplies its sums by it instead. It needs sum(x^2) over the whole
// vector, which this pass would have to reduce over every workgroup first (a serial chain that
// made this pass twice as slow); instead each block stores its own sum of squares and the
// consumer's workgroup, which reads every block's scales anyway, adds them up.
{{PARAMS}}
@group(0) @binding(0) var<storage, read> x: array<f32>;             // [cols] (the gate for IN_GATED)
@group(0) @binding(1) var<storage, read_write> qs: array<u32>;      // [cols / 4] int8 x4
@group(0) @binding(2) var<storage, read_write> ds: array<vec4<f32>>; // [cols / 32] (scale, scale * sum, sum x^2, 0)
@group(0) @binding(3) var<uniform> p: Params;
{{IN_AUX}}@group(0) @binding(4) var<storage, read> aux: array<f32>;  // norm weight or up

const WG: u32 = 256u;
var<workgroup> red: array<f32, WG>;
var<workgroup> qv: array<i32, WG>;

fn input_at(i: u32) -> f32 {
{{IN_PLAIN}}  return x[i];
{{IN_NORM}}  return x[i] * aux[i];
{{IN_GATED}}  return {{ACT}}(x[i]) * aux[i];
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let e = wid.x * WG + tid;  // this thread's element; lane = tid % 32 within its block
  let lane = tid % 32u;
  var v = 0.0;
  if (e < p.cols) { v = input_at(e); }
  red[tid] = abs(v);  // the block's largest magnitude, by a tree over its 32 threads
  workgroupBarrier();
  for (var s = 16u; s > 0u; s >>= 1u) {
    if (lane < s) { red[tid] = max(red[tid], red[tid + s]); }
    workgroupBarrier();
  }
  let d = red[tid - lane] / 127.0;
  let q = select(0i, i32(round(v / d)), d > 0.0);
  qv[tid] = q;
  workgroupBarrier();
  if (e < p.cols && tid % 4u == 0u) {
    qs[e / 4u] = (bitcast<u32>(qv[tid]) & 0xFFu) | ((bitcast<u32>(qv[tid + 1u]) & 0xFFu) << 8u) |
                 ((bitcast<u32>(qv[tid + 2u]) & 0xFFu) << 16u) | ((bitcast<u32>(qv[tid + 3u]) & 0xFFu) << 24u);
  }
  workgroupBarrier();  // the packing above reads qv before the sum below overwrites it
  for (var s = 16u; s > 0u; s >>= 1u) {  // the block's sum of int8 values
    if (lane < s) { qv[tid] += qv[tid + s]; }
    workgroupBarrier();
  }
  var sq = 0.0;
{{IN_NORM}}  if (e < p.cols) { sq = x[e] * x[e]; }
  red[tid] = sq;  // the block's sum of squares of x (RMSNorm inputs; 0 otherwise)
  workgroupBarrier();
  for (var s = 16u; s > 0u; s >>= 1u) {
    if (lane < s) { red[tid] += red[tid + s]; }
    workgroupBarrier();
  }
  if (e < p.cols && lane == 0u) { ds[e / 32u] = vec4<f32>(d, d * f32(qv[tid]), red[tid], 0.0); }
}
