/**
 * float32 matmul on the WebAssembly kernels (kernels/gemm.wat, kernels/gemv.wat): batched, any
 * strides (the kernel's packing reads them), split over threads.
 *
 *   - M = 1 or N = 1 with one operand's rows contiguous: GEMV, which streams the matrix once
 *     (decode's x·Wᵀ); gemv_t for contiguous rows of W, gemv_n for contiguous columns.
 *   - everything else: the packed GEMM.
 * Threads: pieces claimed by the threads as they come free (runOnThreads) — whole batch entries,
 * else ranges of the longer output dimension (multiples of the micro-tile: 8 columns or 4 rows; 16
 * or 4 outputs for GEMV). Products below PARALLEL_MIN multiply-adds stay on the calling thread. The reference is
 * the TypeScript matmulStrided (../matmul.ts); tests compare them (test/tensor/cpu-wasm-matmul.test.ts).
 */
import { cpuThreads, runOnThreads, WORK, type WasmCall } from '#cpu-threads';
import { PIECES, split, threadWork } from './launch.ts';
import { place, type Operand } from './operands.ts';
import type { WasmRuntime } from './runtime.ts';

/** GEMMs below this many multiply-adds run on one thread (~15 µs at 40 GFLOP/s: a hand-off costs ~10). */
export const PARALLEL_MIN = 1 << 18;
/** GEMVs below this many multiply-adds (= matrix elements read) run on one thread. */
export const GEMV_PARALLEL_MIN = 1 << 17;

export interface MatmulArgs {
  a: Operand;
  b: Operand;
  /** Batch entries: element offsets of A, B and C for each. */
  items: readonly (readonly [number, number, number])[];
  M: number;
  N: number;
  K: number;
  /** false: the packed GEMM even where a GEMV would do (the kernel harness compares them). */
  gemv?: boolean;
}

/**
 * The GEMV a product can take without gathering its vector: 'M' (M = 1 with B's rows or columns
 * contiguous), 'N' (N = 1 with A's), or null (the packed GEMM).
 */
export function gemvSide(M: number, N: number, ars: number, acs: number, brs: number, bcs: number): 'M' | 'N' | null {
  if (M === 1 && (bcs === 1 || brs === 1) && acs === 1) return 'M';
  if (N === 1 && (acs === 1 || ars === 1) && brs === 1) return 'N';
  return null;
}

/** C (contiguous [batch, M, N]) = A·B on the kernels; false when the heap cannot hold the operands. */
export function matmulWasm(rt: WasmRuntime, x: MatmulArgs, C: Float32Array): boolean {
  const { items, M, N, K } = x;
  const nd = x.a.shape.length;
  const [ars, acs] = [x.a.strides[nd - 2]!, x.a.strides[nd - 1]!];
  const [brs, bcs] = [x.b.strides[nd - 2]!, x.b.strides[nd - 1]!];
  const side = x.gemv === false ? null : gemvSide(M, N, ars, acs, brs, bcs);
  const gemvM = side === 'M';
  const gemvN = side === 'N';
  const placed = place(rt, [x.a, x.b], [C]);
  if (!placed) return false;
  const [pa, pb] = placed.inputs as [number, number];
  const pc = placed.outputs[0]!;
  const A = (off: number): number => pa + 4 * (off - x.a.offset);
  const B = (off: number): number => pb + 4 * (off - x.b.offset);
  const Cp = (off: number): number => pc + 4 * off;
  const threads = cpuThreads();
  const macs = items.length * M * N * K;

  if (gemvM || gemvN) {
    // y[j] = Σ_k x[k]·W(j, k) for j < L: the vector is A's row (M = 1) or B's column (N = 1).
    const L = gemvM ? N : M;
    const T = macs >= GEMV_PARALLEL_MIN ? threads : 1;
    const pieces: WasmCall[][] = [];
    for (const [ao, bo, co] of items) {
      const [xp, wp] = gemvM ? [A(ao), B(bo)] : [B(bo), A(ao)];
      // W(j, k) strides: for M = 1 it is B(k, j); for N = 1 it is A(j, k).
      const [js, ks] = gemvM ? [bcs, brs] : [ars, acs];
      const rowsContiguous = ks === 1; // W(j, ·) contiguous → gemv_t
      const fn = rowsContiguous ? 'gemv_t' : 'gemv_n';
      const ldw = rowsContiguous ? js : ks;
      const parts = items.length >= PIECES * T ? 1 : PIECES * T;
      for (const [s, e] of split(L, parts, rowsContiguous ? 4 : 16)) pieces.push([['gemv', fn, [xp, wp + 4 * s * js, ldw, Cp(co) + 4 * s, e - s, K]]]);
    }
    runOnThreads(T > 1 ? pieces : [pieces.flat()]);
    placed.finish();
    return true;
  }

  // GEMM pieces: whole batch entries, else 2 per thread along the longer output dimension (each
  // piece packs its own panels, so more pieces would repeat packing; 2 let a thread that is
  // ahead take over from one the OS has descheduled).
  const T = macs >= PARALLEL_MIN ? threads : 1;
  const works: number[] = [];
  for (let t = 0; t < T; t++) {
    const w = threadWork(rt, t);
    if (w < 0) return false;
    works.push(w);
  }
  const pieces: WasmCall[][] = [];
  const gemm = (ao: number, bo: number, co: number, m: number, n: number): void => {
    pieces.push([['gemm', 'gemm', [A(ao), ars, acs, B(bo), brs, bcs, Cp(co), N, m, n, K, WORK]]]);
  };
  for (const [ao, bo, co] of items) {
    if (items.length >= T) gemm(ao, bo, co, M, N);
    else if (N >= M) split(N, 2 * T, 8).forEach(([s, e]) => gemm(ao, bo + s * bcs, co + s, M, e - s));
    else split(M, 2 * T, 4).forEach(([s, e]) => gemm(ao + s * ars, bo, co + s * N, e - s, N));
  }
  runOnThreads(T > 1 ? pieces : [pieces.flat()], works);
  placed.finish();
  return true;
}

