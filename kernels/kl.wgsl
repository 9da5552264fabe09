// kl.wgsl — KL(softmax(P) ‖ softmax(Q)) per row over the last axis (vocabulary), fused.
// (Prefixed with kernels/rows.wgsl: V units, G lanes per row, group reductions.)
//
//   kl_fwd: one pass over P and Q logits keeps, per lane, online maxima mp, mq and
//           sp = Σ exp(p − mp), sq = Σ exp(q − mq), a = Σ exp(p − mp)·(p − q) (rescaled with
//           sp); merged over the lane group:
//             lse_p = Mp + log Sp,  lse_q = Mq + log Sq,  KL = A/Sp − lse_p + lse_q
//           (= Σ_v P (log P − log Q) since Σ P = 1). Writes KL [rows] and STATS [rows, 2] =
//           (lse_p, lse_q) for the backward pass.
//   kl_bwd: per element, with g = dL/dKL[row]:
//             dP = g · P ∘ ((log P − log Q) − KL)        (variant PGRAD)
//             dQ = g · (Q − P)                          (variant QGRAD)
// Layouts: P, Q, dP, dQ [rows, N] contiguous; KL, g [rows]; STATS [rows, 2].
// Bindings: kl_fwd 0 P, 1 Q, 2 KL, 3 STATS; kl_bwd 0 P, 1 Q, 2 STATS, 3 KL, 4 g, then dP
// (PGRAD) and/or dQ (QGRAD) at 5 (and 6); uniforms at 15.
// Limits: rows·N·4 bytes ≤ maxStorageBufferBindingSize (a 32000-vocab row: 1048 rows/MiB·8).

struct Params { rows: u32, N: u32, NU: u32, negInf: f32 }
@group(0) @binding(15) var<uniform> p: Params;

@group(0) @binding(0) var<storage, read> P: array<V>;
@group(0) @binding(1) var<storage, read> Q: array<V>;
@group(0) @binding(2) var<storage, read_write> KLOUT: array<f32>;
@group(0) @binding(3) var<storage, read_write> STATS: array<f32>;
@group(0) @binding(2) var<storage, read> STATSIN: array<f32>;
@group(0) @binding(3) var<storage, read> KLIN: array<f32>;
@group(0) @binding(4) var<storage, read> GR: array<f32>;
//#if PGRAD
@group(0) @binding(5) var<storage, read_write> DP: array<V>;
//#if QGRAD
@group(0) @binding(6) var<storage, read_write> DQ: array<V>;
//#endif
//#else
@group(0) @binding(5) var<storage, read_write> DQ: array<V>;
//#endif

@compute @workgroup_size(WG)
fn kl_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
  let pos = rowPos(wid, nwg, lid);
  let base = pos.row * p.NU;
  var mp = p.negInf;
  var mq = p.negInf;
  var sp = 0.0;
  var sq = 0.0;
  var a = 0.0;
  if (pos.row < p.rows) {
    for (var u = pos.gl; u < p.NU; u += G) {
      let pv = P[base + u];
      let qv = Q[base + u];
      let mpn = max(mp, hmax(pv));
      let smp = safeMax(mpn, p.negInf);
      let fp = exp(mp - smp);
      let ep = exp(pv - splat(smp));
      sp = sp * fp + hsum(ep);
      a = a * fp + hsum(ep * (pv - qv));
      mp = mpn;
      let mqn = max(mq, hmax(qv));
      let smq = safeMax(mqn, p.negInf);
      sq = sq * exp(mq - smq) + hsum(exp(qv - splat(smq)));
      mq = mqn;
    }
  }
  let gm = groupMax4(vec4<f32>(mp, mq, 0.0, 0.0), pos.lane);
  let gp = safeMax(gm.x, p.negInf);
  let gq = safeMax(gm.y, p.negInf);
  let fp = exp(mp - gp);
  let gs = groupSum4(vec4<f32>(sp * fp, a * fp, sq * exp(mq - gq), 0.0), pos.lane);
  if (pos.row >= p.rows || pos.gl != 0u) { return; }
  let lseP = gm.x + log(gs.x);
  let lseQ = gm.y + log(gs.z);
  KLOUT[pos.row] = gs.y / gs.x - lseP + lseQ;
  STATS[pos.row * 2u] = lseP;
  STATS[pos.row * 2u + 1u] = lseQ;
}

@compute @workgroup_size(WG)
fn kl_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
  let pos = rowPos(wid, nwg, lid);
  if (pos.row >= p.rows) { return; }
  let base = pos.row * p.NU;
  let lseP = STATSIN[pos.row * 2u];
  let lseQ = STATSIN[pos.row * 2u + 1u];
  let kl = KLIN[pos.row];
  let g = GR[pos.row];
  for (var u = pos.gl; u < p.NU; u += G) {
    let lp = P[base + u] - splat(lseP);
    let lq = Q[base + u] - splat(lseQ);
    let pr = exp(lp);
//#if PGRAD
    DP[base + u] = (g * pr) * (lp - lq - splat(kl));
//#endif
//#if QGRAD
    DQ[base + u] = g * (exp(lq) - pr);
//#endif
  }
}
