// gather.wgsl — TEMPLATE for torch.gather and scatter_add along one axis; kernels/gather.ts
// fills __T__ (f32 or i32).
//
//   gather:       OUT[i] = X[xOff + Σ_d (d == axis ? idx : c_d)·sX[d]]
//   scatter_add:  OUT[Σ_d (d == axis ? idx : c_d)·sOut[d]] += SRC[srcOff + Σ_d c_d·sSrc[d]]
//   with (c_0 … c_{nd-1}) the multi-index of i over the index tensor's shape (row-major) and
//   idx = INDEX[iOff + Σ_d c_d·sIdx[d]] (int32).
//
// Layouts: X, INDEX, SRC are arbitrary strided views (element offsets, u32 strides, 0 =
// broadcast); gather's OUT is contiguous in the index shape; scatter_add's OUT is contiguous
// [shape] (zero-filled by the host first) with strides sOut. nd ≤ 8.
// An index outside [0, axisSize) sets ERR[0] = 1 (the host checks it at the next read and
// throws) and the element is skipped (gather writes 0).
// scatter_add: WGSL has no f32 atomics, so f32 adds are a compare-exchange loop on the bit
// pattern (atomic<u32>); i32 uses atomicAdd. The summation order of colliding indices is not
// deterministic (f32 results may differ in the last bits between runs).
// Workgroup size 256, 2-D grid: i = gid.x + gid.y·rowThreads.

struct Params {
  n: u32,
  nd: u32,
  axis: u32,
  axisSize: u32,
  rowThreads: u32,
  xOff: u32,      // gather: X offset; scatter: SRC offset
  iOff: u32,
  _p: u32,
  shape: array<vec4<u32>, 2>,
  sX: array<vec4<u32>, 2>,     // gather: X strides; scatter: SRC strides
  sIdx: array<vec4<u32>, 2>,
  sOut: array<vec4<u32>, 2>,   // scatter: output strides
}

__DECLS__

struct Pos { idx: i32, x: u32, o: u32, ax: u32 }

fn locate(i: u32) -> Pos {
  var rem = i;
  var ii = p.iOff;
  var cs: array<u32, 8>;
  for (var d = i32(p.nd) - 1; d >= 0; d--) {
    let q = u32(d) / 4u;
    let r = u32(d) % 4u;
    let size = p.shape[q][r];
    let k = rem % size;
    rem = rem / size;
    cs[d] = k;
    ii += k * p.sIdx[q][r];
  }
  let idx = INDEX[ii];
  var xo = p.xOff;
  var oo = 0u;
  for (var d = 0u; d < p.nd; d++) {
    let q = d / 4u;
    let r = d % 4u;
    let k = cs[d];
    xo += k * p.sX[q][r];
    oo += select(k, u32(idx), d == p.axis) * p.sOut[q][r];
  }
  return Pos(idx, xo, oo, cs[p.axis]);
}

@compute @workgroup_size(256)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.rowThreads;
  if (i >= p.n) { return; }
  let pos = locate(i);
  if (pos.idx < 0 || u32(pos.idx) >= p.axisSize) {
    atomicStore(&ERR[0], 1u);
    OUT[i] = __T__(0);
    return;
  }
  let sAx = p.sX[p.axis / 4u][p.axis % 4u];
  OUT[i] = X[pos.x - pos.ax * sAx + u32(pos.idx) * sAx];
}

@compute @workgroup_size(256)
fn scatter_add(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.rowThreads;
  if (i >= p.n) { return; }
  let pos = locate(i);
  if (pos.idx < 0 || u32(pos.idx) >= p.axisSize) {
    atomicStore(&ERR[0], 1u);
    return;
  }
  let v = X[pos.x];
__ADD__
}
