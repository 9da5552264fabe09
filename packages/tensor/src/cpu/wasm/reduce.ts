// Sum / max / min of float32 over a set of axes on the WebAssembly kernels (kernels/reduce.wat).
// After collapsing, the reduced axes must form one contiguous run per output (sum_rows, max_rows:
// the common "reduce the last axis") or the kept axes one contiguous run reduced over a leading
// axis (sum_cols: the gradient of a broadcast, e.g. a bias); anything else returns null and the
// TypeScript reduce (../backend.ts) runs — it is also the reference the tests compare against.
import type { ReduceOp, View } from '../../backend.ts';
import { collapseDims, numel } from '../../shape.ts';
import { allocOutput } from '../alloc.ts';
import type { CpuStorage } from '../storage.ts';
import { runOnThreads } from '#cpu-threads';
import { piecesFor, split, threadsFor } from './launch.ts';
import { place } from './operands.ts';
import type { WasmRuntime } from './runtime.ts';

/** Inputs below this many elements are reduced on one thread. */
const PARALLEL_MIN = 1 << 16;

/** A view's dims `axes` collapsed: one (size, stride) pair, or null if they do not collapse. */
function collapse(x: View, axes: readonly number[]): [number, number] | null {
  const c = collapseDims(axes.map((a) => x.shape[a]!), [axes.map((a) => x.strides[a]!)]);
  return c.shape.length === 1 ? [c.shape[0]!, c.strides[0]![0]!] : null;
}

export function reduceWasm(rt: WasmRuntime, op: ReduceOp, x: View, axes: readonly number[]): Float32Array | null {
  const data = (x.storage as CpuStorage).data;
  if (!(data instanceof Float32Array) || (op !== 'sum' && op !== 'max' && op !== 'min')) return null;
  const keep = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const nOut = numel(keep.map((i) => x.shape[i]!));
  const R = numel(axes.map((i) => x.shape[i]!));
  if (R === 0 || nOut === 0) return null;
  const red = collapse(x, axes);
  const kept = keep.length ? collapse(x, keep) : ([1, 0] as [number, number]);
  if (!red || !kept) return null;
  const [rows, rs] = kept;
  const [n, inner] = red;
  const byRows = inner === 1 || n === 1;
  const byCols = !byRows && op === 'sum' && (rs === 1 || rows === 1);
  if (!byRows && !byCols) return null;
  const out = allocOutput(nOut);
  const placed = place(rt, [{ data, offset: x.offset, shape: x.shape, strides: x.strides }], [out]);
  if (!placed) return null;
  const px = placed.inputs[0]!;
  const po = placed.outputs[0]!;
  const T = threadsFor(rows * n, PARALLEL_MIN);
  if (byRows) {
    const fn = op === 'sum' ? 'sum_rows' : 'max_rows';
    const tail = op === 'sum' ? [] : [op === 'min' ? 1 : 0];
    runOnThreads(split(rows, piecesFor(T)).map(([r0, r1]) => [['reduce', fn, [px + 4 * r0 * rs, rs, po + 4 * r0, r1 - r0, n, ...tail]]]));
  } else {
    // out[j] = Σ_r x[r·inner + j]: the kept run is the inner (column) index
    runOnThreads(split(rows, piecesFor(T), 4).map(([j0, j1]) => [['reduce', 'sum_cols', [px, inner, po, n, rows, j0, j1]]]));
  }
  placed.finish();
  return out;
}
