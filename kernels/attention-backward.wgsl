// attention-backward.wgsl — flash-style attention backward for CPU renderers (llvmpipe): rows
// (dQ) or keys (dK, dV) in registers, one lane each (version 1 of the attention backward; the GPU
// variant is attention-backward-tiled.wgsl). (Prefixed with kernels/attention-common.wgsl.)
//
// FlashAttention-2 recomputation from the forward's L: Dᵢ = rowsum(dO∘O), P = exp(S − L),
// dS = P∘(dP − Dᵢ) with dP = dO Vᵀ.
//   backward_dq:   lanes are rows (TM per lane): writes Dᵢ and dQ = scale·dS K.
//                  Grid (ceil(nRep·Tq / (WG·TM)), B·Hkv).
//   backward_dkdv: lanes are keys (TN per lane) of kv head hk; loops over all nRep·Tq rows of
//                  the head group, so dK = dSᵀ (scale·Q) and dV = Pᵀ dO are summed over the
//                  group without atomics. Reads Dᵢ written by backward_dq (dispatch it first).
//                  Grid (ceil(Tk / (WG·TN)), B·Hkv).
// Bindings: 0 Q, 1 K, 2 V, 3 MASK; backward_dq: 4 dO, 5 L, 6 O, 7 Dvec (out), 8 dQ;
// backward_dkdv: 4 dO, 5 L, 6 Dvec, 7 dK, 8 dV; uniforms at 15.
// Limits: D ≤ 128 (register tiles), every binding ≤ maxStorageBufferBindingSize, grid dims ≤ 65535.
// llvmpipe notes: as attention-forward.wgsl.

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
