// attention-common.wgsl — shared prelude of the attention kernels (attention-forward,
// attention-backward, and the GPU variants attention-forward-tiled, attention-decode,
// attention-backward-tiled): packages/webgpu/src/kernels/attention*.ts prepend it to each of them.
//
// Semantics (as packages/tensor/src/attention.ts `attention`, which defines them):
//   S = scale · Q Kᵀ (+ mask) with causal masking, P = softmax_rows(S), O = P V,
//   L = logsumexp_rows(S)  (per-row, saved for the backward pass)
// computed with an online softmax: no Tq×Tk matrix is ever stored.
//   Q  [B, H,   Tq, D]   (strided: offset + b·qSb + h·qSh + i·qSt + d, d contiguous)
//   K  [B, Hkv, Tk, D]   (same, kOff/kSb/kSh/kSt) — e.g. a narrowed KV cache needs no copy
//   V  [B, Hkv, Tk, D]   (vOff/vSb/vSh/vSt)
//   MASK additive f32, any strided view broadcast to [B, H, Tq, Tk] (stride 0 = broadcast),
//        e.g. [B,1,1,Tk] padding or [B,1,Tq,Tk]; only read in the MASK variant.
//   O  [B, H, Tq, D] contiguous;  L [B, H, Tq] contiguous.
// GQA: H = Hkv·nRep; query head h uses kv head h / nRep (HF repeat_kv). Causal: query i sits at
// absolute position Tk − Tq + i and sees keys j ≤ Tk − Tq + i (decode against a KV cache:
// Tq = 1). A row whose keys are all masked gives O = 0 and L = −∞ (softmax of an all −∞ row
// is zeros in this project).
//
// Rows: the nRep query heads sharing one kv head are processed together; a workgroup owns a
// block of "flattened rows" ρ = i·nRep + g (query i, head hk·nRep + g) of one (b, hk), so every
// K/V load feeds all rows of the block (GQA costs no extra K/V loads).
//
// Variants (packages/webgpu/src/kernels/common.ts specialize): VEC4 — Q/K/V (and the outputs)
// bound as array<vec4<f32>> (needs D % 4 == 0 and all q/k/v offsets and strides % 4 == 0);
// otherwise scalar loads assembled into vec4 with the tail (d ≥ D) zero. MASK — reads the mask
// binding (otherwise the binding must still be bound: pass any read-only buffer, e.g. Q).
// Consts (replaced per configuration): WG, TM, LR, LK, D, TN, CW (and the tiles of the GPU
// variants); `//#chunk` blocks are repeated ceil(D/4 / CW) times (`$` = chunk index), so these
// files are valid WGSL only after specialize().
// Bindings: 0 Q, 1 K, 2 V, 3 MASK; the kernels' own from 4; uniforms at 15.

struct Params {
  Tq: u32, Tk: u32, Hkv: u32, nRep: u32,
  rows: u32, causal: u32, scale: f32, negInf: f32,
  qOff: u32, qSb: u32, qSh: u32, qSt: u32,
  kOff: u32, kSb: u32, kSh: u32, kSt: u32,
  vOff: u32, vSb: u32, vSh: u32, vSt: u32,
  mOff: u32, mSb: u32, mSh: u32, mSi: u32,
  mSj: u32, outRows: u32, _p1: u32, _p2: u32,  // outRows = B·H·Tq
}

const WG: u32 = 16u;
const TM: u32 = 4u;
const LR: u32 = 16u;
const LK: u32 = 1u;
const D: u32 = 64u;
const TN: u32 = 1u;
const D4: u32 = (D + 3u) / 4u;
// The head dim is processed in chunks of at most 16 vec4 (`//#chunk` blocks, one copy per
// chunk with its own register arrays): Mesa unrolls loops of up to ~28 iterations only, and a
// loop left rolled makes every register-array access indirect (several times slower).
const CW: u32 = 16u;
//#chunk
const DC$: u32 = min(D4 - $u * CW, CW);
//#endchunk

@group(0) @binding(15) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read> MASK: array<f32>;

//#if VEC4
@group(0) @binding(0) var<storage, read> Q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> K: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> V: array<vec4<f32>>;
// e: element offset of a row (multiple of 4); d4: vec4 index within the row.
fn ldQ(e: u32, d4: u32) -> vec4<f32> { return Q[(e >> 2u) + d4]; }
fn ldK(e: u32, d4: u32) -> vec4<f32> { return K[(e >> 2u) + d4]; }
fn ldV(e: u32, d4: u32) -> vec4<f32> { return V[(e >> 2u) + d4]; }
//#else
@group(0) @binding(0) var<storage, read> Q: array<f32>;
@group(0) @binding(1) var<storage, read> K: array<f32>;
@group(0) @binding(2) var<storage, read> V: array<f32>;
// Components with d ≥ D read as 0 and are not stored (D and d4 are compile-time after unrolling).
fn ldQ(e: u32, d4: u32) -> vec4<f32> {
  let i = e + d4 * 4u;
  var r = vec4<f32>(Q[i], 0.0, 0.0, 0.0);
  if (d4 * 4u + 1u < D) { r.y = Q[i + 1u]; }
  if (d4 * 4u + 2u < D) { r.z = Q[i + 2u]; }
  if (d4 * 4u + 3u < D) { r.w = Q[i + 3u]; }
  return r;
}
fn ldK(e: u32, d4: u32) -> vec4<f32> {
  let i = e + d4 * 4u;
  var r = vec4<f32>(K[i], 0.0, 0.0, 0.0);
  if (d4 * 4u + 1u < D) { r.y = K[i + 1u]; }
  if (d4 * 4u + 2u < D) { r.z = K[i + 2u]; }
  if (d4 * 4u + 3u < D) { r.w = K[i + 3u]; }
  return r;
}
fn ldV(e: u32, d4: u32) -> vec4<f32> {
  let i = e + d4 * 4u;
  var r = vec4<f32>(V[i], 0.0, 0.0, 0.0);
  if (d4 * 4u + 1u < D) { r.y = V[i + 1u]; }
  if (d4 * 4u + 2u < D) { r.z = V[i + 2u]; }
  if (d4 * 4u + 3u < D) { r.w = V[i + 3u]; }
  return r;
}
//#endif

// Forward outputs (attention-forward, -forward-tiled, -decode): O [B,H,Tq,D] at 4, L [B,H,Tq] at 5.
@group(0) @binding(5) var<storage, read_write> Lout: array<f32>;
//#if VEC4
@group(0) @binding(4) var<storage, read_write> O: array<vec4<f32>>;
fn stO(e: u32, d4: u32, x: vec4<f32>) { O[(e >> 2u) + d4] = x; }
//#else
@group(0) @binding(4) var<storage, read_write> O: array<f32>;
fn stO(e: u32, d4: u32, x: vec4<f32>) {
  let i = e + d4 * 4u;
  O[i] = x.x;
  if (d4 * 4u + 1u < D) { O[i + 1u] = x.y; }
  if (d4 * 4u + 2u < D) { O[i + 2u] = x.z; }
  if (d4 * 4u + 3u < D) { O[i + 3u] = x.w; }
}
//#endif

// Backward inputs and outputs (attention-backward, -backward-tiled): 4 dO, 5 L, then backward_dq
// 6 O, 7 Dvec (out), 8 dQ; backward_dkdv 6 Dvec, 7 dK, 8 dV.
@group(0) @binding(5) var<storage, read> Lin: array<f32>;
@group(0) @binding(7) var<storage, read_write> DVout: array<f32>;
@group(0) @binding(6) var<storage, read> DVin: array<f32>;

//#if VEC4
@group(0) @binding(4) var<storage, read> dO: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> Oin: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dQ: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> dK: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dV: array<vec4<f32>>;
fn lddO(e: u32, d4: u32) -> vec4<f32> { return dO[(e >> 2u) + d4]; }
fn ldOin(e: u32, d4: u32) -> vec4<f32> { return Oin[(e >> 2u) + d4]; }
fn stdQ(e: u32, d4: u32, x: vec4<f32>) { dQ[(e >> 2u) + d4] = x; }
fn stdK(e: u32, d4: u32, x: vec4<f32>) { dK[(e >> 2u) + d4] = x; }
fn stdV(e: u32, d4: u32, x: vec4<f32>) { dV[(e >> 2u) + d4] = x; }
//#else
@group(0) @binding(4) var<storage, read> dO: array<f32>;
@group(0) @binding(6) var<storage, read> Oin: array<f32>;
@group(0) @binding(8) var<storage, read_write> dQ: array<f32>;
@group(0) @binding(7) var<storage, read_write> dK: array<f32>;
@group(0) @binding(8) var<storage, read_write> dV: array<f32>;
fn lddO(e: u32, d4: u32) -> vec4<f32> {
  let i = e + d4 * 4u;
  var r = vec4<f32>(dO[i], 0.0, 0.0, 0.0);
  if (d4 * 4u + 1u < D) { r.y = dO[i + 1u]; }
  if (d4 * 4u + 2u < D) { r.z = dO[i + 2u]; }
  if (d4 * 4u + 3u < D) { r.w = dO[i + 3u]; }
  return r;
}
fn ldOin(e: u32, d4: u32) -> vec4<f32> {
  let i = e + d4 * 4u;
  var r = vec4<f32>(Oin[i], 0.0, 0.0, 0.0);
  if (d4 * 4u + 1u < D) { r.y = Oin[i + 1u]; }
  if (d4 * 4u + 2u < D) { r.z = Oin[i + 2u]; }
  if (d4 * 4u + 3u < D) { r.w = Oin[i + 3u]; }
  return r;
}
fn stdQ(e: u32, d4: u32, x: vec4<f32>) {
  let i = e + d4 * 4u;
  dQ[i] = x.x;
  if (d4 * 4u + 1u < D) { dQ[i + 1u] = x.y; }
  if (d4 * 4u + 2u < D) { dQ[i + 2u] = x.z; }
  if (d4 * 4u + 3u < D) { dQ[i + 3u] = x.w; }
}
fn stdK(e: u32, d4: u32, x: vec4<f32>) {
  let i = e + d4 * 4u;
  dK[i] = x.x;
  if (d4 * 4u + 1u < D) { dK[i + 1u] = x.y; }
  if (d4 * 4u + 2u < D) { dK[i + 2u] = x.z; }
  if (d4 * 4u + 3u < D) { dK[i + 3u] = x.w; }
}
fn stdV(e: u32, d4: u32, x: vec4<f32>) {
  let i = e + d4 * 4u;
  dV[i] = x.x;
  if (d4 * 4u + 1u < D) { dV[i + 1u] = x.y; }
  if (d4 * 4u + 2u < D) { dV[i + 2u] = x.z; }
  if (d4 * 4u + 3u < D) { dV[i + 3u] = x.w; }
}
//#endif

fn hsum(v: vec4<f32>) -> f32 { return (v.x + v.y) + (v.z + v.w); }

// layout 'auto' only includes statically used bindings: keep MASK in every variant's layout.
fn touchMask() {
//#if !MASK
  _ = arrayLength(&MASK);
//#endif
}

fn maskAt(b: u32, h: u32, i: u32, j: u32) -> f32 {
//#if MASK
  return MASK[p.mOff + b * p.mSb + h * p.mSh + i * p.mSi + j * p.mSj];
//#else
  return 0.0;
//#endif
}

// Causal: last visible key of query i (as i32; −1 = none).
fn keyLimit(i: u32) -> i32 {
  var lim = i32(p.Tk) - 1;
  if (p.causal != 0u) { lim = min(lim, i32(p.Tk) - i32(p.Tq) + i32(i)); }
  return lim;
}

// Keys the rows [.., rowLast] of a workgroup can see.
fn keyEnd(rowLast: u32) -> u32 {
  if (p.causal == 0u) { return p.Tk; }
  return u32(clamp(i32(p.Tk) - i32(p.Tq) + i32(rowLast / p.nRep) + 1, 0, i32(p.Tk)));
}
