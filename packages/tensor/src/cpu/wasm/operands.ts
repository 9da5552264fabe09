// Heap addresses for kernel operands. A float32 view whose storage lives on the heap is used in
// place (its address is the array's byteOffset plus the view's offset); anything else — a small
// tensor on an ordinary array, a tensor allocated before the kernels loaded — is copied into the
// per-call scratch (the range of elements the view touches), and an output that is not on the
// heap is computed in scratch and copied out by `finish`.
import type { WasmRuntime } from './runtime.ts';

export interface Operand {
  data: Float32Array | Int32Array;
  offset: number;
  shape: readonly number[];
  strides: readonly number[];
}

/** The element range [lo, hi] a strided view touches (strides may be negative or zero). */
export function touched(o: Omit<Operand, 'data'>): { lo: number; hi: number } {
  let lo = o.offset;
  let hi = o.offset;
  for (let d = 0; d < o.shape.length; d++) {
    const span = (o.shape[d]! - 1) * o.strides[d]!;
    if (span < 0) lo += span;
    else hi += span;
  }
  return { lo, hi };
}

export interface Placed {
  /** Address of element [0, 0, …] of each input view. */
  inputs: number[];
  /** Address of each output's first element. */
  outputs: number[];
  /** Copies outputs that were computed in scratch to their arrays. */
  finish(): void;
}

/**
 * Addresses for `inputs` (views) and `outputs` (whole contiguous arrays, written by the kernel),
 * copying what is not on the heap into scratch; null when the heap cannot hold the copies.
 * `extra` bytes of scratch are reserved for the caller (take them with rt.scratch.take).
 */
export function place(rt: WasmRuntime, inputs: readonly Operand[], outputs: readonly (Float32Array | Int32Array)[], extra = 0): Placed | null {
  const { heap, scratch } = rt;
  let need = extra;
  const ranges = inputs.map((o) => {
    if (heap.owns(o.data) || o.shape.some((d) => d === 0)) return null;
    const r = touched(o);
    need += (r.hi - r.lo + 1) * 4 + 16;
    return r;
  });
  for (const out of outputs) if (!heap.owns(out)) need += out.length * 4 + 16;
  if (!scratch.reset(need)) return null;
  const inPtrs = inputs.map((o, i) => {
    const r = ranges[i];
    if (!r) return o.data.byteOffset + 4 * o.offset;
    return scratch.copyIn(o.data, r.lo, r.hi - r.lo + 1) + 4 * (o.offset - r.lo);
  });
  const pending: [number, Float32Array | Int32Array][] = [];
  const outPtrs = outputs.map((out) => {
    if (heap.owns(out)) return out.byteOffset;
    const p = scratch.take(out.length * 4);
    pending.push([p, out]);
    return p;
  });
  return {
    inputs: inPtrs,
    outputs: outPtrs,
    finish: () => {
      for (const [p, out] of pending) out.set(out instanceof Float32Array ? heap.f32(p, out.length) : heap.i32(p, out.length));
    },
  };
}

/** A whole contiguous array as an operand. */
export function whole(data: Float32Array | Int32Array): Operand {
  return { data, offset: 0, shape: [data.length], strides: [1] };
}
