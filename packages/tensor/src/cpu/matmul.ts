/**
 * CPU matrix multiply for the plain-TypeScript backend.
 *
 * `matmulStrided` computes C = A @ B for one M×K by K×N product whose operands are
 * described by element strides and offsets, so transposed and sliced views need no copy.
 *
 * Design (GotoBLAS-style, adapted to what V8's optimizing compiler does well):
 *   - Blocking: the N dimension is cut into NC-wide blocks, K into KC-deep slices and M
 *     into MC-tall blocks. For each (NC, KC) pair a slice of B is packed once; for each MC
 *     block a slice of A is packed; then the micro-kernel sweeps MR×NR tiles.
 *   - Packing copies A into MR-row micro-panels (for each k: MR consecutive values) and B
 *     into NR-column micro-panels (for each k: NR consecutive values), in double-element JS
 *     arrays (see DoubleArray below) that live at module level and only grow. Packing reads
 *     any strides, so every layout takes the same fast path; edge panels are zero-padded.
 *   - Micro-kernel: MR×NR = 4×3 accumulators held in local variables (JS doubles), one
 *     rank-1 update per k. 4×3 measured fastest on x64 V8 among 1×8 ... 8×4 shapes (larger
 *     tiles spill: x64 has 16 XMM registers, and k-unrolling also hurt). The kernel only
 *     sees packed double arrays, so it stays monomorphic whatever the caller's dtype. It
 *     writes its tile to a small scratch, then stored/added into C (rows/cols clipped).
 *   - Accumulation is in double precision inside a KC slice; partial sums cross KC slices
 *     through C itself (so f32 outputs round once per 256-deep slice; f64 is plain double).
 *   - Tiny problems (M·N·K < SMALL_WORK) and matrix–vector shapes (M = 1 or N = 1) use
 *     direct loops, avoiding packing overhead.
 */

export type FloatArray = Float32Array | Float64Array;

/** Micro-tile rows (A micro-panel height). */
const MR = 4;
/** Micro-tile columns (B micro-panel width). */
const NR = 3;
/** K slice depth: a packed B micro-panel (KC·NR doubles = 6 KiB) stays in L1. */
const KC = 256;
/** M block height: a packed A block (MC·KC doubles = 128 KiB) stays in L2. */
const MC = MR * 16;
/** N block width (multiple of NR). */
const NC = NR * 1364;
/**
 * Below this many multiply-adds the plain loop beats packing. Measured (f32, square n):
 * plain loop 0.8–2 GFLOP/s for every n; packed path 1.35 (n=4), 2.2 (n=6), 4.5 (n=12), 5.8 (n=32).
 */
const SMALL_WORK = 128;

/**
 * Packed panels live in plain JS arrays with PACKED_DOUBLE_ELEMENTS (unboxed doubles), not in
 * Float64Arrays: once anything in the process has detached an ArrayBuffer, V8 invalidates its
 * "ArrayBufferDetaching" protector for good and every typed-array load in optimized code gains
 * a detached-buffer check. That is common: under tsx, any CommonJS require() does it (seen with
 * --trace-protector-invalidation), as does transferring buffers to workers. Measured on this
 * kernel: typed-array panels drop from ~6.8 to ~5.2 GFLOP/s after invalidation; double arrays
 * stay at ~7 either way.
 */
type DoubleArray = number[];

/** A packed (never holey) double array of length n. */
function newDoubleArray(n: number): DoubleArray {
  const arr: number[] = [];
  for (let i = 0; i < n; i++) arr.push(0.5);
  arr.fill(0);
  return arr;
}

let packA: DoubleArray = newDoubleArray(MC * KC);
let packB: DoubleArray = newDoubleArray(KC * NR * 64);
const tile: DoubleArray = newDoubleArray(MR * NR);
let rowAcc = new Float64Array(256);
let xBuf: DoubleArray = newDoubleArray(256);

function ensurePackA(n: number): DoubleArray {
  if (packA.length < n) packA = newDoubleArray(n);
  return packA;
}
function ensurePackB(n: number): DoubleArray {
  if (packB.length < n) {
    let len = packB.length;
    while (len < n) len *= 2;
    packB = newDoubleArray(len);
  }
  return packB;
}

/**
 * C = A @ B. A is M×K, B is K×N (element (i, k) of A is a[aOff + i*aRowStride + k*aColStride],
 * likewise for B; strides may be any integers, e.g. swapped for a transposed view).
 * C is written row-major, element (i, j) at c[cOff + i*ldc + j] (ldc >= N; contiguous when ldc = N,
 * the default; a larger ldc writes a column window of a wider output), and is overwritten, not
 * accumulated; elements between rows are left alone. C must not alias A or B. Float32Array and
 * Float64Array may be mixed freely.
 */
export function matmulStrided(
  a: FloatArray, aOff: number, aRowStride: number, aColStride: number,
  b: FloatArray, bOff: number, bRowStride: number, bColStride: number,
  c: FloatArray, cOff: number,
  M: number, N: number, K: number, ldc = N,
): void {
  if (!(M >= 0 && N >= 0 && K >= 0) || !Number.isInteger(M) || !Number.isInteger(N) || !Number.isInteger(K)) {
    throw new RangeError(`matmulStrided: bad sizes M=${M} N=${N} K=${K}`);
  }
  if (!Number.isInteger(ldc) || ldc < N) throw new RangeError(`matmulStrided: output row stride ${ldc} is below N=${N}`);
  if (M === 0 || N === 0) return;
  if (cOff < 0 || cOff + (M - 1) * ldc + N > c.length) {
    throw new RangeError(`matmulStrided: output of ${M}x${N} (row stride ${ldc}) at offset ${cOff} does not fit length ${c.length}`);
  }
  if (K === 0) {
    for (let i = 0; i < M; i++) c.fill(0, cOff + i * ldc, cOff + i * ldc + N);
    return;
  }
  if (M === 1) {
    gemv(a, aOff, aColStride, b, bOff, bRowStride, bColStride, c, cOff, 1, N, K);
    return;
  }
  if (N === 1) {
    // c[i] = sum_k b[k] * A[i, k]: the same product with A read as a K×M matrix.
    gemv(b, bOff, bRowStride, a, aOff, aColStride, aRowStride, c, cOff, ldc, M, K);
    return;
  }
  if (M * N * K < SMALL_WORK) {
    smallMatmul(a, aOff, aRowStride, aColStride, b, bOff, bRowStride, bColStride, c, cOff, ldc, M, N, K);
    return;
  }
  blockedMatmul(a, aOff, aRowStride, aColStride, b, bOff, bRowStride, bColStride, c, cOff, ldc, M, N, K);
}

/**
 * Batched convenience wrapper: for t in [0, batch), C_t = A_t @ B_t where operand t starts at
 * off + t*batchStride (a batch stride of 0 broadcasts that operand). C_t starts at cOff + t*M*N.
 */
export function matmulStridedBatched(
  batch: number,
  a: FloatArray, aOff: number, aBatchStride: number, aRowStride: number, aColStride: number,
  b: FloatArray, bOff: number, bBatchStride: number, bRowStride: number, bColStride: number,
  c: FloatArray, cOff: number,
  M: number, N: number, K: number,
): void {
  for (let t = 0; t < batch; t++) {
    matmulStrided(
      a, aOff + t * aBatchStride, aRowStride, aColStride,
      b, bOff + t * bBatchStride, bRowStride, bColStride,
      c, cOff + t * M * N, M, N, K,
    );
  }
}

/** Reference-quality direct loop for small problems (dot product per output, double accumulation). */
function smallMatmul(
  a: FloatArray, aOff: number, ars: number, acs: number,
  b: FloatArray, bOff: number, brs: number, bcs: number,
  c: FloatArray, cOff: number, ldc: number, M: number, N: number, K: number,
): void {
  for (let i = 0; i < M; i++) {
    const ai0 = aOff + i * ars;
    const ci = cOff + i * ldc;
    for (let j = 0; j < N; j++) {
      let s = 0;
      let ai = ai0;
      let bj = bOff + j * bcs;
      for (let k = 0; k < K; k++) {
        s += a[ai] * b[bj];
        ai += acs;
        bj += brs;
      }
      c[ci + j] = s;
    }
  }
}

/**
 * Vector–matrix product: c[cOff + j*cs] = sum_k x[k] * B[k, j] for j < N, where x[k] = x[xOff + k*xs]
 * and B[k, j] = b[bOff + k*brs + j*bcs]. Serves M = 1 directly (cs = 1) and N = 1 with A read as
 * B^T (cs = the output row stride).
 */
function gemv(
  x: FloatArray, xOff: number, xs: number,
  b: FloatArray, bOff: number, brs: number, bcs: number,
  c: FloatArray, cOff: number, cs: number, N: number, K: number,
): void {
  if (bcs === 1 && N >= 8) {
    // Rows of B are contiguous: axpy four rows at a time into a double accumulator.
    if (rowAcc.length < N) rowAcc = new Float64Array(N);
    const acc = rowAcc;
    acc.fill(0, 0, N);
    let k = 0;
    for (; k + 4 <= K; k += 4) {
      const xi = xOff + k * xs;
      const x0 = x[xi], x1 = x[xi + xs], x2 = x[xi + 2 * xs], x3 = x[xi + 3 * xs];
      const r0 = bOff + k * brs, r1 = r0 + brs, r2 = r1 + brs, r3 = r2 + brs;
      for (let j = 0; j < N; j++) acc[j] += x0 * b[r0 + j] + x1 * b[r1 + j] + x2 * b[r2 + j] + x3 * b[r3 + j];
    }
    for (; k < K; k++) {
      const x0 = x[xOff + k * xs];
      const r0 = bOff + k * brs;
      for (let j = 0; j < N; j++) acc[j] += x0 * b[r0 + j];
    }
    for (let j = 0; j < N; j++) c[cOff + j * cs] = acc[j];
    return;
  }
  if (xs === 1 && brs === 1) {
    // Each output is a dot product of two contiguous runs (x·Wᵀ with W stored [out, in], the
    // decode-time shape). x goes into a double array first (no typed-array checks on reuse);
    // eight products per iteration into four sums: 3.7 GFLOP/s vs 2.5 for the strided loop below.
    if (xBuf.length < K) xBuf = newDoubleArray(K);
    const xd = xBuf;
    for (let k = 0; k < K; k++) xd[k] = x[xOff + k]!;
    const K8 = K - (K & 7);
    for (let j = 0; j < N; j++) {
      const r = bOff + j * bcs;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < K8; k += 8) {
        s0 += xd[k]! * b[r + k]! + xd[k + 4]! * b[r + k + 4]!;
        s1 += xd[k + 1]! * b[r + k + 1]! + xd[k + 5]! * b[r + k + 5]!;
        s2 += xd[k + 2]! * b[r + k + 2]! + xd[k + 6]! * b[r + k + 6]!;
        s3 += xd[k + 3]! * b[r + k + 3]! + xd[k + 7]! * b[r + k + 7]!;
      }
      for (let k = K8; k < K; k++) s0 += xd[k]! * b[r + k]!;
      c[cOff + j * cs] = (s0 + s1) + (s2 + s3);
    }
    return;
  }
  // Otherwise one dot product per output, four partial sums to break the add dependency chain.
  const K4 = K - (K & 3);
  for (let j = 0; j < N; j++) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    let xi = xOff;
    let bi = bOff + j * bcs;
    for (let k = 0; k < K4; k += 4) {
      s0 += x[xi] * b[bi];
      s1 += x[xi + xs] * b[bi + brs];
      s2 += x[xi + 2 * xs] * b[bi + 2 * brs];
      s3 += x[xi + 3 * xs] * b[bi + 3 * brs];
      xi += 4 * xs;
      bi += 4 * brs;
    }
    for (let k = K4; k < K; k++) {
      s0 += x[xi] * b[bi];
      xi += xs;
      bi += brs;
    }
    c[cOff + j * cs] = (s0 + s1) + (s2 + s3);
  }
}

function blockedMatmul(
  a: FloatArray, aOff: number, ars: number, acs: number,
  b: FloatArray, bOff: number, brs: number, bcs: number,
  c: FloatArray, cOff: number, ldc: number, M: number, N: number, K: number,
): void {
  const T = tile;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    const ncPanels = Math.ceil(nc / NR);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      const first = pc === 0;
      const pb = ensurePackB(ncPanels * NR * kc);
      packPanelsB(b, bOff + pc * brs + jc * bcs, brs, bcs, pb, kc, nc);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = Math.min(MC, M - ic);
        const pa = ensurePackA(Math.ceil(mc / MR) * MR * kc);
        packPanelsA(a, aOff + ic * ars + pc * acs, ars, acs, pa, kc, mc);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          const bi = jr * kc; // panel index (jr / NR) * NR * kc
          for (let ir = 0; ir < mc; ir += MR) {
            kernel4x3(kc, pa, ir * kc, pb, bi, T);
            const mr = Math.min(MR, mc - ir);
            const c0 = cOff + (ic + ir) * ldc + jc + jr;
            if (mr === MR && nr === NR) storeFull(c, c0, ldc, T, first);
            else storeEdge(c, c0, ldc, T, mr, nr, first);
          }
        }
      }
    }
  }
}

/**
 * Packs an mc×kc slice of A (element (i, p) at a[off + i*rs + p*cs]) into MR-row micro-panels:
 * panel q holds, for p = 0..kc-1, rows q*MR .. q*MR+MR-1 of column p. Missing rows are zero.
 */
function packPanelsA(a: FloatArray, off: number, rs: number, cs: number, pa: DoubleArray, kc: number, mc: number): void {
  let o = 0;
  let ir = 0;
  for (; ir + MR <= mc; ir += MR) {
    let s0 = off + ir * rs;
    const r1 = rs, r2 = 2 * rs, r3 = 3 * rs;
    for (let p = 0; p < kc; p++) {
      pa[o] = a[s0];
      pa[o + 1] = a[s0 + r1];
      pa[o + 2] = a[s0 + r2];
      pa[o + 3] = a[s0 + r3];
      o += MR;
      s0 += cs;
    }
  }
  if (ir < mc) {
    const mr = mc - ir;
    for (let p = 0; p < kc; p++) {
      const s0 = off + ir * rs + p * cs;
      for (let i = 0; i < MR; i++) pa[o + i] = i < mr ? a[s0 + i * rs] : 0;
      o += MR;
    }
  }
}

/**
 * Packs a kc×nc slice of B (element (p, j) at b[off + p*rs + j*cs]) into NR-column micro-panels:
 * panel q holds, for p = 0..kc-1, columns q*NR .. q*NR+NR-1 of row p. Missing columns are zero.
 */
function packPanelsB(b: FloatArray, off: number, rs: number, cs: number, pb: DoubleArray, kc: number, nc: number): void {
  let o = 0;
  let jr = 0;
  for (; jr + NR <= nc; jr += NR) {
    let s0 = off + jr * cs;
    const c1 = cs, c2 = 2 * cs;
    for (let p = 0; p < kc; p++) {
      pb[o] = b[s0];
      pb[o + 1] = b[s0 + c1];
      pb[o + 2] = b[s0 + c2];
      o += NR;
      s0 += rs;
    }
  }
  if (jr < nc) {
    const nr = nc - jr;
    for (let p = 0; p < kc; p++) {
      const s0 = off + jr * cs + p * rs;
      for (let j = 0; j < NR; j++) pb[o + j] = j < nr ? b[s0 + j * cs] : 0;
      o += NR;
    }
  }
}

/**
 * The register-tiled micro-kernel: T (4×3, row-major) = Apanel(4×kc) @ Bpanel(kc×3), where
 * A holds 4 values per k starting at ai and B holds 3 values per k starting at bi.
 */
function kernel4x3(kc: number, A: DoubleArray, ai: number, B: DoubleArray, bi: number, T: DoubleArray): void {
  let c00 = 0, c01 = 0, c02 = 0;
  let c10 = 0, c11 = 0, c12 = 0;
  let c20 = 0, c21 = 0, c22 = 0;
  let c30 = 0, c31 = 0, c32 = 0;
  for (const end = ai + kc * MR; ai < end; ai += MR, bi += NR) {
    const a0 = A[ai], a1 = A[ai + 1], a2 = A[ai + 2], a3 = A[ai + 3];
    const b0 = B[bi], b1 = B[bi + 1], b2 = B[bi + 2];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2;
  }
  T[0] = c00; T[1] = c01; T[2] = c02;
  T[3] = c10; T[4] = c11; T[5] = c12;
  T[6] = c20; T[7] = c21; T[8] = c22;
  T[9] = c30; T[10] = c31; T[11] = c32;
}

function storeFull(c: FloatArray, c0: number, ldc: number, T: DoubleArray, first: boolean): void {
  if (first) {
    for (let i = 0, t = 0; i < MR; i++, c0 += ldc, t += NR) {
      c[c0] = T[t];
      c[c0 + 1] = T[t + 1];
      c[c0 + 2] = T[t + 2];
    }
  } else {
    for (let i = 0, t = 0; i < MR; i++, c0 += ldc, t += NR) {
      c[c0] += T[t];
      c[c0 + 1] += T[t + 1];
      c[c0 + 2] += T[t + 2];
    }
  }
}

function storeEdge(c: FloatArray, c0: number, ldc: number, T: DoubleArray, mr: number, nr: number, first: boolean): void {
  for (let i = 0; i < mr; i++, c0 += ldc) {
    const t = i * NR;
    for (let j = 0; j < nr; j++) {
      if (first) c[c0 + j] = T[t + j];
      else c[c0 + j] += T[t + j];
    }
  }
}
