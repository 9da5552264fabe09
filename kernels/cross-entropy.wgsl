// cross-entropy.wgsl — per-row cross-entropy of logits against int32 class targets.
// (Prefixed with kernels/rows.wgsl: V units, G lanes per row, group reductions.)
//
//   ce_fwd: lse = logsumexp(X[row]) (one online pass), LOSS[row] = lse − X[row, t] with
//           t = T[row]; 0 where t == ignoreIndex; NaN where t is out of [0, N). LSE saved.
//   ce_bwd: dX[row, v] = g[row] · (exp(X[row, v] − lse) − [v == t]); 0 for ignored rows.
// Matches crossEntropy(…, { reduction: 'none' }) in packages/tensor/src/functional.ts.
// Layouts: X, dX [rows, N] contiguous; T (i32), LOSS, LSE, g [rows].
// Bindings: ce_fwd 0 X, 1 T, 2 LOSS, 3 LSE; ce_bwd 0 X, 1 T, 2 LSE, 3 g, 4 dX; uniforms at 15.

struct Params { rows: u32, N: u32, NU: u32, negInf: f32, ignoreIndex: i32, nan: f32, _p0: u32, _p1: u32 }
@group(0) @binding(15) var<uniform> p: Params;

@group(0) @binding(0) var<storage, read> X: array<V>;
@group(0) @binding(1) var<storage, read> T: array<i32>;
@group(0) @binding(2) var<storage, read_write> LOSS: array<f32>;
@group(0) @binding(3) var<storage, read_write> LSE: array<f32>;
@group(0) @binding(2) var<storage, read> LSEIN: array<f32>;
@group(0) @binding(3) var<storage, read> GR: array<f32>;
@group(0) @binding(4) var<storage, read_write> DX: array<V>;

// Element e of row `row` (e < N).
fn elem(row: u32, e: u32) -> f32 {
//#if VEC4
  return X[row * p.NU + e / 4u][e % 4u];
//#else
  return X[row * p.NU + e];
//#endif
}

@compute @workgroup_size(WG)
fn ce_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
  let pos = rowPos(wid, nwg, lid);
  let base = pos.row * p.NU;
  var m = p.negInf;
  var s = 0.0;
  if (pos.row < p.rows) {
    for (var u = pos.gl; u < p.NU; u += G) {
      let x = X[base + u];
      let mx = max(m, hmax(x));
      let sm = safeMax(mx, p.negInf);
      s = s * exp(m - sm) + hsum(exp(x - splat(sm)));
      m = mx;
    }
  }
  let gm = groupMax4(vec4<f32>(m, 0.0, 0.0, 0.0), pos.lane).x;
  let gs = groupSum4(vec4<f32>(s * exp(m - safeMax(gm, p.negInf)), 0.0, 0.0, 0.0), pos.lane).x;
  if (pos.row >= p.rows || pos.gl != 0u) { return; }
  let lse = gm + log(gs);
  LSE[pos.row] = lse;
  let t = T[pos.row];
  var loss = 0.0;
  if (t != p.ignoreIndex) {
    if (t < 0 || u32(t) >= p.N) {
      loss = p.nan;
    } else {
      loss = lse - elem(pos.row, u32(t));
    }
  }
  LOSS[pos.row] = loss;
}

@compute @workgroup_size(WG)
fn ce_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
  let pos = rowPos(wid, nwg, lid);
  if (pos.row >= p.rows) { return; }
  let base = pos.row * p.NU;
  let t = T[pos.row];
  let ignored = t == p.ignoreIndex;
  let g = select(GR[pos.row], 0.0, ignored);
  let lse = LSEIN[pos.row];
  for (var u = pos.gl; u < p.NU; u += G) {
    var d = exp(X[base + u] - splat(lse)) * g;
//#if VEC4
    let e = vec4<i32>(i32(u * 4u)) + vec4<i32>(0, 1, 2, 3);
    d -= select(vec4<f32>(0.0), vec4<f32>(g), e == vec4<i32>(t));
//#else
    if (i32(u) == t) { d -= g; }
//#endif
    DX[base + u] = d;
  }
}
