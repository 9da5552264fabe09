/**
 * The CPU backend's matmul threads, in a browser: none. Pages get worker threads only as Web
 * Workers, and SharedArrayBuffer only on cross-origin-isolated pages, so every matmul runs on the
 * calling thread. Same exports as ./threads.ts (selected by the "browser" condition of
 * @kts/tensor's "#cpu-threads" import).
 */
import type * as Node from './threads.ts';

export const SHARED_MIN = 1 << 16;
export const PARALLEL_MIN = 1 << 16;
export const SPIN_MS = 0;

export function cpuThreadStats(): ReturnType<typeof Node.cpuThreadStats> {
  return { threads: 1, parallelCalls: 0, kernelCalls: 0, disabled: 'no worker threads in a browser' };
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
