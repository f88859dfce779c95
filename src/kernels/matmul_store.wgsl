// How every matmul kernel writes its results, appended to its source: row `row` (counted over the
// whole weight) of token t goes to y for rows [0, seg1), to y2 for [seg1, seg2), to y3 for
// [seg2, y_stride), each output laid out [n_tokens][its rows]. A weight stacked from several
// (q | k | v, upload_weight with parts) thus fills its parts' buffers in one dispatch; a plain
// weight has seg1 = seg2 = y_stride and y2, y3 bound to y. With accumulate: y (+)= v.
// Y2, Y3: the binding numbers after the kernel's own (5, 6 or 6, 7).
@group(0) @binding({{Y2}}) var<storage, read_write> y2: array<f32>;
@group(0) @binding({{Y3}}) var<storage, read_write> y3: array<f32>;

fn store_y(t: u32, row: u32, v: f32) {
  if (row < p.seg1) {
    let i = t * p.seg1 + row;
    y[i] = select(0.0, y[i], p.accumulate != 0u) + v;
  } else if (row < p.seg2) {
    let i = t * (p.seg2 - p.seg1) + row - p.seg1;
    y2[i] = select(0.0, y2[i], p.accumulate != 0u) + v;
  } else {
    let i = t * (p.y_stride - p.seg2) + row - p.seg2;
    y3[i] = select(0.0, y3[i], p.accumulate != 0u) + v;
  }
}
