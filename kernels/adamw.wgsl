// adamw.wgsl — one AdamW step (torch.optim.AdamW semantics, as AdamW.step in
// packages/tensor/src/optim.ts) updating param, exp_avg and exp_avg_sq in place:
//   m ← β₁·m + (1 − β₁)·g
//   v ← β₂·v + (1 − β₂)·g²
//   p ← p·(1 − lr·wd) − (lr / bc₁) · m / (√v / √bc₂ + eps),   bcᵢ = 1 − βᵢ^step
// Elementwise over n f32 values: vec4 units in the VEC4 variant (n % 4 == 0), else scalars.
// Bindings: 0 P (rw), 1 G, 2 M (rw), 3 V (rw); uniforms at 15. Workgroup WG, one unit per
// invocation, 2-D grid over ceil(units / WG) workgroups. Limits: n·4 bytes ≤
// maxStorageBufferBindingSize per buffer.

struct Params {
  units: u32, _p0: u32, _p1: u32, _p2: u32,
  b1: f32, b2: f32, decay: f32, stepSize: f32,
  sqrtBc2: f32, eps: f32, _p3: f32, _p4: f32,
}
@group(0) @binding(15) var<uniform> p: Params;

const WG: u32 = 16u;
//#if VEC4
alias U = vec4<f32>;
//#else
alias U = f32;
//#endif

@group(0) @binding(0) var<storage, read_write> P: array<U>;
@group(0) @binding(1) var<storage, read> G: array<U>;
@group(0) @binding(2) var<storage, read_write> M: array<U>;
@group(0) @binding(3) var<storage, read_write> V: array<U>;

@compute @workgroup_size(WG)
fn adamw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid.x;
  if (i >= p.units) { return; }
  let g = G[i];
  let m = M[i] * p.b1 + g * (1.0 - p.b1);
  let v = V[i] * p.b2 + g * g * (1.0 - p.b2);
  M[i] = m;
  V[i] = v;
  P[i] = P[i] * p.decay - m / (sqrt(v) / p.sqrtBc2 + p.eps) * p.stepSize;
}
