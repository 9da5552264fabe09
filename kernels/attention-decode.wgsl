// attention-decode.wgsl — attention forward for few query rows against a long KV cache (decode:
// Tq = 1, or a few rows per kv head) on real GPUs, split over the keys (flash-decoding). The
// tiled forward (attention-forward-tiled.wgsl) would run one 64-row workgroup per kv head,
// mostly idle, walking all keys alone; here every chunk of CK keys gets its own workgroup.
// (Prefixed with kernels/attention-common.wgsl: Params, Q/K/V loads, masks, O and L outputs.)
//
//   decode_partial: workgroup (chunk c, b·Hkv + hk) with CK = WG = 128 invocations, all R ≤ RMAX
//     flattened rows of that kv head (GQA rows share the chunk's K/V reads):
//       1. Q rows → workgroup memory; invocation t takes key j = c·CK + t and computes its R
//          scores (its K row read once, as vec4s).
//       2. The R row owners (t < R) take max m and sum l of exp(s − m) over the chunk's scores.
//       3. o[r] = Σ_j exp(s − m)·V[j]: invocations take (row, d-vec4) items in rounds and, when
//          the items are fewer than WG, split the keys too (partials summed in workgroup memory).
//     Writes PO[row, c, :] (o, unnormalised), PML[row, c] = (m, l).
//   decode_merge: one invocation per (row, d-vec4): M = max_c m_c, l = Σ_c l_c·e^(m_c − M),
//     O = Σ_c o_c·e^(m_c − M) / l and L = M + log l (O = 0, L = −∞ when no key was visible).
// Bindings: 0 Q, 1 K, 2 V, 3 MASK; decode_partial 4 PO (rw), 5 PML (rw); decode_merge 4 O, 5 L,
// 6 PO, 7 PML; uniforms at 15 (attention-common's Params; `rows` = nRep·Tq = R).
// Scratch: PO B·H·Tq·chunks·D4 vec4, PML B·H·Tq·chunks·2 f32 ("row" = the output row (b, h, i)).
// Dispatch: decode_partial (chunks, B·Hkv); decode_merge (ceil(B·H·Tq·D4 / WG)).
// Consts: D, RMAX (≤ 16), CHUNKS (the launcher's chunk count).

const CK: u32 = 128u;
const RMAX: u32 = 8u;
const CHUNKS: u32 = 1u;

@group(0) @binding(4) var<storage, read_write> PO: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> PML: array<vec2<f32>>;
@group(0) @binding(6) var<storage, read> POin: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> PMLin: array<vec2<f32>>;

var<workgroup> qs: array<vec4<f32>, RMAX * D4>;
var<workgroup> ss: array<f32, RMAX * CK>;        // scores, then exp(s − m), [row][key]
var<workgroup> red: array<vec4<f32>, CK>;        // split-key partial sums of o

// Output row index (b, h, i) of flattened row ρ of kv head hk.
fn outRow(b: u32, hk: u32, rho: u32) -> u32 {
  let h = hk * p.nRep + rho % p.nRep;
  return (b * p.Hkv * p.nRep + h) * p.Tq + rho / p.nRep;
}

@compute @workgroup_size(CK)
fn decode_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  touchMask();
  let c = wid.x;
  let b = wid.y / p.Hkv;
  let hk = wid.y % p.Hkv;
  let R = p.rows;
  // 1. Q rows, then this invocation's key's scores.
  for (var e = t; e < R * D4; e += CK) {
    let rho = e / D4;
    let h = hk * p.nRep + rho % p.nRep;
    qs[e] = ldQ(p.qOff + b * p.qSb + h * p.qSh + (rho / p.nRep) * p.qSt, e % D4);
  }
  workgroupBarrier();
  let j = c * CK + t;
  let jc = min(j, p.Tk - 1u);
  let ke = p.kOff + b * p.kSb + hk * p.kSh + jc * p.kSt;
  var s: array<f32, RMAX>;
  for (var d4 = 0u; d4 < D4; d4++) {
    let kv = ldK(ke, d4);
    for (var r = 0u; r < RMAX; r++) { s[r] += dot(qs[min(r, R - 1u) * D4 + d4], kv); }
  }
  for (var r = 0u; r < RMAX; r++) {
    if (r >= R) { break; }
    let h = hk * p.nRep + r % p.nRep;
    let i = r / p.nRep;
    var x = s[r] * p.scale + maskAt(b, h, i, jc);
    if (j >= p.Tk || i32(j) > keyLimit(i)) { x = p.negInf; }
    ss[r * CK + t] = x;
  }
  workgroupBarrier();
  // 2. Row owners: chunk max and sum; ss becomes exp(s − m).
  if (t < R) {
    var mx = p.negInf;
    for (var k = 0u; k < CK; k++) { mx = max(mx, ss[t * CK + k]); }
    let safe = select(mx, 0.0, mx == p.negInf);
    var sum = 0.0;
    for (var k = 0u; k < CK; k++) {
      let e = exp(ss[t * CK + k] - safe);
      ss[t * CK + k] = e;
      sum += e;
    }
    PML[outRow(b, hk, t) * CHUNKS + c] = vec2<f32>(mx, sum);
  }
  workgroupBarrier();
  // 3. o = P·V over the chunk, per item (row, d4): `splits` invocations share an item's keys
  // when items are fewer than CK (their partials meet in `red`); rounds of CK / splits items.
  let items = R * D4;
  var splits = 1u;
  while (splits * 2u * items <= CK) { splits *= 2u; }
  let per = CK / splits;
  let part = t / per;
  for (var base = 0u; base < items; base += per) {
    let item = base + t % per;
    let r = min(item / D4, R - 1u);
    let d4 = item % D4;
    var acc = vec4<f32>(0.0);
    for (var k = part; k < CK; k += splits) {
      let jv = min(c * CK + k, p.Tk - 1u);
      acc = fma(vec4<f32>(ss[r * CK + k]), ldV(p.vOff + b * p.vSb + hk * p.vSh + jv * p.vSt, d4), acc);
    }
    red[t] = acc;
    workgroupBarrier();
    if (part == 0u && item < items) {
      var o = red[t];
      for (var q = 1u; q < splits; q++) { o += red[t + q * per]; }
      PO[(outRow(b, hk, r) * CHUNKS + c) * D4 + d4] = o;
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(CK)
fn decode_merge(@builtin(global_invocation_id) gid: vec3<u32>) {
  // layout 'auto' keeps only used bindings and the launcher binds Q, K, V, MASK here too (a
  // phony `_ = arrayLength(&Q)` does not keep them here); outRows is never 0.
  if (p.outRows == 0u) { Lout[0] = ldQ(0u, 0u).x + ldK(0u, 0u).x + ldV(0u, 0u).x + MASK[0]; }
  let row = gid.x / D4;
  let d4 = gid.x % D4;
  if (row >= p.outRows) { return; }
  var mx = p.negInf;
  for (var c = 0u; c < CHUNKS; c++) { mx = max(mx, PMLin[row * CHUNKS + c].x); }
  if (mx == p.negInf) {
    stO(row * D, d4, vec4<f32>(0.0));
    if (d4 == 0u) { Lout[row] = p.negInf; }
    return;
  }
  var l = 0.0;
  var o = vec4<f32>(0.0);
  for (var c = 0u; c < CHUNKS; c++) {
    let ml = PMLin[row * CHUNKS + c];
    let w = exp(ml.x - mx);
    l += ml.y * w;
    o = fma(vec4<f32>(w), POin[(row * CHUNKS + c) * D4 + d4], o);
  }
  stO(row * D, d4, o / l);
  if (d4 == 0u) { Lout[row] = mx + log(l); }
}
