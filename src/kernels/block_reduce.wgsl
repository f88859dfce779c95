// A workgroup-wide reduction, appended to kernels that reduce one value per invocation over a
// workgroup of WG (their own constant, a power of 2) invocations: norm.wgsl, attention.wgsl.
// Lines starting with {{SG}} are the subgroup variant, {{NOSG}} the workgroup-memory one (the
// other is commented out, so only the chosen variant's builtins need the extension). The
// subgroup variant needs sg_lane and sg_size set at the kernel's entry and keeps one partial per
// subgroup; it assumes subgroups are consecutive runs of local_invocation_index, which holds on
// every backend Dawn targets.
var<workgroup> red: array<f32, WG>;
var<private> sg_lane: u32;
var<private> sg_size: u32;

// Max (is_max) or sum of v over the workgroup, returned to every invocation; it ends with a
// barrier, so workgroup memory read before the call may be written after it.
{{SG}}fn block_reduce(v: f32, lid: u32, is_max: bool) -> f32 {
{{SG}}  let s = select(subgroupAdd(v), subgroupMax(v), is_max);
{{SG}}  if (sg_lane == 0u) { red[lid / sg_size] = s; }
{{SG}}  workgroupBarrier();
{{SG}}  var t = select(0.0, -3.0e38, is_max);
{{SG}}  for (var i = sg_lane; i < (WG + sg_size - 1u) / sg_size; i += sg_size) { t = select(t + red[i], max(t, red[i]), is_max); }
{{SG}}  t = select(subgroupAdd(t), subgroupMax(t), is_max);
{{SG}}  workgroupBarrier();
{{SG}}  return t;
{{SG}}}
{{NOSG}}fn block_reduce(v: f32, lid: u32, is_max: bool) -> f32 {
{{NOSG}}  red[lid] = v;
{{NOSG}}  workgroupBarrier();
{{NOSG}}  for (var s = WG / 2u; s > 0u; s >>= 1u) {
{{NOSG}}    if (lid < s) { red[lid] = select(red[lid] + red[lid + s], max(red[lid], red[lid + s]), is_max); }
{{NOSG}}    workgroupBarrier();
{{NOSG}}  }
{{NOSG}}  let t = red[0];
{{NOSG}}  workgroupBarrier();
{{NOSG}}  return t;
{{NOSG}}}
