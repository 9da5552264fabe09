// attention-forward-tiled.wgsl — flash attention forward for real GPUs (version 2 of the
// attention forward; version 1, attention-forward.wgsl, keeps rows in per-lane registers for
// CPU renderers). (Prefixed with kernels/attention-common.wgsl: Params, Q/K/V loads, masks,
// the O and L outputs.)
//
// A workgroup of WG = 128 invocations owns BR = 64 flattened rows of one (b, hk) (GQA: the nRep
// query heads of a kv head share every K/V tile) and walks the visible keys in blocks of BC = 32
// with an online softmax (FlashAttention-2 order: the running max and sum are per row, O is
// rescaled once per block):
//   1. S = scale·Q Kᵀ for the 64 × 32 block, as a small matmul over d-slabs of DS vec4: the slab
//      of Q (64 × DS) and of K (32 × DS) are staged in workgroup memory, each invocation owns
//      4 rows × 4 keys (rows rg + 16·i, keys kg + 8·u: the strided choice makes the vec4 reads
//      of both slabs hit distinct banks) and does 16 dot4 per 8 vec4 reads.
//   2. The scores (masked: causal, additive mask, keys ≥ Tk) go to workgroup memory; the first 64
//      invocations each own one row's running max m and sum l (kept in registers across blocks),
//      turn its 32 scores into P = exp(S − m_new) and publish the rescale factor exp(m − m_new).
//   3. The V block (32 × D) is staged (in the space the slabs used) and O += P·V: each
//      invocation owns the same 4 rows × DV = ceil(D/32) vec4 columns (cg + 8·c), reading one
//      vec4 of P (its 4 rows, stored row-permuted) and DV vec4 of V per key.
// At the end O /= l and L = m + log l (O = 0, L = −∞ for rows with no visible key).
// Workgroup memory: (max(96·(DS+1), 32·D/4) + 512 + 32) vec4 — 24.5 KiB at D = 128; the launcher
// falls back to version 1 when the device allows less. Dispatch (ceil(nRep·Tq / 64), B·Hkv).
// Consts: D (≤ 128), DS; flags VEC4, MASK as attention-common.wgsl.

const RG: u32 = 16u;           // row groups  (rows per invocation: BR / RG = 4)
const KG: u32 = 8u;            // key groups  (keys per invocation: BC / KG = 4)
const BR: u32 = 64u;
const BC: u32 = 32u;
const TWG: u32 = RG * KG;      // 128 invocations
const DS: u32 = 8u;            // d-slab width in vec4
const SLAB: u32 = DS + 1u;     // padded slab row (vec4)
const DV: u32 = (D4 + KG - 1u) / KG;
const BUFV: u32 = max((BR + BC) * SLAB, BC * D4);

var<workgroup> buf: array<vec4<f32>, BUFV>;   // Q and K slabs, then the V block
var<workgroup> ps: array<vec4<f32>, BC * BR / 4u>;  // scores / P: [key][row slot], 4 slots per vec4
var<workgroup> alpha: array<vec4<f32>, BR / 4u>;    // per row slot: rescale, then 1/l at the end

// Row slot of row-in-block r = rg + 16·i is rg·4 + i, so an invocation's 4 rows are one vec4.
fn slotRow(slot: u32) -> u32 { return slot / 4u + RG * (slot % 4u); }

@compute @workgroup_size(TWG)
fn forward_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  touchMask();
  let b = wid.y / p.Hkv;
  let hk = wid.y % p.Hkv;
  let H = p.Hkv * p.nRep;
  let rowWg = wid.x * BR;
  let rg = t / KG;
  let kg = t % KG;
  let kEnd = keyEnd(min(p.rows, rowWg + BR) - 1u);
  let kBase = p.kOff + b * p.kSb + hk * p.kSh;
  let vBase = p.vOff + b * p.vSb + hk * p.vSh;

  // This invocation's 4 rows: query index, head, causal limit (−1 past the last row).
  var qi: array<u32, 4>;
  var hh: array<u32, 4>;
  var lim: array<i32, 4>;
  for (var i = 0u; i < 4u; i++) {
    let row = rowWg + rg + RG * i;
    let rr = min(row, p.rows - 1u);
    qi[i] = rr / p.nRep;
    hh[i] = hk * p.nRep + rr % p.nRep;
    lim[i] = select(-1, keyLimit(qi[i]), row < p.rows);
  }
  // Softmax state of row slot t (invocations t < BR).
  var m = p.negInf;
  var l = 0.0;
  var o: array<vec4<f32>, 4 * DV>;

  for (var k0 = 0u; k0 < kEnd; k0 += BC) {
    // 1. S block over d-slabs.
    var s: array<vec4<f32>, 4>;  // s[i][u]: row i, key u
    for (var d0 = 0u; d0 < D4; d0 += DS) {
      for (var e = t; e < (BR + BC) * DS; e += TWG) {
        let r = e / DS;
        let dd = e % DS;
        var v = vec4<f32>(0.0);
        if (d0 + dd < D4) {
          if (r < BR) {
            let rr = min(rowWg + r, p.rows - 1u);
            let h = hk * p.nRep + rr % p.nRep;
            v = ldQ(p.qOff + b * p.qSb + h * p.qSh + (rr / p.nRep) * p.qSt, d0 + dd);
          } else {
            let j = min(k0 + r - BR, p.Tk - 1u);
            v = ldK(kBase + j * p.kSt, d0 + dd);
          }
        }
        buf[r * SLAB + dd] = v;
      }
      workgroupBarrier();
      for (var dd = 0u; dd < DS; dd++) {
        var q: array<vec4<f32>, 4>;
        var kk: array<vec4<f32>, 4>;
        for (var i = 0u; i < 4u; i++) { q[i] = buf[(rg + RG * i) * SLAB + dd]; }
        for (var u = 0u; u < 4u; u++) { kk[u] = buf[(BR + kg + KG * u) * SLAB + dd]; }
        for (var i = 0u; i < 4u; i++) {
          s[i] += vec4<f32>(dot(q[i], kk[0]), dot(q[i], kk[1]), dot(q[i], kk[2]), dot(q[i], kk[3]));
        }
      }
      workgroupBarrier();
    }
    // 2. Masked scores → ps[key][slot]; then each row's owner updates m, l and writes P.
    for (var u = 0u; u < 4u; u++) {
      let j = k0 + kg + KG * u;
      var sv: vec4<f32>;
      for (var i = 0u; i < 4u; i++) {
        var x = s[i][u] * p.scale + maskAt(b, hh[i], qi[i], min(j, p.Tk - 1u));
        if (i32(j) > lim[i] || j >= p.Tk) { x = p.negInf; }
        sv[i] = x;
      }
      ps[(kg + KG * u) * (BR / 4u) + rg] = sv;
    }
    workgroupBarrier();
    if (t < BR) {
      var mx = m;
      for (var j = 0u; j < BC; j++) { mx = max(mx, ps[j * (BR / 4u) + t / 4u][t % 4u]); }
      let safe = select(mx, 0.0, mx == p.negInf);
      let al = exp(m - safe);
      var sum = 0.0;
      for (var j = 0u; j < BC; j++) {
        let pr = exp(ps[j * (BR / 4u) + t / 4u][t % 4u] - safe);
        ps[j * (BR / 4u) + t / 4u][t % 4u] = pr;
        sum += pr;
      }
      l = l * al + sum;
      m = mx;
      alpha[t / 4u][t % 4u] = al;
    }
    // 3. V block, then O = O·alpha + P·V.
    for (var e = t; e < BC * D4; e += TWG) {
      let j = min(k0 + e / D4, p.Tk - 1u);
      buf[e] = ldV(vBase + j * p.vSt, e % D4);
    }
    workgroupBarrier();
    let al4 = alpha[rg];
    for (var i = 0u; i < 4u; i++) {
      for (var c = 0u; c < DV; c++) { o[i * DV + c] *= al4[i]; }
    }
    for (var j = 0u; j < BC; j++) {
      let pr = ps[j * (BR / 4u) + rg];
      for (var c = 0u; c < DV; c++) {
        let v = buf[j * D4 + min(kg + KG * c, D4 - 1u)];
        for (var i = 0u; i < 4u; i++) { o[i * DV + c] = fma(vec4<f32>(pr[i]), v, o[i * DV + c]); }
      }
    }
    workgroupBarrier();
  }

  // Row owners publish 1/l (0 for rows that saw no key) and write L.
  if (t < BR) {
    let row = rowWg + slotRow(t);
    let empty = m == p.negInf;
    alpha[t / 4u][t % 4u] = select(1.0 / l, 0.0, empty);
    if (row < p.rows) {
      let h = hk * p.nRep + row % p.nRep;
      Lout[(b * H + h) * p.Tq + row / p.nRep] = select(m + log(l), p.negInf, empty);
    }
  }
  workgroupBarrier();
  let inv = alpha[rg];
  for (var i = 0u; i < 4u; i++) {
    let row = rowWg + rg + RG * i;
    if (row >= p.rows) { continue; }
    let r = (b * H + hh[i]) * p.Tq + qi[i];
    for (var c = 0u; c < DV; c++) {
      let d4 = kg + KG * c;
      if (d4 < D4) { stO(r * D, d4, o[i * DV + c] * inv[i]); }
    }
  }
}
