// fused-attention.wgsl — flash-style scaled dot-product attention, forward and backward.
//
// Computes (as packages/tensor/src/attention.ts `attention`, which defines the semantics):
//   S = scale · Q Kᵀ (+ mask) with causal masking, P = softmax_rows(S), O = P V,
//   L = logsumexp_rows(S)  (per-row, saved for the backward pass)
// in one pass over the keys with an online softmax: no Tq×Tk matrix is ever stored.
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
// forward: workgroup_size WG; lane = ks·LR + rs (LR row slots × LK key slots). A lane keeps TM
//   rows in registers (q pre-scaled by `scale`, o accumulators: 2·TM·D floats) and walks keys
//   j = ks, ks + LK, …: per key, D/4 K and D/4 V vec4 loads feed 2·TM·D FMAs; the running
//   max/sum/o are rescaled per key (branch-free: exp(−∞) = 0 handles masked keys).
//   LK = 1 (prefill): lanes are rows.  LK > 1 (decode: few rows, long Tk): the keys are split
//   over LK lanes and the partial (m, l, o) states are merged through workgroup memory
//   (WG·TM·(D+2) floats ≤ 32 KiB).  Grid: (ceil(nRep·Tq / (LR·TM)), B·Hkv).
// backward (FlashAttention-2 recomputation from L, Dᵢ = rowsum(dO∘O), dS = P∘(dP − Dᵢ)):
//   backward_dq:   lanes are rows (TM per lane): writes Dᵢ and dQ = scale·dS K.
//                  Grid (ceil(nRep·Tq / (WG·TM)), B·Hkv).
//   backward_dkdv: lanes are keys (TN per lane) of kv head hk; loops over all nRep·Tq rows of
//                  the head group, so dK = dSᵀ (scale·Q) and dV = Pᵀ dO are summed over the
//                  group without atomics. Reads Dᵢ written by backward_dq (dispatch it first).
//                  Grid (ceil(Tk / (WG·TN)), B·Hkv).
//
// Variants (kernels/fused-common.ts specialize): VEC4 — Q/K/V/O/dO/dQ/dK/dV bound as
// array<vec4<f32>> (needs D % 4 == 0 and all q/k/v offsets and strides % 4 == 0); otherwise
// scalar loads assembled into vec4 with the tail (d ≥ D) zero. MASK — reads the mask binding
// (otherwise the binding must still be bound: pass any read-only buffer, e.g. Q).
// Consts (replaced per configuration): WG, TM, LR, LK, D, TN, CW; `//#chunk` blocks are
// repeated ceil(D/4 / CW) times (`$` = chunk index), so this file is valid WGSL only after
// specialize().
// Limits: D ≤ 128 (register tiles), every binding ≤ maxStorageBufferBindingSize (128 MiB on
// llvmpipe), grid dims ≤ 65535. Bindings: 0 Q, 1 K, 2 V, 3 MASK, then forward: 4 O, 5 L;
// backward_dq: 4 dO, 5 L, 6 O, 7 Dvec (out), 8 dQ; backward_dkdv: 4 dO, 5 L, 6 Dvec, 7 dK,
// 8 dV; uniforms at 15.
//
// llvmpipe notes (see kernels/matmul.wgsl): every SSBO load is a per-lane scalar loop, so the
// kernel is bound by loads per FMA: 4·TM FMAs per vec4 K/V load here. Uniform-address loads
// (all lanes read the same K row) cost as much as distinct ones. Mesa unrolls only short loops
// (< ~28 iterations, small bodies); a loop left rolled makes register-array indexing indirect
// and runs 3-5× slower — hence the chunking (TM·CW ≤ 64 per loop body) and the separate
// rescale loop. Barriers in the key loop (splitting D over lanes) cost more than they saved.
// Measured (bench/suites/attention.ts; llvmpipe, 16 lanes, 2 cores; causal; GFLOP/s of useful
// work, backward counted as 2.5× the forward): forward 8 heads D = 64: T 512 → 24, T 1024 → 28;
// 32 heads D = 128: T 512 → 18; backward D = 64 T 512 → 21; decode 32/8 heads D = 128
// Tk = 512: 0.9 ms. The kts CPU composite runs at 2–2.7.

struct Params {
  Tq: u32, Tk: u32, Hkv: u32, nRep: u32,
  rows: u32, causal: u32, scale: f32, negInf: f32,
  qOff: u32, qSb: u32, qSh: u32, qSt: u32,
  kOff: u32, kSb: u32, kSh: u32, kSt: u32,
  vOff: u32, vSb: u32, vSh: u32, vSt: u32,
  mOff: u32, mSb: u32, mSh: u32, mSi: u32,
  mSj: u32, _p0: u32, _p1: u32, _p2: u32,
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
// loop left rolled makes every register-array access indirect (4× slower at D = 128).
const CW: u32 = 16u;
const SH_O: u32 = select(1u, LR * LK * TM * D4, LK > 1u);
const SH_ML: u32 = select(1u, LR * LK * TM, LK > 1u);
//#chunk
const DC$: u32 = min(D4 - $u * CW, CW);
//#endchunk

@group(0) @binding(15) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read> MASK: array<f32>;
// forward
@group(0) @binding(5) var<storage, read_write> Lout: array<f32>;
// backward
@group(0) @binding(5) var<storage, read> Lin: array<f32>;
@group(0) @binding(7) var<storage, read_write> DVout: array<f32>;
@group(0) @binding(6) var<storage, read> DVin: array<f32>;

var<workgroup> shO: array<vec4<f32>, SH_O>;
var<workgroup> shM: array<f32, SH_ML>;
var<workgroup> shL: array<f32, SH_ML>;

//#if VEC4
@group(0) @binding(0) var<storage, read> Q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> K: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> V: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> O: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> dO: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> Oin: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dQ: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> dK: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dV: array<vec4<f32>>;
// e: element offset of a row (multiple of 4); d4: vec4 index within the row.
fn ldQ(e: u32, d4: u32) -> vec4<f32> { return Q[(e >> 2u) + d4]; }
fn ldK(e: u32, d4: u32) -> vec4<f32> { return K[(e >> 2u) + d4]; }
fn ldV(e: u32, d4: u32) -> vec4<f32> { return V[(e >> 2u) + d4]; }
fn lddO(e: u32, d4: u32) -> vec4<f32> { return dO[(e >> 2u) + d4]; }
fn ldOin(e: u32, d4: u32) -> vec4<f32> { return Oin[(e >> 2u) + d4]; }
fn stO(e: u32, d4: u32, x: vec4<f32>) { O[(e >> 2u) + d4] = x; }
fn stdQ(e: u32, d4: u32, x: vec4<f32>) { dQ[(e >> 2u) + d4] = x; }
fn stdK(e: u32, d4: u32, x: vec4<f32>) { dK[(e >> 2u) + d4] = x; }
fn stdV(e: u32, d4: u32, x: vec4<f32>) { dV[(e >> 2u) + d4] = x; }
//#else
@group(0) @binding(0) var<storage, read> Q: array<f32>;
@group(0) @binding(1) var<storage, read> K: array<f32>;
@group(0) @binding(2) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;
@group(0) @binding(4) var<storage, read> dO: array<f32>;
@group(0) @binding(6) var<storage, read> Oin: array<f32>;
@group(0) @binding(8) var<storage, read_write> dQ: array<f32>;
@group(0) @binding(7) var<storage, read_write> dK: array<f32>;
@group(0) @binding(8) var<storage, read_write> dV: array<f32>;
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
fn stO(e: u32, d4: u32, x: vec4<f32>) {
  let i = e + d4 * 4u;
  O[i] = x.x;
  if (d4 * 4u + 1u < D) { O[i + 1u] = x.y; }
  if (d4 * 4u + 2u < D) { O[i + 2u] = x.z; }
  if (d4 * 4u + 3u < D) { O[i + 3u] = x.w; }
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

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  touchMask();
  let lane = lid.x;
  let rs = lane % LR;
  let ks = lane / LR;
  let b = wid.y / p.Hkv;
  let hk = wid.y % p.Hkv;
  let H = p.Hkv * p.nRep;
  let rowWg = wid.x * LR * TM;
  let row0 = rowWg + rs * TM;
  let kEnd = keyEnd(min(p.rows, rowWg + LR * TM) - 1u);
  let kRow0 = p.kOff + b * p.kSb + hk * p.kSh;
  let vRow0 = p.vOff + b * p.vSb + hk * p.vSh;

//#chunk
  var q$: array<vec4<f32>, TM * DC$>;
  var o$: array<vec4<f32>, TM * DC$>;
//#endchunk
  var m: array<f32, TM>;
  var l: array<f32, TM>;
  var lim: array<i32, TM>;
  var hh: array<u32, TM>;
  var ii: array<u32, TM>;
  for (var t = 0u; t < TM; t++) {
    let row = row0 + t;
    let ok = row < p.rows;
    let rr = min(row, p.rows - 1u);
    let i = rr / p.nRep;
    let h = hk * p.nRep + rr % p.nRep;
    ii[t] = i;
    hh[t] = h;
    lim[t] = select(-1, keyLimit(i), ok);
    let qe = p.qOff + b * p.qSb + h * p.qSh + i * p.qSt;
//#chunk
    for (var dd = 0u; dd < DC$; dd++) {
      q$[t * DC$ + dd] = ldQ(qe, $u * CW + dd) * p.scale;
      o$[t * DC$ + dd] = vec4<f32>(0.0);
    }
//#endchunk
    m[t] = p.negInf;
    l[t] = 0.0;
  }

  // Key slot ks takes keys ks, ks + LK, …
  for (var j = ks; j < kEnd; j += LK) {
    let ke = kRow0 + j * p.kSt;
    var acc: array<vec4<f32>, TM>;
    for (var t = 0u; t < TM; t++) { acc[t] = vec4<f32>(0.0); }
//#chunk
    for (var dd = 0u; dd < DC$; dd++) {
      let kv = ldK(ke, $u * CW + dd);
      for (var t = 0u; t < TM; t++) { acc[t] = fma(q$[t * DC$ + dd], kv, acc[t]); }
    }
//#endchunk
    // Online softmax, branch-free: an all-masked prefix keeps m = −∞, l = 0, o = 0.
    var pr: array<f32, TM>;
    for (var t = 0u; t < TM; t++) {
      var sc = hsum(acc[t]) + maskAt(b, hh[t], ii[t], j);
      if (i32(j) > lim[t]) { sc = p.negInf; }
      let mx = max(m[t], sc);
      let safe = select(mx, 0.0, mx == p.negInf);
      let al = exp(m[t] - safe);
      pr[t] = exp(sc - safe);
      l[t] = fma(l[t], al, pr[t]);
      m[t] = mx;
      // Rescale and accumulate in separate loops: a loop whose unrolled body is too large stays
      // rolled in Mesa (see CW).
//#chunk
      for (var dd = 0u; dd < DC$; dd++) { o$[t * DC$ + dd] *= al; }
//#endchunk
    }
    let ve = vRow0 + j * p.vSt;
//#chunk
    for (var dd = 0u; dd < DC$; dd++) {
      let vv = ldV(ve, $u * CW + dd);
      for (var t = 0u; t < TM; t++) { o$[t * DC$ + dd] = fma(vec4<f32>(pr[t]), vv, o$[t * DC$ + dd]); }
    }
//#endchunk
  }

  if (LK == 1u) {
    for (var t = 0u; t < TM; t++) {
      let row = row0 + t;
      if (row >= p.rows) { continue; }
      let r = (b * H + hh[t]) * p.Tq + ii[t];
      let empty = m[t] == p.negInf;
      let inv = select(1.0 / l[t], 0.0, empty);
//#chunk
      for (var dd = 0u; dd < DC$; dd++) { stO(r * D, $u * CW + dd, o$[t * DC$ + dd] * inv); }
//#endchunk
      Lout[r] = select(m[t] + log(l[t]), p.negInf, empty);
    }
  } else {
    // Merge the LK partial states of every row through workgroup memory.
    let slot = (ks * LR + rs) * TM;
    for (var t = 0u; t < TM; t++) {
      shM[slot + t] = m[t];
      shL[slot + t] = l[t];
//#chunk
      for (var dd = 0u; dd < DC$; dd++) { shO[(slot + t) * D4 + $u * CW + dd] = o$[t * DC$ + dd]; }
//#endchunk
    }
    workgroupBarrier();
    for (var it = lane; it < LR * TM * D4; it += WG) {
      let rsI = it / (TM * D4);
      let t = (it / D4) % TM;
      let d4 = it % D4;
      let row = rowWg + rsI * TM + t;
      if (row >= p.rows) { continue; }
      let i = row / p.nRep;
      let h = hk * p.nRep + row % p.nRep;
      let r = (b * H + h) * p.Tq + i;
      var mx = p.negInf;
      for (var k2 = 0u; k2 < LK; k2++) { mx = max(mx, shM[(k2 * LR + rsI) * TM + t]); }
      if (mx == p.negInf) {
        stO(r * D, d4, vec4<f32>(0.0));
        if (d4 == 0u) { Lout[r] = p.negInf; }
        continue;
      }
      var ls = 0.0;
      var acc = vec4<f32>(0.0);
      for (var k2 = 0u; k2 < LK; k2++) {
        let sl = (k2 * LR + rsI) * TM + t;
        let w = exp(shM[sl] - mx);
        ls += w * shL[sl];
        acc = fma(vec4<f32>(w), shO[sl * D4 + d4], acc);
      }
      stO(r * D, d4, acc / ls);
      if (d4 == 0u) { Lout[r] = mx + log(ls); }
    }
  }
}

@compute @workgroup_size(WG)
fn backward_dq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  touchMask();
  let b = wid.y / p.Hkv;
  let hk = wid.y % p.Hkv;
  let H = p.Hkv * p.nRep;
  let rowWg = wid.x * WG * TM;
  let row0 = rowWg + lid.x * TM;
  let kEnd = keyEnd(min(p.rows, rowWg + WG * TM) - 1u);
  let kRow0 = p.kOff + b * p.kSb + hk * p.kSh;
  let vRow0 = p.vOff + b * p.vSb + hk * p.vSh;

//#chunk
  var q$: array<vec4<f32>, TM * DC$>;
  var g$: array<vec4<f32>, TM * DC$>;
  var dq$: array<vec4<f32>, TM * DC$>;
//#endchunk
  var lse: array<f32, TM>;
  var di: array<f32, TM>;
  var lim: array<i32, TM>;
  var hh: array<u32, TM>;
  var ii: array<u32, TM>;
  for (var t = 0u; t < TM; t++) {
    let row = row0 + t;
    let ok = row < p.rows;
    let rr = min(row, p.rows - 1u);
    let i = rr / p.nRep;
    let h = hk * p.nRep + rr % p.nRep;
    ii[t] = i;
    hh[t] = h;
    let r = (b * H + h) * p.Tq + i;
    let qe = p.qOff + b * p.qSb + h * p.qSh + i * p.qSt;
    var dacc = vec4<f32>(0.0);
//#chunk
    for (var dd = 0u; dd < DC$; dd++) {
      let d4 = $u * CW + dd;
      q$[t * DC$ + dd] = ldQ(qe, d4) * p.scale;
      let gv = lddO(r * D, d4);
      g$[t * DC$ + dd] = gv;
      dacc = fma(gv, ldOin(r * D, d4), dacc);
      dq$[t * DC$ + dd] = vec4<f32>(0.0);
    }
//#endchunk
    di[t] = hsum(dacc);
    lse[t] = Lin[r];
    // Rows with no visible key (L = −∞) get zero gradients.
    lim[t] = select(-1, keyLimit(i), ok && lse[t] != p.negInf);
    if (ok) { DVout[r] = di[t]; }
  }

  for (var j = 0u; j < kEnd; j++) {
    let ke = kRow0 + j * p.kSt;
    let ve = vRow0 + j * p.vSt;
    var accS: array<vec4<f32>, TM>;
    var accP: array<vec4<f32>, TM>;
    for (var t = 0u; t < TM; t++) {
      accS[t] = vec4<f32>(0.0);
      accP[t] = vec4<f32>(0.0);
    }
//#chunk
    for (var dd = 0u; dd < DC$; dd++) {
      let kv = ldK(ke, $u * CW + dd);
      let vv = ldV(ve, $u * CW + dd);
      for (var t = 0u; t < TM; t++) {
        accS[t] = fma(q$[t * DC$ + dd], kv, accS[t]);
        accP[t] = fma(g$[t * DC$ + dd], vv, accP[t]);
      }
    }
//#endchunk
    var ds: array<f32, TM>;
    for (var t = 0u; t < TM; t++) {
      var pr = exp(hsum(accS[t]) + maskAt(b, hh[t], ii[t], j) - lse[t]);
      if (i32(j) > lim[t]) { pr = 0.0; }
      ds[t] = pr * (hsum(accP[t]) - di[t]);
    }
//#chunk
    for (var dd = 0u; dd < DC$; dd++) {
      let kv = ldK(ke, $u * CW + dd);
      for (var t = 0u; t < TM; t++) { dq$[t * DC$ + dd] = fma(vec4<f32>(ds[t]), kv, dq$[t * DC$ + dd]); }
    }
//#endchunk
  }
  for (var t = 0u; t < TM; t++) {
    if (row0 + t >= p.rows) { continue; }
    let r = (b * H + hh[t]) * p.Tq + ii[t];
//#chunk
    for (var dd = 0u; dd < DC$; dd++) { stdQ(r * D, $u * CW + dd, dq$[t * DC$ + dd] * p.scale); }
//#endchunk
  }
}

@compute @workgroup_size(WG)
fn backward_dkdv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  touchMask();
  let b = wid.y / p.Hkv;
  let hk = wid.y % p.Hkv;
  let H = p.Hkv * p.nRep;
  let jWg = wid.x * WG * TN;
  let jl0 = jWg + lid.x * TN;

//#chunk
  var kk$: array<vec4<f32>, TN * DC$>;
  var vv$: array<vec4<f32>, TN * DC$>;
  var dk$: array<vec4<f32>, TN * DC$>;
  var dv$: array<vec4<f32>, TN * DC$>;
  var qr$: array<vec4<f32>, DC$>;
  var gr$: array<vec4<f32>, DC$>;
//#endchunk
  for (var u = 0u; u < TN; u++) {
    let j = min(jl0 + u, p.Tk - 1u);
    let ke = p.kOff + b * p.kSb + hk * p.kSh + j * p.kSt;
    let ve = p.vOff + b * p.vSb + hk * p.vSh + j * p.vSt;
//#chunk
    for (var dd = 0u; dd < DC$; dd++) {
      kk$[u * DC$ + dd] = ldK(ke, $u * CW + dd);
      vv$[u * DC$ + dd] = ldV(ve, $u * CW + dd);
      dk$[u * DC$ + dd] = vec4<f32>(0.0);
      dv$[u * DC$ + dd] = vec4<f32>(0.0);
    }
//#endchunk
  }
  // Causal: query i sees key j iff j ≤ Tk − Tq + i, so rows with i < jWg − (Tk − Tq) see none
  // of this workgroup's keys.
  var rowStart = 0u;
  if (p.causal != 0u) {
    rowStart = min(u32(max(i32(jWg) - (i32(p.Tk) - i32(p.Tq)), 0)), p.Tq) * p.nRep;
  }
  for (var row = rowStart; row < p.rows; row++) {
    let i = row / p.nRep;
    let h = hk * p.nRep + row % p.nRep;
    let r = (b * H + h) * p.Tq + i;
    let lse = Lin[r];
    let di = DVin[r];
    // A row with no visible key (L = −∞) contributes nothing.
    let lim = select(keyLimit(i), -1, lse == p.negInf);
    let qe = p.qOff + b * p.qSb + h * p.qSh + i * p.qSt;
    var accS: array<vec4<f32>, TN>;
    var accP: array<vec4<f32>, TN>;
    for (var u = 0u; u < TN; u++) {
      accS[u] = vec4<f32>(0.0);
      accP[u] = vec4<f32>(0.0);
    }
//#chunk
    for (var dd = 0u; dd < DC$; dd++) {
      let qv = ldQ(qe, $u * CW + dd) * p.scale;
      let gv = lddO(r * D, $u * CW + dd);
      qr$[dd] = qv;
      gr$[dd] = gv;
      for (var u = 0u; u < TN; u++) {
        accS[u] = fma(qv, kk$[u * DC$ + dd], accS[u]);
        accP[u] = fma(gv, vv$[u * DC$ + dd], accP[u]);
      }
    }
//#endchunk
    var pr: array<f32, TN>;
    var ds: array<f32, TN>;
    for (var u = 0u; u < TN; u++) {
      let j = min(jl0 + u, p.Tk - 1u);
      var pv = exp(hsum(accS[u]) + maskAt(b, h, i, j) - lse);
      if (i32(jl0 + u) > lim) { pv = 0.0; }
      pr[u] = pv;
      ds[u] = pv * (hsum(accP[u]) - di);
    }
    for (var u = 0u; u < TN; u++) {
//#chunk
      for (var dd = 0u; dd < DC$; dd++) {
        dv$[u * DC$ + dd] = fma(vec4<f32>(pr[u]), gr$[dd], dv$[u * DC$ + dd]);
        dk$[u * DC$ + dd] = fma(vec4<f32>(ds[u]), qr$[dd], dk$[u * DC$ + dd]);
      }
//#endchunk
    }
  }
  for (var u = 0u; u < TN; u++) {
    let j = jl0 + u;
    if (j >= p.Tk) { continue; }
    let e = ((b * p.Hkv + hk) * p.Tk + j) * D;
//#chunk
    for (var dd = 0u; dd < DC$; dd++) {
      stdK(e, $u * CW + dd, dk$[u * DC$ + dd]);
      stdV(e, $u * CW + dd, dv$[u * DC$ + dd]);
    }
//#endchunk
  }
}
