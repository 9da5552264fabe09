// softmax.wgsl — softmax / logSoftmax over the last axis, forward and backward.
// (Prefixed with kernels/rows.wgsl: V units, G lanes per row, group reductions.)
//
//   softmax_fwd:     Y = exp(X − M) / S per row, M = row max, S = Σ exp(X − M) (one online pass
//                    for M and S, one pass writing Y). A row that is all −∞ gives zeros, as the
//                    composite in packages/tensor/src/functional.ts.
//   logsoftmax_fwd:  Y = X − M − log S (an all −∞ row gives NaN, as the composite).
//   softmax_bwd:     dX = Y ∘ (G − Σ G∘Y)     (Y = saved softmax output)
//   logsoftmax_bwd:  dX = G − exp(Y) ∘ Σ G    (Y = saved log-softmax output)
// Bindings: 0 X (or Y for bwd), 1 G (bwd only), then OUT, uniforms at 15.
// Layout [rows, N] contiguous; workgroup WG (G lanes per row); limits: rows·N·4 bytes ≤
// maxStorageBufferBindingSize.

struct Params { rows: u32, N: u32, NU: u32, negInf: f32 }
@group(0) @binding(15) var<uniform> p: Params;

@group(0) @binding(0) var<storage, read> X: array<V>;
@group(0) @binding(1) var<storage, read_write> OUT1: array<V>;
@group(0) @binding(1) var<storage, read> GR: array<V>;
@group(0) @binding(2) var<storage, read_write> OUT2: array<V>;

// Online max / sum of exp over the lane's units, merged over the group: returns (M, S).
fn rowMaxSum(pos: RowPos) -> vec2<f32> {
  var m = p.negInf;
  var s = 0.0;
  if (pos.row < p.rows) {
    let base = pos.row * p.NU;
    for (var u = pos.gl; u < p.NU; u += G) {
      let x = X[base + u];
      let mx = max(m, hmax(x));
      let sm = safeMax(mx, p.negInf);
      s = s * exp(m - sm) + hsum(exp(x - splat(sm)));
      m = mx;
    }
  }
  let gm = groupMax4(vec4<f32>(m, 0.0, 0.0, 0.0), pos.lane).x;
  let sg = safeMax(gm, p.negInf);
  let gs = groupSum4(vec4<f32>(s * exp(m - sg), 0.0, 0.0, 0.0), pos.lane).x;
  return vec2<f32>(gm, gs);
}

@compute @workgroup_size(WG)
fn softmax_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_id) lid: vec3<u32>) {
  let pos = rowPos(wid, nwg, lid);
  let ms = rowMaxSum(pos);
  if (pos.row >= p.rows) { return; }
  let sm = safeMax(ms.x, p.negInf);
  let inv = select(1.0 / ms.y, 0.0, ms.y == 0.0);
  let base = pos.row * p.NU;
  for (var u = pos.gl; u < p.NU; u += G) { OUT1[base + u] = exp(X[base + u] - splat(sm)) * inv; }
}

@compute @workgroup_size(WG)
fn logsoftmax_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_id) lid: vec3<u32>) {
  let pos = rowPos(wid, nwg, lid);
  let ms = rowMaxSum(pos);
  if (pos.row >= p.rows) { return; }
  let lse = ms.x + log(ms.y);
  let base = pos.row * p.NU;
  for (var u = pos.gl; u < p.NU; u += G) { OUT1[base + u] = X[base + u] - splat(lse); }
}

@compute @workgroup_size(WG)
fn softmax_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_id) lid: vec3<u32>) {
  let pos = rowPos(wid, nwg, lid);
  let base = pos.row * p.NU;
  var acc = splat(0.0);
  if (pos.row < p.rows) {
    for (var u = pos.gl; u < p.NU; u += G) { acc = fma(X[base + u], GR[base + u], acc); }
  }
  let dot = groupSum4(vec4<f32>(hsum(acc), 0.0, 0.0, 0.0), pos.lane).x;
  if (pos.row >= p.rows) { return; }
  for (var u = pos.gl; u < p.NU; u += G) { OUT2[base + u] = X[base + u] * (GR[base + u] - splat(dot)); }
}

@compute @workgroup_size(WG)
fn logsoftmax_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_id) lid: vec3<u32>) {
  let pos = rowPos(wid, nwg, lid);
  let base = pos.row * p.NU;
  var acc = splat(0.0);
  if (pos.row < p.rows) {
    for (var u = pos.gl; u < p.NU; u += G) { acc += GR[base + u]; }
  }
  let gs = groupSum4(vec4<f32>(hsum(acc), 0.0, 0.0, 0.0), pos.lane).x;
  if (pos.row >= p.rows) { return; }
  for (var u = pos.gl; u < p.NU; u += G) { OUT2[base + u] = GR[base + u] - exp(X[base + u]) * gs; }
}
