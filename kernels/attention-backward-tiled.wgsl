// attention-backward-tiled.wgsl — flash attention backward for real GPUs (version 2 of the
// attention backward; version 1, attention-backward.wgsl, keeps rows or keys in per-lane
// registers for CPU renderers). (Prefixed with kernels/attention-common.wgsl.)
//
// FlashAttention-2 recomputation from the forward's L: P = exp(scale·Q Kᵀ + mask − L),
// dP = dO Vᵀ, Dᵢ = rowsum(dO∘O), dS = P∘(dP − Dᵢ); dQ = scale·dS K, dK = scale·dSᵀ Q, dV = Pᵀ dO.
// Both entries compute S and dP for a block of rows × 32 keys as small matmuls over d-slabs of DS
// vec4 (Q, dO, K and V slabs staged in workgroup memory), as attention-forward-tiled.wgsl does.
//   backward_dq_tiled: a workgroup (128 invocations) owns 64 rows of (b, hk) (GQA rows grouped)
//     and walks their visible keys in blocks of 32: dS goes to workgroup memory, the K block is
//     staged, and each invocation accumulates dQ for 4 rows × ceil(D/32) vec4 columns. It first
//     writes Dᵢ (for backward_dkdv_tiled: dispatch it first).
//   backward_dkdv_tiled: a workgroup owns 32 keys of (b, hk) and walks the rows that see them in
//     blocks of 32 (all nRep heads of the group, so dK and dV are summed without atomics): P and
//     dS go to workgroup memory, the blocks' Q and dO rows are staged RSUB at a time, and each
//     invocation accumulates dK and dV for 4 keys × ceil(D/64) vec4 columns.
// Workgroup memory: dq (max(192·(DS+1), 32·D/4) + 512 + 32) vec4, dkdv (max(128·(DS+1),
// 2·RSUB·D/4) + 512) vec4 — under 25 KiB at D = 128; the launcher falls back to version 1
// when the device allows less. Dispatch: dq (ceil(nRep·Tq / 64), B·Hkv), dkdv (ceil(Tk / 32), B·Hkv).
// Bindings as attention-backward.wgsl: 0 Q, 1 K, 2 V, 3 MASK, 4 dO, 5 L; dq: 6 O, 7 Dvec (out),
// 8 dQ; dkdv: 6 Dvec, 7 dK, 8 dV; uniforms at 15. Consts: D (≤ 128), DS; flags VEC4, MASK.

const RG: u32 = 16u;
const KG: u32 = 8u;
const BR: u32 = 64u;            // rows per workgroup (dq)
const BC: u32 = 32u;            // keys per block
const BRB: u32 = 32u;           // rows per block (dkdv)
const TWG: u32 = 128u;
const DS: u32 = 4u;
const SLAB: u32 = DS + 1u;
const DV: u32 = (D4 + KG - 1u) / KG;       // dq: vec4 columns per invocation (kg + 8·c)
const DC2: u32 = (D4 + 15u) / 16u;         // dkdv: vec4 columns per invocation (cq + 16·c)
const RSUB: u32 = min(BRB, 512u / D4);     // dkdv: rows of Q and dO staged at a time
const BUFV: u32 = max(max((BR + BR + BC + BC) * SLAB, BC * D4), 2u * RSUB * D4);

var<workgroup> buf: array<vec4<f32>, BUFV>;
var<workgroup> ps: array<vec4<f32>, BC * BR / 4u>;   // dq: dS [key][row slot]; dkdv: P [row][key slot]
var<workgroup> ds2: array<vec4<f32>, BRB * BC / 4u>; // dkdv: dS [row][key slot]
var<workgroup> stat: array<vec4<f32>, BR / 4u>;      // dq: Dᵢ per row slot
var<workgroup> lstat: array<vec4<f32>, BR / 4u>;     // dq: L per row slot

fn slotRow(slot: u32) -> u32 { return slot / 4u + RG * (slot % 4u); }

// Row ρ of kv head hk: (query index, head) and the element offsets of its Q row and its dO row.
struct RowAt { i: u32, h: u32, q: u32, o: u32 }
fn rowAt(b: u32, hk: u32, rho: u32) -> RowAt {
  let i = rho / p.nRep;
  let h = hk * p.nRep + rho % p.nRep;
  let o = ((b * p.Hkv * p.nRep + h) * p.Tq + i) * D;
  return RowAt(i, h, p.qOff + b * p.qSb + h * p.qSh + i * p.qSt, o);
}

// Stages d-slab d0 of `nr` rows (from row0, Q then dO) and BC keys (from k0, K then V) at buf.
fn stageSlabs(b: u32, hk: u32, row0: u32, nr: u32, k0: u32, d0: u32, t: u32) {
  let kBase = p.kOff + b * p.kSb + hk * p.kSh;
  let vBase = p.vOff + b * p.vSb + hk * p.vSh;
  for (var e = t; e < (2u * nr + 2u * BC) * DS; e += TWG) {
    let r = e / DS;
    let dd = e % DS;
    var v = vec4<f32>(0.0);
    if (d0 + dd < D4) {
      if (r < 2u * nr) {
        let ra = rowAt(b, hk, min(row0 + r % nr, p.rows - 1u));
        if (r < nr) { v = ldQ(ra.q, d0 + dd); } else { v = lddO(ra.o, d0 + dd); }
      } else {
        let j = min(k0 + (r - 2u * nr) % BC, p.Tk - 1u);
        if (r < 2u * nr + BC) { v = ldK(kBase + j * p.kSt, d0 + dd); } else { v = ldV(vBase + j * p.vSt, d0 + dd); }
      }
    }
    buf[r * SLAB + dd] = v;
  }
}

// Column dd of the 4 staged slab rows kg + 8·u (u < 4) from slab row `first` (keys of K or V).
fn slabKeys(first: u32, kg: u32, dd: u32) -> array<vec4<f32>, 4> {
  return array<vec4<f32>, 4>(buf[(first + kg) * SLAB + dd], buf[(first + kg + KG) * SLAB + dd],
                             buf[(first + kg + 2u * KG) * SLAB + dd], buf[(first + kg + 3u * KG) * SLAB + dd]);
}

// One row's contribution at one slab column: S += q·k_u, dP += dO·v_u for the 4 keys.
struct Dots { s: vec4<f32>, dp: vec4<f32> }
fn rowDots(q: vec4<f32>, g: vec4<f32>, kk: array<vec4<f32>, 4>, vv: array<vec4<f32>, 4>) -> Dots {
  return Dots(vec4<f32>(dot(q, kk[0]), dot(q, kk[1]), dot(q, kk[2]), dot(q, kk[3])),
              vec4<f32>(dot(g, vv[0]), dot(g, vv[1]), dot(g, vv[2]), dot(g, vv[3])));
}

@compute @workgroup_size(TWG)
fn backward_dq_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  touchMask();
  let b = wid.y / p.Hkv;
  let hk = wid.y % p.Hkv;
  let rowWg = wid.x * BR;
  let rg = t / KG;
  let kg = t % KG;
  let kEnd = keyEnd(min(p.rows, rowWg + BR) - 1u);
  let kBase = p.kOff + b * p.kSb + hk * p.kSh;

  // Row owners: Dᵢ = rowsum(dO∘O) and L, to workgroup memory (and Dᵢ to Dvec for dkdv).
  if (t < BR) {
    let row = rowWg + slotRow(t);
    let ra = rowAt(b, hk, min(row, p.rows - 1u));
    var acc = vec4<f32>(0.0);
    for (var d4 = 0u; d4 < D4; d4++) { acc = fma(lddO(ra.o, d4), ldOin(ra.o, d4), acc); }
    let di = hsum(acc);
    stat[t / 4u][t % 4u] = di;
    lstat[t / 4u][t % 4u] = Lin[ra.o / D];
    if (row < p.rows) { DVout[ra.o / D] = di; }
  }
  workgroupBarrier();
  let di4 = stat[rg];
  let l4 = lstat[rg];
  var qi: array<u32, 4>;
  var hh: array<u32, 4>;
  var lim: array<i32, 4>;
  for (var i = 0u; i < 4u; i++) {
    let row = rowWg + rg + RG * i;
    let ra = rowAt(b, hk, min(row, p.rows - 1u));
    qi[i] = ra.i;
    hh[i] = ra.h;
    // Rows past the end, or with no visible key (L = −∞), get zero gradients.
    lim[i] = select(-1, keyLimit(ra.i), row < p.rows && l4[i] != p.negInf);
  }
  var dq: array<vec4<f32>, 4 * DV>;

  for (var k0 = 0u; k0 < kEnd; k0 += BC) {
    var s: array<vec4<f32>, 4>;
    var dp: array<vec4<f32>, 4>;
    for (var d0 = 0u; d0 < D4; d0 += DS) {
      stageSlabs(b, hk, rowWg, BR, k0, d0, t);
      workgroupBarrier();
      for (var dd = 0u; dd < DS; dd++) {
        let kk = slabKeys(2u * BR, kg, dd);
        let vv = slabKeys(2u * BR + BC, kg, dd);
        for (var i = 0u; i < 4u; i++) {
          let r = rowDots(buf[(rg + RG * i) * SLAB + dd], buf[(BR + rg + RG * i) * SLAB + dd], kk, vv);
          s[i] += r.s;
          dp[i] += r.dp;
        }
      }
      workgroupBarrier();
    }
    // dS = P∘(dP − Dᵢ) → ps[key][slot].
    for (var u = 0u; u < 4u; u++) {
      let j = k0 + kg + KG * u;
      var d: vec4<f32>;
      for (var i = 0u; i < 4u; i++) {
        var pr = exp(s[i][u] * p.scale + maskAt(b, hh[i], qi[i], min(j, p.Tk - 1u)) - l4[i]);
        if (i32(j) > lim[i] || j >= p.Tk) { pr = 0.0; }
        d[i] = pr * (dp[i][u] - di4[i]);
      }
      ps[(kg + KG * u) * (BR / 4u) + rg] = d;
    }
    // K block, then dQ += dS K.
    for (var e = t; e < BC * D4; e += TWG) {
      let j = min(k0 + e / D4, p.Tk - 1u);
      buf[e] = ldK(kBase + j * p.kSt, e % D4);
    }
    workgroupBarrier();
    for (var j = 0u; j < BC; j++) {
      let d = ps[j * (BR / 4u) + rg];
      for (var c = 0u; c < DV; c++) {
        let kv = buf[j * D4 + min(kg + KG * c, D4 - 1u)];
        for (var i = 0u; i < 4u; i++) { dq[i * DV + c] = fma(vec4<f32>(d[i]), kv, dq[i * DV + c]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let row = rowWg + rg + RG * i;
    if (row >= p.rows) { continue; }
    let ra = rowAt(b, hk, row);
    for (var c = 0u; c < DV; c++) {
      let d4 = kg + KG * c;
      if (d4 < D4) { stdQ(ra.o, d4, dq[i * DV + c] * p.scale); }
    }
  }
}

@compute @workgroup_size(TWG)
fn backward_dkdv_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  touchMask();
  let b = wid.y / p.Hkv;
  let hk = wid.y % p.Hkv;
  let jWg = wid.x * BC;
  // S/dP tile: rows ra + 16·i (i < 2), keys kb + 8·u.   dK/dV: keys kq + 8·u, columns cq + 16·c.
  let ra0 = t / KG;
  let kb = t % KG;
  let kq = t / 16u;
  let cq = t % 16u;
  // Causal: query i sees key j iff j ≤ Tk − Tq + i, so rows before this block's first key see none.
  var rowStart = 0u;
  if (p.causal != 0u) { rowStart = min(u32(max(i32(jWg) - (i32(p.Tk) - i32(p.Tq)), 0)), p.Tq) * p.nRep; }
  var dk: array<vec4<f32>, 4 * DC2>;
  var dv: array<vec4<f32>, 4 * DC2>;

  for (var r0 = rowStart; r0 < p.rows; r0 += BRB) {
    var s: array<vec4<f32>, 2>;
    var dp: array<vec4<f32>, 2>;
    for (var d0 = 0u; d0 < D4; d0 += DS) {
      stageSlabs(b, hk, r0, BRB, jWg, d0, t);
      workgroupBarrier();
      for (var dd = 0u; dd < DS; dd++) {
        let kk = slabKeys(2u * BRB, kb, dd);
        let vv = slabKeys(2u * BRB + BC, kb, dd);
        for (var i = 0u; i < 2u; i++) {
          let r = rowDots(buf[(ra0 + RG * i) * SLAB + dd], buf[(BRB + ra0 + RG * i) * SLAB + dd], kk, vv);
          s[i] += r.s;
          dp[i] += r.dp;
        }
      }
      workgroupBarrier();
    }
    // P and dS → [row][key slot] (key kb + 8·u at slot kb·4 + u).
    for (var i = 0u; i < 2u; i++) {
      let rin = ra0 + RG * i;
      let row = r0 + rin;
      let ra = rowAt(b, hk, min(row, p.rows - 1u));
      let lse = Lin[ra.o / D];
      let di = DVin[ra.o / D];
      let lim = select(-1, keyLimit(ra.i), row < p.rows && lse != p.negInf);
      var pv: vec4<f32>;
      var dsv: vec4<f32>;
      for (var u = 0u; u < 4u; u++) {
        let j = jWg + kb + KG * u;
        var pr = exp(s[i][u] * p.scale + maskAt(b, ra.h, ra.i, min(j, p.Tk - 1u)) - lse);
        if (i32(j) > lim || j >= p.Tk) { pr = 0.0; }
        pv[u] = pr;
        dsv[u] = pr * (dp[i][u] - di);
      }
      ps[rin * (BC / 4u) + kb] = pv;
      ds2[rin * (BC / 4u) + kb] = dsv;
    }
    // dV += Pᵀ dO, dK += dSᵀ Q over the block's rows, RSUB rows of Q and dO staged at a time.
    for (var rs = 0u; rs < BRB; rs += RSUB) {
      for (var e = t; e < RSUB * D4; e += TWG) {
        let ra = rowAt(b, hk, min(r0 + rs + e / D4, p.rows - 1u));
        buf[e] = ldQ(ra.q, e % D4);
        buf[RSUB * D4 + e] = lddO(ra.o, e % D4);
      }
      workgroupBarrier();
      for (var rr = 0u; rr < min(RSUB, BRB - rs); rr++) {
        let pr = ps[(rs + rr) * (BC / 4u) + kq];
        let dsr = ds2[(rs + rr) * (BC / 4u) + kq];
        for (var c = 0u; c < DC2; c++) {
          let d4 = min(cq + 16u * c, D4 - 1u);
          let qv = buf[rr * D4 + d4];
          let gv = buf[RSUB * D4 + rr * D4 + d4];
          for (var u = 0u; u < 4u; u++) {
            dv[u * DC2 + c] = fma(vec4<f32>(pr[u]), gv, dv[u * DC2 + c]);
            dk[u * DC2 + c] = fma(vec4<f32>(dsr[u]), qv, dk[u * DC2 + c]);
          }
        }
      }
      workgroupBarrier();
    }
  }
  for (var u = 0u; u < 4u; u++) {
    let j = jWg + kq + KG * u;
    if (j >= p.Tk) { continue; }
    let e = ((b * p.Hkv + hk) * p.Tk + j) * D;
    for (var c = 0u; c < DC2; c++) {
      let d4 = cq + 16u * c;
      if (d4 < D4) {
        stdK(e, d4, dk[u * DC2 + c] * p.scale);
        stdV(e, d4, dv[u * DC2 + c]);
      }
    }
  }
}
