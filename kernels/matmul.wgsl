// matmul.wgsl — batched f32 matrix multiply for CPU renderers (matmul version 1).
//
//   NN (TRANS_B = false):  C[b] = A[b] · B[b]      A: [M,K]  B: [K,N]  C: [M,N]
//   NT (TRANS_B = true):   C[b] = A[b] · B[b]ᵀ     A: [M,K]  B: [N,K]  C: [M,N]
//
// All matrices are row-major and contiguous inside one batch entry. The batch index is
// workgroup_id.z, split into two dims (z = b0 * batch1 + b1) and each operand has its own
// element offset and per-dim batch strides in the uniform block, so broadcast batch dims are
// expressed with stride 0 (e.g. A [2,3,M,K] · B [3,K,N] → strides bS0 = 0, bS1 = K*N).
//
// Entry points (same bindings, different element types):
//   main_vec4   — requires K % 4 == 0, N % 4 == 0 and all offsets/strides % 4 == 0.
//                 A and B are read with vec4 loads, C written with vec4 stores.
//   main_vec4_row — the same for M = 1 (one row per invocation instead of 16).
//   main_scalar — any M, N, K and offsets (fallback), scalar loads, k step 1.
// Any M, N, K ≥ 1 are supported: out-of-range rows/columns are clamped on load and masked on
// store, so edge tiles are correct and nothing outside C's [M,N] window is written.
//
// Dispatch: workgroups = (ceil(M / 16), ceil(N / (16 * WG_X)), batch0 * batch1).
// Tile: one invocation computes 16 rows × 16 columns (16 × 4 vec4 accumulators); the WG_X
// invocations of a workgroup take interleaved vec4 column groups (column vec4 index
// = wid.y * 4 * WG_X + c * WG_X + lid.x), i.e. a workgroup covers a 16 × (16·WG_X) block.
// Rows go on workgroup_id.x so consecutively scheduled workgroups share the same B column
// strip (it stays in L2); putting columns on x halved throughput on llvmpipe.
// Limits: each binding ≤ maxStorageBufferBindingSize (128 MiB on llvmpipe); batch ≤ 65535;
// ceil(M/16) ≤ 65535. No workgroup memory is used.
//
// Why this shape (version 1; the measurements are in bench/results/llvmpipe-tuning.md): llvmpipe
// runs WG_X invocations as SIMD lanes (8 at 256-bit, 16 with LP_NATIVE_VECTOR_WIDTH=512). FMAs are
// cheap, but every storage *and* workgroup-memory load is a per-lane scalar loop with bounds
// checks, so the kernel is bound by the number of load instructions per FMA: (1/TM + 1/TN) per k.
// 16×16 per lane is the sweet spot (32×32 spills and takes minutes to compile); workgroup-memory
// tiles were slower (workgroup loads cost as much as storage loads, plus barriers), and so were
// textures. matmul-packed.wgsl (version 2) reads A through uniform windows for large shapes;
// GPUs take matmul-tiled.wgsl / matmul-gemv.wgsl (versions 3, 4).

struct Params {
  M: u32, N: u32, K: u32, batch1: u32,
  aOff: u32, bOff: u32, cOff: u32, _pad0: u32,
  aS0: u32, aS1: u32, bS0: u32, bS1: u32,
  cS0: u32, cS1: u32, _pad1: u32, _pad2: u32,
}

// Invocations per workgroup (= SIMD lanes of llvmpipe: 8 at 256-bit, 16 at 512-bit).
override WG_X: u32 = 8u;
// false: C = A·B (B is [K,N]);  true: C = A·Bᵀ (B is [N,K]).
override TRANS_B: bool = false;

const TM: u32 = 16u;  // rows per invocation
const TN4: u32 = 4u;  // vec4 column groups per invocation (16 columns)

@group(0) @binding(0) var<storage, read> A4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> B4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> C4: array<vec4<f32>>;
@group(0) @binding(0) var<storage, read> A1: array<f32>;
@group(0) @binding(1) var<storage, read> B1: array<f32>;
@group(0) @binding(2) var<storage, read_write> C1: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG_X, 1, 1)
fn main_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = p.M;
  let N = p.N;
  let K4 = p.K / 4u;
  let N4 = N / 4u;
  let b0 = wid.z / p.batch1;
  let b1 = wid.z % p.batch1;
  let aBase = (p.aOff + b0 * p.aS0 + b1 * p.aS1) / 4u;
  let bBase = (p.bOff + b0 * p.bS0 + b1 * p.bS1) / 4u;
  let cBase = (p.cOff + b0 * p.cS0 + b1 * p.cS1) / 4u;
  let row0 = wid.x * TM;
  let col40 = wid.y * (TN4 * WG_X) + lid.x;

  // Clamped load offsets (edge tiles read valid memory; results are masked on store).
  var aRow: array<u32, TM>;
  for (var r = 0u; r < TM; r++) {
    aRow[r] = aBase + min(row0 + r, M - 1u) * K4;
  }
  var acc: array<vec4<f32>, 64>;  // TM * TN4

  if (TRANS_B) {
    // B is [N,K]: one vec4 = 4 consecutive k of one column; 4×4 blocks are transposed in
    // registers with constant swizzles (dynamic component indices blow up compile time).
    var bRow: array<u32, 16>;  // 4 * TN4 columns
    for (var j = 0u; j < 16u; j++) {
      bRow[j] = bBase + min((col40 + (j / 4u) * WG_X) * 4u + (j % 4u), N - 1u) * K4;
    }
    for (var k4 = 0u; k4 < K4; k4++) {
      var a: array<vec4<f32>, TM>;
      for (var r = 0u; r < TM; r++) { a[r] = A4[aRow[r] + k4]; }
      // t[c * 4 + kk] = columns 4c..4c+3 at k = 4·k4 + kk.
      var t: array<vec4<f32>, 16>;
      for (var c = 0u; c < TN4; c++) {
        let q0 = B4[bRow[c * 4u] + k4];
        let q1 = B4[bRow[c * 4u + 1u] + k4];
        let q2 = B4[bRow[c * 4u + 2u] + k4];
        let q3 = B4[bRow[c * 4u + 3u] + k4];
        t[c * 4u] = vec4<f32>(q0.x, q1.x, q2.x, q3.x);
        t[c * 4u + 1u] = vec4<f32>(q0.y, q1.y, q2.y, q3.y);
        t[c * 4u + 2u] = vec4<f32>(q0.z, q1.z, q2.z, q3.z);
        t[c * 4u + 3u] = vec4<f32>(q0.w, q1.w, q2.w, q3.w);
      }
      for (var r = 0u; r < TM; r++) {
        let av = a[r];
        for (var c = 0u; c < TN4; c++) {
          var s = acc[r * TN4 + c];
          s = fma(vec4<f32>(av.x), t[c * 4u], s);
          s = fma(vec4<f32>(av.y), t[c * 4u + 1u], s);
          s = fma(vec4<f32>(av.z), t[c * 4u + 2u], s);
          s = fma(vec4<f32>(av.w), t[c * 4u + 3u], s);
          acc[r * TN4 + c] = s;
        }
      }
    }
  } else {
    // B is [K,N]: one vec4 = 4 consecutive columns of one k.
    var bCol: array<u32, TN4>;
    for (var c = 0u; c < TN4; c++) { bCol[c] = bBase + min(col40 + c * WG_X, N4 - 1u); }
    for (var k4 = 0u; k4 < K4; k4++) {
      var a: array<vec4<f32>, TM>;
      for (var r = 0u; r < TM; r++) { a[r] = A4[aRow[r] + k4]; }
      for (var kk = 0u; kk < 4u; kk++) {
        let kRow = (k4 * 4u + kk) * N4;
        var b: array<vec4<f32>, TN4>;
        for (var c = 0u; c < TN4; c++) { b[c] = B4[bCol[c] + kRow]; }
        for (var r = 0u; r < TM; r++) {
          for (var c = 0u; c < TN4; c++) {
            acc[r * TN4 + c] = fma(vec4<f32>(a[r][kk]), b[c], acc[r * TN4 + c]);
          }
        }
      }
    }
  }

  for (var r = 0u; r < TM; r++) {
    let row = row0 + r;
    if (row < M) {
      for (var c = 0u; c < TN4; c++) {
        let col4 = col40 + c * WG_X;
        if (col4 < N4) { C4[cBase + row * N4 + col4] = acc[r * TN4 + c]; }
      }
    }
  }
}

// One row (M = 1: the x·Wᵀ of single-token decode). main_vec4 would compute 16 copies of it
// (rows are clamped), loading A 16 times; here each invocation holds 1 row × 16 columns. Same
// column layout, vec4 requirements and dispatch as main_vec4 with ceil(M / 16) = 1.
@compute @workgroup_size(WG_X, 1, 1)
fn main_vec4_row(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let N = p.N;
  let K4 = p.K / 4u;
  let N4 = N / 4u;
  let b0 = wid.z / p.batch1;
  let b1 = wid.z % p.batch1;
  let aRow = (p.aOff + b0 * p.aS0 + b1 * p.aS1) / 4u;
  let bBase = (p.bOff + b0 * p.bS0 + b1 * p.bS1) / 4u;
  let cBase = (p.cOff + b0 * p.cS0 + b1 * p.cS1) / 4u;
  let col40 = wid.y * (TN4 * WG_X) + lid.x;
  var acc: array<vec4<f32>, TN4>;
  if (TRANS_B) {
    var bRow: array<u32, 16>;
    for (var j = 0u; j < 16u; j++) {
      bRow[j] = bBase + min((col40 + (j / 4u) * WG_X) * 4u + (j % 4u), N - 1u) * K4;
    }
    for (var k4 = 0u; k4 < K4; k4++) {
      let av = A4[aRow + k4];
      for (var c = 0u; c < TN4; c++) {
        // Column 4c + i is dot(av, row i of this 4×4 block of B).
        acc[c] += vec4<f32>(dot(av, B4[bRow[c * 4u] + k4]), dot(av, B4[bRow[c * 4u + 1u] + k4]),
                            dot(av, B4[bRow[c * 4u + 2u] + k4]), dot(av, B4[bRow[c * 4u + 3u] + k4]));
      }
    }
  } else {
    var bCol: array<u32, TN4>;
    for (var c = 0u; c < TN4; c++) { bCol[c] = bBase + min(col40 + c * WG_X, N4 - 1u); }
    for (var k4 = 0u; k4 < K4; k4++) {
      let av = A4[aRow + k4];
      for (var kk = 0u; kk < 4u; kk++) {
        let kRow = (k4 * 4u + kk) * N4;
        for (var c = 0u; c < TN4; c++) { acc[c] = fma(vec4<f32>(av[kk]), B4[bCol[c] + kRow], acc[c]); }
      }
    }
  }
  for (var c = 0u; c < TN4; c++) {
    let col4 = col40 + c * WG_X;
    if (col4 < N4) { C4[cBase + col4] = acc[c]; }
  }
}

// Fallback for any K, N and offsets: scalar loads, k step 1, and a narrower tile: each
// invocation computes 16 rows × 4 columns (column = (wid.y * WG_X + lid.x) * 4 + j), so the
// dispatch is (ceil(M / 16), ceil(N / (4 * WG_X)), batch).
@compute @workgroup_size(WG_X, 1, 1)
fn main_scalar(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = p.M;
  let N = p.N;
  let K = p.K;
  let b0 = wid.z / p.batch1;
  let b1 = wid.z % p.batch1;
  let aBase = p.aOff + b0 * p.aS0 + b1 * p.aS1;
  let bBase = p.bOff + b0 * p.bS0 + b1 * p.bS1;
  let cBase = p.cOff + b0 * p.cS0 + b1 * p.cS1;
  let row0 = wid.x * TM;
  let colBase = (wid.y * WG_X + lid.x) * 4u;

  var aRow: array<u32, TM>;
  for (var r = 0u; r < TM; r++) { aRow[r] = aBase + min(row0 + r, M - 1u) * K; }
  // NN: element (k, col) at bBase + k * N + col.   NT: at bBase + col * K + k.
  let c0 = min(colBase, N - 1u);
  let c1 = min(colBase + 1u, N - 1u);
  let c2 = min(colBase + 2u, N - 1u);
  let c3 = min(colBase + 3u, N - 1u);
  let colMul = select(1u, K, TRANS_B);
  let bStep = select(N, 1u, TRANS_B);
  let i0 = bBase + c0 * colMul;
  let i1 = bBase + c1 * colMul;
  let i2 = bBase + c2 * colMul;
  let i3 = bBase + c3 * colMul;
  var acc: array<vec4<f32>, TM>;
  for (var k = 0u; k < K; k++) {
    let kb = k * bStep;
    let b = vec4<f32>(B1[i0 + kb], B1[i1 + kb], B1[i2 + kb], B1[i3 + kb]);
    for (var r = 0u; r < TM; r++) {
      acc[r] = fma(vec4<f32>(A1[aRow[r] + k]), b, acc[r]);
    }
  }
  for (var r = 0u; r < TM; r++) {
    let row = row0 + r;
    if (row < M) {
      let o = cBase + row * N + colBase;
      let v = acc[r];
      if (colBase < N) { C1[o] = v.x; }
      if (colBase + 1u < N) { C1[o + 1u] = v.y; }
      if (colBase + 2u < N) { C1[o + 2u] = v.z; }
      if (colBase + 3u < N) { C1[o + 3u] = v.w; }
    }
  }
}
