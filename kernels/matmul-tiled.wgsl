// matmul-tiled.wgsl — batched f32 C = A·B or A·Bᵀ for real GPUs: workgroup-memory tiles,
// register blocking, f32 accumulation; B may be stored as f16 (the F16B variant, weights).
// (The CPU-renderer kernels are matmul.wgsl and matmul-packed.wgsl; matmul-gemv.wgsl serves
// M ≤ 8 on GPUs. packages/webgpu/src/kernels/matmul.ts chooses.)
//
//   NN (TRANS_B = false):  C[b] = A[b] · B[b]      A: [M,K]  B: [K,N]  C: [M,N]
//   NT (TRANS_B = true):   C[b] = A[b] · B[b]ᵀ     A: [M,K]  B: [N,K]  C: [M,N]
// Row-major, contiguous inside a batch entry; batch entries as in matmul.wgsl (same uniform
// block). (Prefixed with kernels/matmul-common.wgsl: Params, bindings, bases(), the F16B alias.)
//
// Tiling: a workgroup computes a BM × BN block of C with WG = (BM/TM)·(BN/TN) invocations, each
// holding TM × TN accumulators in registers. K is walked in slabs of BK: the A slab (BM × BK)
// and the B slab (BK × BN) are staged in workgroup memory, both laid out k-major (As[k][m],
// Bs[k][n]) so that the inner loop reads each thread's TM rows and TN columns as vec4s:
// TM/4 + TN/4 vec4 loads feed TM·TN FMAs per k. A thread's rows are TM/4 groups of 4 spread
// BM/(TM/4) apart (columns likewise), so the 16 threads sharing a row group read 16 consecutive
// vec4s of Bs (no bank conflicts) and one broadcast vec4 of As. Rows of As/Bs are padded by 4
// floats, so the transposing stores of an A slab (and of an NT B slab) conflict 2-way instead
// of 16-way.
// Double buffering through registers: the next slab is loaded from global memory into
// registers before the FMAs on the current one, and stored to workgroup memory after them.
// Global loads are scalar and coalesced (consecutive invocations read consecutive addresses):
// A and NT-B slabs along k, NN-B slabs along n. Out-of-range rows, columns and k read as 0
// (clamped address, then select), so M, N, K need not be tile multiples; stores are masked.
//
// Workgroup memory: BK·(BM + 4 + BN + 4)·4 bytes (BM = BN = 128, BK = 16: 16.5 KiB; the launcher
// picks BK = 8 when the device allows less). Dispatch: (ceil(N / BN), ceil(M / BM), batch);
// consecutive workgroups share an A row block.
// Consts (per configuration, packages/webgpu/src/kernels/common.ts specialize): BM, BN, BK, TM,
// TN; flags TRANS_B, F16B (B bound as array<f16>: needs the device feature shader-f16).
// Limits: each binding ≤ maxStorageBufferBindingSize; ceil(M / BM), ceil(N / BN), batch ≤ 65535.

const BM: u32 = 128u;
const BN: u32 = 128u;
const BK: u32 = 16u;
const TM: u32 = 8u;
const TN: u32 = 8u;
const WG: u32 = (BM / TM) * (BN / TN);
const PAD: u32 = 4u;
const AS4: u32 = (BM + PAD) / 4u;  // vec4s per k-row of As
const BS4: u32 = (BN + PAD) / 4u;
const A_PER: u32 = BM * BK / WG;   // slab elements each invocation loads
const B_PER: u32 = BN * BK / WG;
const TM4: u32 = TM / 4u;
const TN4: u32 = TN / 4u;

var<workgroup> As: array<vec4<f32>, BK * AS4>;
var<workgroup> Bs: array<vec4<f32>, BK * BS4>;

//#if TRANS_B
const TRANS_B: bool = true;
//#else
const TRANS_B: bool = false;
//#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let M = p.M;
  let N = p.N;
  let K = p.K;
  let base = bases(wid.z);
  let aBase = base.a;
  let bBase = base.b;
  let cBase = base.c;
  let row0 = wid.y * BM;
  let col0 = wid.x * BN;

  // This invocation's accumulator block: row groups ty·4 + g·(BM/TM4), column groups likewise.
  let tx = tid % (BN / TN);
  let ty = tid / (BN / TN);

  // Slab element i of this invocation: A (m, k) with k fastest; B (k, n) with n fastest (NN)
  // or (n, k) with k fastest (NT).
  var ra: array<f32, A_PER>;
  var rb: array<f32, B_PER>;

  var acc: array<vec4<f32>, TM * TN4>;
  let slabs = (K + BK - 1u) / BK;

  // Slab 0: global → registers.
  for (var i = 0u; i < A_PER; i++) { ra[i] = loadA(aBase, row0, 0u, tid + i * WG); }
  for (var i = 0u; i < B_PER; i++) { rb[i] = loadB(bBase, col0, 0u, tid + i * WG); }

  for (var s = 0u; s < slabs; s++) {
    // registers → workgroup memory (k-major; A and NT-B transposed on the way)
    for (var i = 0u; i < A_PER; i++) {
      let e = tid + i * WG;
      let m = e / BK;
      let k = e % BK;
      As[k * AS4 + m / 4u][m % 4u] = ra[i];
    }
    for (var i = 0u; i < B_PER; i++) {
      let e = tid + i * WG;
      var n = e % BN;
      var k = e / BN;
      if (TRANS_B) { n = e / BK; k = e % BK; }
      Bs[k * BS4 + n / 4u][n % 4u] = rb[i];
    }
    workgroupBarrier();
    // Next slab's global loads are issued before this slab's FMAs (their latency overlaps).
    if (s + 1u < slabs) {
      let k0 = (s + 1u) * BK;
      for (var i = 0u; i < A_PER; i++) { ra[i] = loadA(aBase, row0, k0, tid + i * WG); }
      for (var i = 0u; i < B_PER; i++) { rb[i] = loadB(bBase, col0, k0, tid + i * WG); }
    }
    for (var k = 0u; k < BK; k++) {
      var a: array<vec4<f32>, TM4>;
      var b: array<vec4<f32>, TN4>;
      for (var g = 0u; g < TM4; g++) { a[g] = As[k * AS4 + ty + g * (BM / TM)]; }
      for (var h = 0u; h < TN4; h++) { b[h] = Bs[k * BS4 + tx + h * (BN / TN)]; }
      for (var g = 0u; g < TM4; g++) {
        for (var i = 0u; i < 4u; i++) {
          let av = vec4<f32>(a[g][i]);
          for (var h = 0u; h < TN4; h++) {
            let r = (g * 4u + i) * TN4 + h;
            acc[r] = fma(av, b[h], acc[r]);
          }
        }
      }
    }
    workgroupBarrier();
  }

  for (var g = 0u; g < TM4; g++) {
    for (var i = 0u; i < 4u; i++) {
      let row = row0 + (ty + g * (BM / TM)) * 4u + i;
      if (row >= M) { continue; }
      for (var h = 0u; h < TN4; h++) {
        let col = col0 + (tx + h * (BN / TN)) * 4u;
        let v = acc[(g * 4u + i) * TN4 + h];
        let o = cBase + row * N + col;
        if (col < N) { C[o] = v.x; }
        if (col + 1u < N) { C[o + 1u] = v.y; }
        if (col + 2u < N) { C[o + 2u] = v.z; }
        if (col + 3u < N) { C[o + 3u] = v.w; }
      }
    }
  }
}

// Element e of A's slab at k0 (m = e / BK, k = e % BK), 0 outside [M, K].
fn loadA(aBase: u32, row0: u32, k0: u32, e: u32) -> f32 {
  let row = row0 + e / BK;
  let k = k0 + e % BK;
  let v = A[aBase + min(row, p.M - 1u) * p.K + min(k, p.K - 1u)];
  return select(0.0, v, row < p.M && k < p.K);
}

// Element e of B's slab at k0: (k = e / BN, n = e % BN) for NN, (n = e / BK, k = e % BK) for NT.
fn loadB(bBase: u32, col0: u32, k0: u32, e: u32) -> f32 {
  var n = col0 + e % BN;
  var k = k0 + e / BN;
  if (TRANS_B) {
    n = col0 + e / BK;
    k = k0 + e % BK;
  }
  let nc = min(n, p.N - 1u);
  let kc = min(k, p.K - 1u);
  let i = select(bBase + kc * p.N + nc, bBase + nc * p.K + kc, TRANS_B);
  // k ≥ K is zeroed on both sides (either would do for finite data; both keep an infinite B
  // element at k = K − 1 from turning the padding into NaN).
  return select(0.0, f32(B[i]), n < p.N && k < p.K);
}
