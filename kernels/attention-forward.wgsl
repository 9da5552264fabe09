// attention-forward.wgsl — flash-style attention forward for CPU renderers (llvmpipe): rows in
// registers, one lane per row (version 1 of the attention forward; the GPU variant is
// attention-forward-tiled.wgsl). (Prefixed with kernels/attention-common.wgsl: Params, Q/K/V
// loads, masks.)
//
// forward: workgroup_size WG; lane = ks·LR + rs (LR row slots × LK key slots). A lane keeps TM
//   rows in registers (q pre-scaled by `scale`, o accumulators: 2·TM·D floats) and walks keys
//   j = ks, ks + LK, …: per key, D/4 K and D/4 V vec4 loads feed 2·TM·D FMAs; the running
//   max/sum/o are rescaled per key (branch-free: exp(−∞) = 0 handles masked keys).
//   LK = 1 (prefill): lanes are rows.  LK > 1 (decode: few rows, long Tk): the keys are split
//   over LK lanes and the partial (m, l, o) states are merged through workgroup memory
//   (WG·TM·(D+2) floats ≤ 32 KiB).  Grid: (ceil(nRep·Tq / (LR·TM)), B·Hkv).
// Bindings: 0 Q, 1 K, 2 V, 3 MASK, 4 O, 5 L; uniforms at 15.
// Limits: D ≤ 128 (register tiles), every binding ≤ maxStorageBufferBindingSize, grid dims ≤ 65535.
//
// llvmpipe notes (see kernels/matmul.wgsl): every SSBO load is a per-lane scalar loop, so the
// kernel is bound by loads per FMA: 4·TM FMAs per vec4 K/V load here. Uniform-address loads
// (all lanes read the same K row) cost as much as distinct ones. Mesa unrolls only short loops
// (< ~28 iterations, small bodies); a loop left rolled makes register-array indexing indirect
// and runs several times slower — hence the chunking (TM·CW ≤ 64 per loop body) and the
// separate rescale loop. Barriers in the key loop (splitting D over lanes) cost more than they
// saved. Numbers: bench/results/attention.md.

const SH_O: u32 = select(1u, LR * LK * TM * D4, LK > 1u);
const SH_ML: u32 = select(1u, LR * LK * TM, LK > 1u);

var<workgroup> shO: array<vec4<f32>, SH_O>;
var<workgroup> shM: array<f32, SH_ML>;
var<workgroup> shL: array<f32, SH_ML>;


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
