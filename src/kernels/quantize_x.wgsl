// Quantizes one activation vector to int8 blocks of 32 (a scale and the scaled sum per block), so
// the decode matvecs can take 4-bit x 8-bit dot products four at a time (dot4I8Packed) instead of
// converting every weight to float (matmul_vec_q8.wgsl). The vector is computed on the fly as
// matmul_vec.wgsl does (IN_* line prefixes): x, RMSNorm(x) * weight, or act(gate) * up.
// One workgroup: the RMSNorm needs the whole vector's sum of squares first.
{{PARAMS}}
@group(0) @binding(0) var<storage, read> x: array<f32>;             // [cols] (the gate for IN_GATED)
@group(0) @binding(1) var<storage, read_write> qs: array<u32>;      // [cols / 4] int8 x4
@group(0) @binding(2) var<storage, read_write> ds: array<vec2<f32>>; // [cols / 32] (scale, scale * sum)
@group(0) @binding(3) var<uniform> p: Params;
{{IN_AUX}}@group(0) @binding(4) var<storage, read> aux: array<f32>;  // norm weight or up

const WG: u32 = 256u;
var<workgroup> red: array<f32, WG>;

fn input_at(i: u32, scale: f32) -> f32 {
{{IN_PLAIN}}  return x[i];
{{IN_NORM}}  return x[i] * scale * aux[i];
{{IN_GATED}}  return {{ACT}}(x[i]) * aux[i];
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32) {
  var scale = 1.0;
{{IN_NORM}}  var ss = 0.0;
{{IN_NORM}}  for (var i = tid; i < p.cols; i += WG) { ss += x[i] * x[i]; }
{{IN_NORM}}  red[tid] = ss;
{{IN_NORM}}  workgroupBarrier();
{{IN_NORM}}  for (var s = WG / 2u; s > 0u; s >>= 1u) {
{{IN_NORM}}    if (tid < s) { red[tid] += red[tid + s]; }
{{IN_NORM}}    workgroupBarrier();
{{IN_NORM}}  }
{{IN_NORM}}  scale = inverseSqrt(red[0] / f32(p.cols) + p.eps);
  for (var b = tid; b < p.cols / 32u; b += WG) {
    var v: array<f32, 32>;
    var amax = 0.0;
    for (var j = 0u; j < 32u; j++) {
      v[j] = input_at(32u * b + j, scale);
      amax = max(amax, abs(v[j]));
    }
    let d = amax / 127.0;
    let inv = select(0.0, 1.0 / d, d > 0.0);
    var sum = 0i;
    for (var w = 0u; w < 8u; w++) {
      var word = 0u;
      for (var j = 0u; j < 4u; j++) {
        let q = i32(round(v[4u * w + j] * inv));
        sum += q;
        word |= (bitcast<u32>(q) & 0xFFu) << (8u * j);
      }
      qs[8u * b + w] = word;
    }
    ds[b] = vec2<f32>(d, d * f32(sum));
  }
}
