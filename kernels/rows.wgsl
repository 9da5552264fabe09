// rows.wgsl — shared prelude of the row kernels (softmax, rmsnorm, kl, cross-entropy, steering):
// packages/webgpu/src/kernels/rows.ts prepends it to each of their sources.
//
// Layout: a row kernel sees its tensors as [rows, N] row-major contiguous f32. G lanes share
// one row (G ∈ {1, 2, 4, …, WG}; RPW = WG / G rows per workgroup); lane `gl` of a group takes
// units gl, gl + G, … of its row. A unit `V` is a vec4<f32> in the VEC4 variant (N % 4 == 0,
// NU = N / 4 units per row) and a plain f32 otherwise (NU = N), so the kernel bodies are
// written once against `V`, `splat`, `hsum`, `hmax`. Group reductions (sum / max of 4 values
// at once) go through workgroup memory with a segmented tree; they contain barriers, so every
// lane of the workgroup must call them (rows past the end included).
// Grid: ceil(rows / RPW) workgroups laid out on (x, y) with x ≤ 65535 (row block =
// wid.x + wid.y · num_workgroups.x).
//
// Two families (rows.ts planRows): on CPU renderers (llvmpipe) a workgroup of WG = 8/16
// invocations is one SIMD thread, so G = 1 (a lane per row, no reductions) is the cheapest when
// there are many rows and G grows when rows are few so both cores get work. On GPUs WG = 256 and
// G grows with the row length (a long row, e.g. a vocabulary, gets the whole workgroup).
// SUBGROUPS variant (GPUs with the `subgroups` feature, G a multiple of the largest subgroup
// size): a group reduction is one subgroupAdd/Max per subgroup, one workgroup-memory slot per
// subgroup and a short loop over the group's slots, instead of log2(G) barrier rounds.

//#if SUBGROUPS
enable subgroups;
//#endif

const WG: u32 = 16u;
const G: u32 = 16u;
const RPW: u32 = WG / G;

//#if VEC4
alias V = vec4<f32>;
fn splat(x: f32) -> V { return V(x); }
fn hsum(v: V) -> f32 { return (v.x + v.y) + (v.z + v.w); }
fn hmax(v: V) -> f32 { return max(max(v.x, v.y), max(v.z, v.w)); }
//#else
alias V = f32;
fn splat(x: f32) -> V { return x; }
fn hsum(v: V) -> f32 { return v; }
fn hmax(v: V) -> f32 { return v; }
//#endif

var<workgroup> red: array<vec4<f32>, WG>;

struct RowPos {
  row: u32,
  // lane within the row's group
  gl: u32,
  lane: u32,
}

fn rowPos(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> RowPos {
  let blk = wid.x + wid.y * nwg.x;
  return RowPos(blk * RPW + lid.x / G, lid.x % G, lid.x);
}

// Sum of v over the G lanes of the caller's group (returned to all of them).
fn groupSum4(v: vec4<f32>, lane: u32) -> vec4<f32> {
  if (G == 1u) { return v; }
//#if SUBGROUPS
  // All lanes are active here, so subgroupAdd(1) is the subgroup size n; subgroups are
  // consecutive runs of lanes (device.ts checks), n divides G: slot lane / n per subgroup.
  let n = subgroupAdd(1u);
  let s = subgroupAdd(v);
  if (lane % n == 0u) { red[lane / n] = s; }
  workgroupBarrier();
  let first = (lane - lane % G) / n;
  var t = red[first];
  for (var i = 1u; i < G / n; i++) { t += red[first + i]; }
  workgroupBarrier();
  return t;
//#else
  red[lane] = v;
  workgroupBarrier();
  for (var s = G / 2u; s > 0u; s = s / 2u) {
    if (lane % G < s) { red[lane] = red[lane] + red[lane + s]; }
    workgroupBarrier();
  }
  let r = red[lane - lane % G];
  workgroupBarrier();
  return r;
//#endif
}

fn groupMax4(v: vec4<f32>, lane: u32) -> vec4<f32> {
  if (G == 1u) { return v; }
//#if SUBGROUPS
  let n = subgroupAdd(1u);
  let s = subgroupMax(v);
  if (lane % n == 0u) { red[lane / n] = s; }
  workgroupBarrier();
  let first = (lane - lane % G) / n;
  var t = red[first];
  for (var i = 1u; i < G / n; i++) { t = max(t, red[first + i]); }
  workgroupBarrier();
  return t;
//#else
  red[lane] = v;
  workgroupBarrier();
  for (var s = G / 2u; s > 0u; s = s / 2u) {
    if (lane % G < s) { red[lane] = max(red[lane], red[lane + s]); }
    workgroupBarrier();
  }
  let r = red[lane - lane % G];
  workgroupBarrier();
  return r;
//#endif
}

// exp(x − m) with m = −∞ treated as 0 (so an all −∞ prefix gives exp(−∞) = 0, not NaN).
fn safeMax(m: f32, negInf: f32) -> f32 { return select(m, 0.0, m == negInf); }
