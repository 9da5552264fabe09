/**
 * Elementwise float32 ops on the WebAssembly kernels (kernels/elementwise.wat): unary, binary,
 * where and copy, for inputs already broadcast to the output shape (stride-0 dims).
 *
 * Dims are collapsed first (shape.ts collapseDims), so contiguous and simply broadcast inputs
 * become one long row, or rows with a row stride; the kernel takes 2-D views whose inner stride
 * is 0 or 1. Anything else (an input whose innermost stride is neither, e.g. a transposed view),
 * and ops the kernel does not have (pow, tanh, erf, sin, cos), return null: the TypeScript loop
 * (../elementwise.ts), which is also the reference the tests compare against, runs instead.
 * Threads: outer slices, else rows, else ranges of the row, once the output has ≥ PARALLEL_MIN
 * elements.
 */
import type { BinaryOp, UnaryOp } from '../../backend.ts';
import { collapseDims, numel } from '../../shape.ts';
import { allocOutput } from '../alloc.ts';
import { runOnThreads, type WasmCall } from '#cpu-threads';
import { piecesFor, split, spread, threadsFor } from './launch.ts';
import { place, type Operand } from './operands.ts';
import type { WasmRuntime } from './runtime.ts';

/** Outputs below this many elements are computed on one thread (~25 µs of work). */
export const PARALLEL_MIN = 1 << 16;

const UNARY: Partial<Record<UnaryOp | 'copy', number>> = { neg: 0, exp: 1, log: 2, sqrt: 3, rsqrt: 4, recip: 5, abs: 6, sign: 7, sigmoid: 8, copy: 9 };
const BINARY: Partial<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3, max: 4, min: 5, lt: 6, le: 7, gt: 8, ge: 9, eq: 10 };

export type ElementwiseOp = { kind: 'unary'; op: UnaryOp | 'copy' } | { kind: 'binary'; op: BinaryOp } | { kind: 'where' };

/** Whether the kernel implements this op (else the caller uses the TypeScript loop). */
export function hasKernel(e: ElementwiseOp): boolean {
  if (e.kind === 'unary') return UNARY[e.op] !== undefined;
  if (e.kind === 'binary') return BINARY[e.op] !== undefined;
  return true;
}

/** out = op(inputs) over `shape` (inputs broadcast to it); null if the kernel does not cover the case. */
export function elementwiseWasm(rt: WasmRuntime, e: ElementwiseOp, shape: readonly number[], inputs: readonly Operand[]): Float32Array | null {
  if (!hasKernel(e)) return null;
  const n = numel(shape);
  if (n === 0) return new Float32Array(0);
  const c = collapseDims(shape, inputs.map((x) => x.strides));
  const nd = c.shape.length;
  if (c.strides.some((s) => s[nd - 1] !== 0 && s[nd - 1] !== 1)) return null;
  const inner = c.shape[nd - 1]!;
  const rows = nd >= 2 ? c.shape[nd - 2]! : 1;
  const outer = c.shape.slice(0, Math.max(0, nd - 2));
  const out = allocOutput(n);
  const placed = place(rt, inputs, [out]);
  if (!placed) return null;

  // One task per outer index: [rows, inner] 2-D views at these element offsets.
  type Task = { offs: number[]; o: number; rows: number; n: number };
  const tasks: Task[] = [];
  const idx = outer.map(() => 0);
  for (let t = 0, count = numel(outer); t < count; t++) {
    const offs = inputs.map((_, k) => idx.reduce((acc, i, d) => acc + i * c.strides[k]![d]!, 0));
    tasks.push({ offs, o: t * rows * inner, rows, n: inner });
    for (let d = outer.length - 1; d >= 0; d--) {
      if (++idx[d]! < outer[d]!) break;
      idx[d] = 0;
    }
  }
  const T = threadsFor(n, PARALLEL_MIN);
  // Fewer tasks than threads: cut each task's rows, or (one row) the row itself.
  const pieces: Task[] = [];
  for (const t of tasks) {
    if (tasks.length >= piecesFor(T) || T === 1) pieces.push(t);
    else if (t.rows >= piecesFor(T)) {
      for (const [r0, r1] of split(t.rows, piecesFor(T))) {
        pieces.push({ offs: t.offs.map((o, k) => o + r0 * rowStride(c.strides[k]!, nd)), o: t.o + r0 * t.n, rows: r1 - r0, n: t.n });
      }
    } else {
      for (let r = 0; r < t.rows; r++) {
        for (const [j0, j1] of split(t.n, Math.ceil(piecesFor(T) / t.rows), 4)) {
          pieces.push({ offs: t.offs.map((o, k) => o + r * rowStride(c.strides[k]!, nd) + j0 * c.strides[k]![nd - 1]!), o: t.o + r * t.n + j0, rows: 1, n: j1 - j0 });
        }
      }
    }
  }
  const addr = (k: number, off: number): number => placed.inputs[k]! + 4 * off;
  const inner1 = (k: number): number => c.strides[k]![nd - 1]!;
  const calls: WasmCall[] = pieces.map((p) => {
    const o = placed.outputs[0]! + 4 * p.o;
    const arg = (k: number): number[] => [addr(k, p.offs[k]!), rowStride(c.strides[k]!, nd), inner1(k)];
    if (e.kind === 'unary') return ['elementwise', 'unary', [UNARY[e.op]!, o, ...arg(0), p.rows, p.n]];
    if (e.kind === 'binary') return ['elementwise', 'binary', [BINARY[e.op]!, o, ...arg(0), ...arg(1), p.rows, p.n]];
    return ['elementwise', 'where', [o, ...arg(0), ...arg(1), ...arg(2), p.rows, p.n]];
  });
  runOnThreads(T > 1 ? spread(calls, Math.min(piecesFor(T), calls.length)) : [calls]);
  placed.finish();
  return out;
}

/** The stride of the second-to-last collapsed dim (0 when there is only one). */
function rowStride(strides: readonly number[], nd: number): number {
  return nd >= 2 ? strides[nd - 2]! : 0;
}
