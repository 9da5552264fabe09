// Float storage for the CPU backend. With the WebAssembly kernels on, float32 arrays of at least
// HEAP_MIN elements live on the kernels' shared heap (wasm/heap.ts), where kernels and worker
// threads use them in place; otherwise large arrays go on SharedArrayBuffers (threads.ts' workers
// read those) and small ones on ordinary ArrayBuffers.
import { wasmRuntime } from './wasm/runtime.ts';

/** Float buffers of at least this many elements are allocated shared (smaller ones are cheap to copy). */
export const SHARED_MIN = 1 << 16;
/** Float32 buffers of at least this many elements go on the WebAssembly heap when the kernels are on. */
export const HEAP_MIN = 1 << 10;

/** Whether this runtime has SharedArrayBuffer (browsers: only cross-origin isolated pages). */
export const hasSharedMemory = typeof SharedArrayBuffer !== 'undefined';

/** A float array of n elements on a SharedArrayBuffer (an ordinary one where there is none), whatever its size. */
export function allocShared(dtype: 'float32' | 'float64', n: number): Float32Array | Float64Array {
  const buf = hasSharedMemory ? new SharedArrayBuffer(n * (dtype === 'float32' ? 4 : 8)) : new ArrayBuffer(n * (dtype === 'float32' ? 4 : 8));
  return dtype === 'float32' ? new Float32Array(buf) : new Float64Array(buf);
}

/**
 * A zero-filled float array of n elements: on the WebAssembly heap (float32, n >= HEAP_MIN,
 * kernels on), else on a SharedArrayBuffer when n >= SHARED_MIN, else ordinary.
 */
export function allocFloat(dtype: 'float32' | 'float64', n: number): Float32Array | Float64Array {
  if (dtype === 'float32' && n >= HEAP_MIN) {
    const a = wasmRuntime()?.heap.allocF32(n);
    if (a) return a;
  }
  if (n < SHARED_MIN) return dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  return allocShared(dtype, n);
}

/** A float32 output array whose contents the caller overwrites entirely (heap blocks are not zeroed). */
export function allocOutput(n: number): Float32Array {
  if (n >= HEAP_MIN) {
    const a = wasmRuntime()?.heap.allocF32(n, false);
    if (a) return a;
  }
  return n < SHARED_MIN ? new Float32Array(n) : (allocShared('float32', n) as Float32Array);
}
