// Rotary embedding on the WebAssembly kernel (kernels/rotary.wat): x [.., T, D] as a strided view
// (q and k come straight from transpose(1, 2) of the projections, not copied), cos/sin as views
// broadcast to x's shape; threads take ranges of (b, h, t) rows. Reference: rotaryComposite
// (../../fused/rotary.ts).
import type { Tensor } from '../../tensor.ts';
import { allocOutput } from '../alloc.ts';
import type { CpuStorage } from '../storage.ts';
import { runOnThreads } from '#cpu-threads';
import { piecesFor, split, threadsFor } from './launch.ts';
import { place, whole, type Operand } from './operands.ts';
import type { WasmRuntime } from './runtime.ts';

/** Rows of D below this many elements in total run on one thread. */
const PARALLEL_MIN = 1 << 15;

/** t as a 4-D float32 view broadcast to dims (d stride 1), or null if it does not broadcast there. */
function view4(t: Tensor, dims: readonly number[]): Operand | null {
  const data = (t.storage as CpuStorage).data;
  if (!(data instanceof Float32Array) || t.ndim > 4) return null;
  const lead = 4 - t.ndim;
  const strides: number[] = [];
  for (let i = 0; i < 4; i++) {
    const j = i - lead;
    if (j < 0 || t.shape[j] === 1) strides.push(0);
    else if (t.shape[j] === dims[i]) strides.push(t.strides[j]!);
    else return null;
  }
  if (dims[3]! > 1 && strides[3] !== 1) return null;
  return { data, offset: t.offset, shape: dims, strides };
}

/** forward (inverse = false) or its transpose (the gradient) of rotaryEmbedding; null if not covered. */
export function rotaryWasm(rt: WasmRuntime, x: Tensor, cos: Tensor, sin: Tensor, inverse: boolean): Float32Array | null {
  const D = x.shape[x.ndim - 1]!;
  if (x.ndim > 4 || D % 2 !== 0 || D < 8) return null; // the kernel takes whole vectors per half
  const dims = [...Array<number>(4 - x.ndim).fill(1), ...x.shape];
  const xv = view4(x, dims) ?? view4(x.contiguous(), dims);
  const cv = view4(cos, dims);
  const sv = view4(sin, dims);
  if (!xv || !cv || !sv) return null;
  const rows = dims[0]! * dims[1]! * dims[2]!;
  const shape = Int32Array.from([...dims, ...xv.strides.slice(0, 3), ...cv.strides.slice(0, 3), ...sv.strides.slice(0, 3)]);
  const out = allocOutput(x.size);
  const placed = place(rt, [xv, cv, sv, whole(shape)], [out]);
  if (!placed) return null;
  const [px, pc, ps, pshape] = placed.inputs as [number, number, number, number];
  const T = threadsFor(x.size, PARALLEL_MIN);
  runOnThreads(split(rows, piecesFor(T)).map(([r0, r1]) => [['rotary', 'rotary', [pshape, px, pc, ps, placed.outputs[0]!, r0, r1, inverse ? 1 : 0]]]));
  placed.finish();
  return out;
}
