// rmsnorm.wgsl — HF LlamaRMSNorm over the last axis, forward and backward.
// (Prefixed with kernels/rows.wgsl: V units, G lanes per row, group reductions.)
//
//   rms_fwd:     r = 1 / sqrt(mean(X²) + eps) per row;  Y = W ∘ (X · r);  RINV[row] = r (saved)
//   rms_bwd_dx:  c = Σ G∘W∘X;  dX = r · (G∘W) − X · (r³ · c / N)
//   rms_dw_part: PART[k, :] = Σ_{rows of chunk k} G ∘ X · r   (lanes over columns, chunks on wid.y)
//   rms_dw_sum:  dW = Σ_k PART[k, :]
// Layouts: X, Y, G, dX [rows, N] contiguous; W, dW [N]; RINV [rows]; PART [chunks, N].
// Bindings: rms_fwd 0 X, 1 W, 2 Y, 3 RINV; rms_bwd_dx 0 X, 1 W, 2 G, 3 RINV, 4 dX;
// rms_dw_part 0 X, 1 G, 2 RINV, 3 PART; rms_dw_sum 0 PART, 1 dW; uniforms at 15.
// Limits: rows·N·4 bytes ≤ maxStorageBufferBindingSize.

struct Params { rows: u32, N: u32, NU: u32, eps: f32, chunkRows: u32, chunks: u32, _p0: u32, _p1: u32 }
@group(0) @binding(15) var<uniform> p: Params;

@group(0) @binding(0) var<storage, read> X: array<V>;
@group(0) @binding(1) var<storage, read> W: array<V>;
@group(0) @binding(2) var<storage, read_write> Y: array<V>;
@group(0) @binding(3) var<storage, read_write> RINV: array<f32>;
@group(0) @binding(2) var<storage, read> GR: array<V>;
@group(0) @binding(3) var<storage, read> RIN: array<f32>;
@group(0) @binding(4) var<storage, read_write> DX: array<V>;
// dW passes
@group(0) @binding(1) var<storage, read> G1: array<V>;
@group(0) @binding(2) var<storage, read> RIN2: array<f32>;
@group(0) @binding(3) var<storage, read_write> PART: array<V>;
@group(0) @binding(0) var<storage, read> PARTIN: array<V>;
@group(0) @binding(1) var<storage, read_write> DW: array<V>;

@compute @workgroup_size(WG)
fn rms_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
  let pos = rowPos(wid, nwg, lid);
  let base = pos.row * p.NU;
  var acc = splat(0.0);
  if (pos.row < p.rows) {
    for (var u = pos.gl; u < p.NU; u += G) {
      let x = X[base + u];
      acc = fma(x, x, acc);
    }
  }
  let ss = groupSum4(vec4<f32>(hsum(acc), 0.0, 0.0, 0.0), pos.lane).x;
  if (pos.row >= p.rows) { return; }
  let r = 1.0 / sqrt(ss / f32(p.N) + p.eps);
  if (pos.gl == 0u) { RINV[pos.row] = r; }
  for (var u = pos.gl; u < p.NU; u += G) { Y[base + u] = W[u] * (X[base + u] * r); }
}

@compute @workgroup_size(WG)
fn rms_bwd_dx(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_id) lid: vec3<u32>) {
  let pos = rowPos(wid, nwg, lid);
  let base = pos.row * p.NU;
  var acc = splat(0.0);
  if (pos.row < p.rows) {
    for (var u = pos.gl; u < p.NU; u += G) { acc = fma(GR[base + u] * W[u], X[base + u], acc); }
  }
  let c = groupSum4(vec4<f32>(hsum(acc), 0.0, 0.0, 0.0), pos.lane).x;
  if (pos.row >= p.rows) { return; }
  let r = RIN[pos.row];
  let k = r * r * r * c / f32(p.N);
  for (var u = pos.gl; u < p.NU; u += G) {
    DX[base + u] = (GR[base + u] * W[u]) * r - X[base + u] * k;
  }
}

@compute @workgroup_size(WG)
fn rms_dw_part(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let u = wid.x * WG + lid.x;
  if (u >= p.NU) { return; }
  let r0 = wid.y * p.chunkRows;
  let r1 = min(p.rows, r0 + p.chunkRows);
  var acc = splat(0.0);
  for (var row = r0; row < r1; row++) {
    acc = fma(G1[row * p.NU + u], X[row * p.NU + u] * RIN2[row], acc);
  }
  PART[wid.y * p.NU + u] = acc;
}

@compute @workgroup_size(WG)
fn rms_dw_sum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let u = wid.x * WG + lid.x;
  if (u >= p.NU) { return; }
  var acc = splat(0.0);
  for (var k = 0u; k < p.chunks; k++) { acc += PARTIN[k * p.NU + u]; }
  DW[u] = acc;
}
