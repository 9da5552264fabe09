// Helpers the kernel launchers share: how many threads a call gets, and how its work is cut.
// Work is cut into pieces whose results do not depend on the cut (rows, columns, elements of an
// elementwise op), so any thread count gives the same bits.
import { cpuThreads, runOnThreads, type WasmCall } from '#cpu-threads';
import { place, whole } from './operands.ts';
import type { WasmRuntime } from './runtime.ts';

const work: number[] = [];

/**
 * Thread t's scratch on the heap (its own, so calls running at the same time never share it):
 * the GEMM's packed panels, attention's score rows. Allocated once, work_bytes() of kernels/gemm.wat.
 */
export function threadWork(rt: WasmRuntime, t: number): number {
  let w = work[t];
  if (w === undefined) {
    w = rt.heap.alloc(rt.k.gemm.work_bytes!());
    if (w < 0) return -1;
    work[t] = w;
  }
  return w;
}

/** Bytes of each thread's scratch. */
export function threadWorkBytes(rt: WasmRuntime): number {
  return rt.k.gemm.work_bytes!();
}

/**
 * Pieces per thread for work that splits freely (rows, elements): the threads claim them as they
 * come free, so one the OS has descheduled holds up a quarter of its share, not all of it.
 */
export const PIECES = 4;

/** Pieces to cut work into for T threads. */
export function piecesFor(T: number): number {
  return T > 1 ? PIECES * T : 1;
}

/** Threads for a job of `work` units: all of them at or above `min`, else 1 (a hand-off costs ~10 µs). */
export function threadsFor(work: number, min: number): number {
  return work >= min ? cpuThreads() : 1;
}

/** [start, end) ranges cutting n into at most `parts` pieces whose starts are multiples of `unit`. */
export function split(n: number, parts: number, unit = 1): [number, number][] {
  const chunk = Math.max(unit, Math.ceil(n / parts / unit) * unit);
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += chunk) out.push([s, Math.min(n, s + chunk)]);
  return out;
}

/** `calls` dealt out in order to T threads, contiguous runs of about equal length. */
export function spread(calls: readonly WasmCall[], T: number): WasmCall[][] {
  const out: WasmCall[][] = Array.from({ length: T }, () => []);
  calls.forEach((c, i) => out[Math.floor((i * T) / calls.length)]!.push(c));
  return out;
}

/** An array a row kernel reads or writes: `perRow` elements per row (0: the same for every row). */
export interface RowArray {
  data: Float32Array | Int32Array | null;
  perRow: number;
  /** Written by the kernel (else read). */
  out?: boolean;
}

/**
 * Places `arrays` on the heap (a null array gets address 0: "not wanted") and runs one call per
 * thread over ranges of `count` units (multiples of `unit`): `args(ptrs, start, end)` builds the
 * call's arguments, where ptrs are the arrays' addresses advanced by start·perRow elements.
 * Returns false when the heap cannot hold the operands (the caller falls back).
 */
export function runSplit(
  rt: WasmRuntime, module: string, fn: string, arrays: readonly RowArray[], count: number,
  args: (ptrs: number[], start: number, end: number) => number[], parallelMin: number, work = count, unit = 1,
): boolean {
  const present = arrays.filter((a): a is RowArray & { data: Float32Array | Int32Array } => a.data !== null);
  const placed = place(rt, present.filter((a) => !a.out).map((a) => whole(a.data)), present.filter((a) => a.out).map((a) => a.data));
  if (!placed) return false;
  let i = 0;
  let o = 0;
  const base = arrays.map((a) => (a.data === null ? 0 : a.out ? placed.outputs[o++]! : placed.inputs[i++]!));
  const T = threadsFor(work, parallelMin);
  runOnThreads(split(count, piecesFor(T), unit).map(([s, e]) => [[module, fn, args(arrays.map((a, k) => (a.data === null ? 0 : base[k]! + 4 * s * a.perRow)), s, e)]]));
  placed.finish();
  return true;
}

/** runSplit for the row kernels' convention: fn(ptr..., rows, n, ...extra). */
export function runRows(rt: WasmRuntime, module: string, fn: string, arrays: readonly RowArray[], rows: number, n: number, extra: readonly number[], parallelMin: number): boolean {
  return runSplit(rt, module, fn, arrays, rows, (ptrs, r0, r1) => [...ptrs, r1 - r0, n, ...extra], parallelMin, rows * n);
}
