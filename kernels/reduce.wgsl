// reduce.wgsl — TEMPLATE for row reductions (sum, max, min, argmax, argmin); kernels/reduce.ts
// fills the placeholders (__NAME__) per op, element type and pass.
//
//   For every (row, chunk) g = row·nChunks + chunk, with j over [chunk·CH, min((chunk+1)·CH, R)):
//     OV[g] = ⊕_j X[xOff + row·R + j]          (⊕ = +, max, min; NaN propagates for max/min)
//     OI[g] = index of the selected element     (arg ops only: the FIRST index of the max/min,
//                                                or of the first NaN, as the CPU backend)
//   Indices of element j are j itself (first pass) or XI[xOff + row·R + j] (later passes,
//   which reduce the partial results [nRows, nChunks] of the previous pass).
//
// Layout: X is a contiguous run of nRows rows of length R starting at element xOff (the host
// permutes reduced axes last and copies when that view is not already contiguous).
// Entry points:
//   main_wg     — one workgroup (64 invocations) per (row, chunk); each invocation strides over
//                 the chunk, then a tree reduction in workgroup memory (64 values + 64 indices,
//                 512 B). The combine is order-independent (ties broken by index), so the
//                 result does not depend on the tree shape.
//   main_serial — one invocation per (row, chunk), sequential (short rows, many rows).
// Dispatch: main_wg: workgroups (gx, gy), g = wid.x + wid.y·gridX; main_serial: 64-wide
// workgroups, g = gid.x + gid.y·gridX (gridX = gx·64). Limits: total (row, chunk) pairs < 2^32;
// bindings ≤ maxStorageBufferBindingSize.

struct Params {
  R: u32,
  nRows: u32,
  chunk: u32,
  nChunks: u32,
  xOff: u32,
  gridX: u32,
  total: u32,
  _p: u32,
}

@group(0) @binding(0) var<storage, read> X: array<__T__>;
__DECLS__
@group(0) @binding(__UB__) var<uniform> p: Params;

struct Acc { v: __T__, i: i32 }  // i < 0: empty

fn isnanv(x: __T__) -> bool { __ISNAN__ }

fn combine(a: Acc, b: Acc) -> Acc {
__COMBINE__
}

fn load(row: u32, j: u32) -> Acc {
  let pos = p.xOff + row * p.R + j;
  return Acc(X[pos], __IDX__);
}

fn store(g: u32, a: Acc) {
__STORE__
}

fn empty() -> Acc { return Acc(__T__(0), -1); }

var<workgroup> shv: array<__T__, 64>;
var<workgroup> shi: array<i32, 64>;

@compute @workgroup_size(64)
fn main_wg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = wid.x + wid.y * p.gridX;
  if (g >= p.total) { return; }
  let row = g / p.nChunks;
  let start = (g % p.nChunks) * p.chunk;
  let end = min(start + p.chunk, p.R);
  var acc = empty();
  for (var j = start + lid.x; j < end; j += 64u) {
    acc = combine(acc, load(row, j));
  }
  shv[lid.x] = acc.v;
  shi[lid.x] = acc.i;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (lid.x < s) {
      let r = combine(Acc(shv[lid.x], shi[lid.x]), Acc(shv[lid.x + s], shi[lid.x + s]));
      shv[lid.x] = r.v;
      shi[lid.x] = r.i;
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    store(g, Acc(shv[0], shi[0]));
  }
}

@compute @workgroup_size(64)
fn main_serial(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x + gid.y * p.gridX;
  if (g >= p.total) { return; }
  let row = g / p.nChunks;
  let start = (g % p.nChunks) * p.chunk;
  let end = min(start + p.chunk, p.R);
  var acc = empty();
  for (var j = start; j < end; j++) {
    acc = combine(acc, load(row, j));
  }
  store(g, acc);
}
