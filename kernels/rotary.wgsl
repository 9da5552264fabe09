// rotary.wgsl — HF rotary position embedding (rotate_half convention), fwd and bwd.
//
//   rot_fwd: out = x·cos + rotate_half(x)·sin,  rotate_half(x) = cat(−x₂, x₁) (halves of D):
//              out[d]     = x[d]·cos[d]         − x[d+h]·sin[d]
//              out[d+h]   = x[d+h]·cos[d+h]     + x[d]·sin[d+h]          (h = D/2, d < h)
//   rot_bwd: dx = g·cos + rotate_halfᵀ(g·sin),  rotate_halfᵀ(z) = cat(z₂, −z₁):
//              dx[d]      = g[d]·cos[d]         + g[d+h]·sin[d+h]
//              dx[d+h]    = g[d+h]·cos[d+h]     − g[d]·sin[d]
// Layouts: X/G and OUT/dX contiguous [A0, A1, A2, D] (leading dims padded to 3); COS and SIN
// any strided f32 views broadcast to that shape (offset + strides, 0 = broadcast), e.g. [T, D]
// or [B, 1, T, D] tables. One invocation per (row, d < h) pair; workgroup WG; grid 2-D over
// ceil(rows·h / WG) workgroups. Bindings: 0 X (or G), 1 COS, 2 SIN, 3 OUT; uniforms at 15.
// Scalar loads: rotary is memory-bound and cheap next to the matmuls around it.

struct Params {
  A1: u32, A2: u32, D: u32, half: u32,
  total: u32, _p0: u32, _p1: u32, _p2: u32,
  cOff: u32, c0: u32, c1: u32, c2: u32,
  cD: u32, sOff: u32, s0: u32, s1: u32,
  s2: u32, sD: u32, _p3: u32, _p4: u32,
}
@group(0) @binding(15) var<uniform> p: Params;

const WG: u32 = 16u;

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> COS: array<f32>;
@group(0) @binding(2) var<storage, read> SIN: array<f32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;

struct Idx { x: u32, c: u32, s: u32 }

fn index(gid: u32) -> Idx {
  let row = gid / p.half;
  let d = gid % p.half;
  let i2 = row % p.A2;
  let i1 = (row / p.A2) % p.A1;
  let i0 = row / (p.A2 * p.A1);
  return Idx(
    row * p.D + d,
    p.cOff + i0 * p.c0 + i1 * p.c1 + i2 * p.c2 + d * p.cD,
    p.sOff + i0 * p.s0 + i1 * p.s1 + i2 * p.s2 + d * p.sD,
  );
}

@compute @workgroup_size(WG)
fn rot_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
  let gid = (wid.x + wid.y * nwg.x) * WG + lid.x;
  if (gid >= p.total) { return; }
  let ix = index(gid);
  let hc = p.half * p.cD;
  let hs = p.half * p.sD;
  let x1 = X[ix.x];
  let x2 = X[ix.x + p.half];
  OUT[ix.x] = x1 * COS[ix.c] - x2 * SIN[ix.s];
  OUT[ix.x + p.half] = x2 * COS[ix.c + hc] + x1 * SIN[ix.s + hs];
}

@compute @workgroup_size(WG)
fn rot_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
  let gid = (wid.x + wid.y * nwg.x) * WG + lid.x;
  if (gid >= p.total) { return; }
  let ix = index(gid);
  let hc = p.half * p.cD;
  let hs = p.half * p.sD;
  let g1 = X[ix.x];
  let g2 = X[ix.x + p.half];
  OUT[ix.x] = g1 * COS[ix.c] + g2 * SIN[ix.s + hs];
  OUT[ix.x + p.half] = g2 * COS[ix.c + hc] - g1 * SIN[ix.s];
}
