// Rotary position embedding (rope_math.wgsl's rope_sincos is appended).
// main: in place on q or k [n_tokens][n_heads * head_dim]. One invocation per rotated pair
// (token, head, i < rotary_dim / 2); dims past rotary_dim are left alone.
// rope_kv (one dispatch per layer): main on q (n_heads), and for each 4-element group of this
// step's k and v rows (n_kv_heads * head_dim) the rotated k and v written to the caches at row
// pos + t, encoded as KV_T (see attention.h: kv_cache_defines). k and v are not modified.
{{ENABLE}}
{{PARAMS}}
@group(0) @binding(0) var<storage, read_write> x: array<f32>;   // main: q or k; rope_kv: q
@group(0) @binding(1) var<storage, read> inv_freq: array<f32>;  // [rotary_dim / 2]
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read> k_new: array<f32>;     // [n_tokens][n_kv_heads * head_dim]
@group(0) @binding(4) var<storage, read> v_new: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> k_store: array<{{KV_T}}>;  // [max_ctx][n_kv_heads * head_dim]
@group(0) @binding(6) var<storage, read_write> v_store: array<{{KV_T}}>;

fn kv_encode(v: vec4<f32>) -> {{KV_T}} { return {{KV_ENCODE}}; }

const WG: u32 = {{WG}}u;

// (sin, cos) * attn_factor of pair i at position pos.
fn rotation(pos: u32, i: u32) -> vec2<f32> { return rope_sincos(f32(pos) * inv_freq[i]) * p.attn_factor; }

// Rotates pair `pair` (< n_heads * rotary_dim / 2) of token t of x in place.
fn rotate_pair(pair: u32, t: u32, n_heads: u32) {
  let half = p.rotary_dim / 2u;
  let head = pair / half;
  let i = pair % half;
  let sc = rotation(p.pos + t, i);
  let s = sc.x;
  let c = sc.y;
  let base = t * n_heads * p.head_dim + head * p.head_dim;
  // NeoX pairs (i, i + half); the original layout pairs (2i, 2i + 1).
  let i0 = base + select(2u * i, i, p.neox != 0u);
  let i1 = i0 + select(1u, half, p.neox != 0u);
  let x0 = x[i0];
  let x1 = x[i1];
  x[i0] = x0 * c - x1 * s;
  x[i1] = x0 * s + x1 * c;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= p.n_heads * (p.rotary_dim / 2u)) { return; }
  rotate_pair(gid.x, gid.y, p.n_heads);
}

// Element d (< rotary_dim) of the k head starting at k_new[head], rotated: the same arithmetic
// as rotate_pair, from the element's side of its pair.
fn rotated_k(head: u32, d: u32, pos: u32) -> f32 {
  let pr = rope_pair(d, p.rotary_dim, p.neox != 0u);
  return rope_rotate(k_new[head + d], k_new[head + pr.partner], pr.first, rotation(pos, pr.i));
}

@compute @workgroup_size(WG)
fn rope_kv(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.y;
  let q_pairs = p.n_heads * (p.rotary_dim / 2u);
  if (gid.x < q_pairs) {
    rotate_pair(gid.x, t, p.n_heads);
    return;
  }
  let row4 = p.n_kv_heads * p.head_dim / 4u;
  let g = gid.x - q_pairs;  // 4-element group of the k and v rows
  if (g >= row4) { return; }
  let e = (t * row4 + g) * 4u;  // its first element in k_new
  let d0 = (4u * g) % p.head_dim;
  var kx = vec4<f32>(k_new[e], k_new[e + 1u], k_new[e + 2u], k_new[e + 3u]);
  for (var c = 0u; c < 4u; c++) {
    if (d0 + c < p.rotary_dim) { kx[c] = rotated_k(e - d0, d0 + c, p.pos + t); }
  }
  let dst = (p.pos + t) * row4 + g;
  k_store[dst] = kv_encode(kx);
  v_store[dst] = kv_encode(v_new[t * row4 + g]);
}
