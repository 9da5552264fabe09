// steering.wgsl — residual-stream steering in one pass, and its backward.
// (Prefixed with kernels/rows.wgsl for V units, splat/hsum and groupSum4; G = WG.)
//
//   steer_fwd:  OUT[b,t,:] = H[b,t,:] + MASK[b,t] · Σ_k COEF[b,k] · VEC[(b,)k,:]
//               lanes over D units; each lane forms its slice of delta[b] once (K loads) and
//               applies it to TT time steps. Grid (ceil(DU/WG), B, ceil(T/TT)).
//   steer_gsum: GS[b,:] = Σ_t MASK[b,t] · G[b,t,:]              Grid (ceil(DU/WG), B)
//   steer_dvec: dVEC[k,:] = Σ_b COEF[b,k] · GS[b,:] (shared vectors [K,D]), or
//               dVEC[b,k,:] = COEF[b,k] · GS[b,:]   (per-sequence vectors [B,K,D]).
//               Grid (ceil(DU/WG), K, B or 1)
//   steer_dcoef: dCOEF[b,k] = ⟨GS[b,:], VEC[(b,)k,:]⟩  (= Σ_t MASK[b,t]·⟨G[b,t], v_k⟩)
//               one workgroup per (b, k), lanes stride D, workgroup reduction. Grid (K, B)
// dH = G (no kernel). Layouts: H, OUT, G [B,T,D]; VEC [K,D] or [B,K,D]; COEF [B,K];
// MASK [B,T] (f32 0/1 or any weight); GS [B,D] scratch; all contiguous f32.
// Bindings: steer_fwd 0 H, 1 VEC, 2 COEF, 3 MASK, 4 OUT; steer_gsum 0 G, 1 MASK, 2 GS;
// steer_dvec 0 GS, 1 COEF, 2 dVEC; steer_dcoef 0 GS, 1 VEC, 2 dCOEF; uniforms at 15.
// Limits: B·T·D·4 bytes ≤ maxStorageBufferBindingSize; B, K ≤ 65535.

struct Params { B: u32, T: u32, D: u32, DU: u32, K: u32, perSeq: u32, TT: u32, _p0: u32 }
@group(0) @binding(15) var<uniform> p: Params;

@group(0) @binding(0) var<storage, read> H: array<V>;
@group(0) @binding(1) var<storage, read> VEC: array<V>;
@group(0) @binding(2) var<storage, read> COEF: array<f32>;
@group(0) @binding(3) var<storage, read> MASK: array<f32>;
@group(0) @binding(4) var<storage, read_write> OUT: array<V>;
// backward
@group(0) @binding(0) var<storage, read> GR: array<V>;
@group(0) @binding(1) var<storage, read> MASK1: array<f32>;
@group(0) @binding(2) var<storage, read_write> GS: array<V>;
@group(0) @binding(0) var<storage, read> GSIN: array<V>;
@group(0) @binding(1) var<storage, read> COEF1: array<f32>;
@group(0) @binding(2) var<storage, read_write> DVEC: array<V>;
@group(0) @binding(2) var<storage, read_write> DCOEF: array<f32>;

fn vecBase(b: u32, k: u32) -> u32 { return (select(0u, b * p.K, p.perSeq != 0u) + k) * p.DU; }

@compute @workgroup_size(WG)
fn steer_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let u = wid.x * WG + lid.x;
  if (u >= p.DU) { return; }
  let b = wid.y;
  var delta = splat(0.0);
  for (var k = 0u; k < p.K; k++) { delta = fma(splat(COEF[b * p.K + k]), VEC[vecBase(b, k) + u], delta); }
  let t0 = wid.z * p.TT;
  let t1 = min(p.T, t0 + p.TT);
  for (var t = t0; t < t1; t++) {
    let i = (b * p.T + t) * p.DU + u;
    OUT[i] = fma(splat(MASK[b * p.T + t]), delta, H[i]);
  }
}

@compute @workgroup_size(WG)
fn steer_gsum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let u = wid.x * WG + lid.x;
  if (u >= p.DU) { return; }
  let b = wid.y;
  var acc = splat(0.0);
  for (var t = 0u; t < p.T; t++) { acc = fma(splat(MASK1[b * p.T + t]), GR[(b * p.T + t) * p.DU + u], acc); }
  GS[b * p.DU + u] = acc;
}

@compute @workgroup_size(WG)
fn steer_dvec(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let u = wid.x * WG + lid.x;
  if (u >= p.DU) { return; }
  let k = wid.y;
  if (p.perSeq != 0u) {
    let b = wid.z;
    DVEC[(b * p.K + k) * p.DU + u] = COEF1[b * p.K + k] * GSIN[b * p.DU + u];
  } else {
    var acc = splat(0.0);
    for (var b = 0u; b < p.B; b++) { acc = fma(splat(COEF1[b * p.K + k]), GSIN[b * p.DU + u], acc); }
    DVEC[k * p.DU + u] = acc;
  }
}

@compute @workgroup_size(WG)
fn steer_dcoef(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let k = wid.x;
  let b = wid.y;
  var acc = splat(0.0);
  let vb = vecBase(b, k);
  for (var u = lid.x; u < p.DU; u += WG) { acc = fma(GSIN[b * p.DU + u], VEC[vb + u], acc); }
  let s = groupSum4(vec4<f32>(hsum(acc), 0.0, 0.0, 0.0), lid.x).x;
  if (lid.x == 0u) { DCOEF[b * p.K + k] = s; }
}
