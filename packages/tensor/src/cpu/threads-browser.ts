/**
 * The CPU backend's threads, in a browser: none. Pages get worker threads only as Web Workers, and
 * SharedArrayBuffer only on cross-origin-isolated pages, so every matmul and every WebAssembly
 * kernel call runs on the calling thread (the kernels themselves need a shared memory, so they run
 * only on cross-origin-isolated pages; elsewhere the TypeScript loops do). Same exports as ./threads.ts (selected by the "browser" condition of
 * @kts/tensor's "#cpu-threads" import).
 */
import type * as Node from './threads.ts';
import { loadedRuntime } from './wasm/runtime.ts';
import { runCalls, WORK } from './wasm/calls.ts';

export const SHARED_MIN = 1 << 16;
export const PARALLEL_MIN = 1 << 16;
export const SPIN_MS = 0;

export function cpuThreadStats(): ReturnType<typeof Node.cpuThreadStats> {
  return { threads: 1, parallelCalls: 0, kernelCalls, disabled: 'no worker threads in a browser' };
}

export function cpuThreads(): number {
  return 1;
}

export function setCpuThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setCpuThreads: expected a positive integer, got ${n}`);
}

export function stopCpuThreads(): void {}

// Float storage as in Node (alloc.ts): on the WebAssembly kernels' heap where they run (a
// cross-origin-isolated page), else ordinary arrays.
export { allocFloat, allocShared } from './alloc.ts';

/** Never parallel here: the caller runs the product itself. */
export const matmulParallel: typeof Node.matmulParallel = () => false;

export { runCalls, WORK, type WasmCall } from './wasm/calls.ts';

let kernelCalls = 0;

/** The kernels' pieces, one after another on this thread (the same bits as on any thread count). */
export const runOnThreads: typeof Node.runOnThreads = (pieces, works = []) => {
  const rt = loadedRuntime();
  if (!rt) throw new Error('runOnThreads: the WebAssembly kernels are not loaded');
  kernelCalls++;
  for (const calls of pieces) runCalls(rt.k, calls, works[0] ?? WORK);
};
