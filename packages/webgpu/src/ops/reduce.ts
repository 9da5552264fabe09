// Reductions on WebGPU: permute the reduced axes last (copying when that view is not
// contiguous), then reduce contiguous rows with kernels/reduce.ts. Output: keepdim layout
// (the kept dims in order), int32 indices for argmax/argmin.
import { type DType, type ReduceOp, type View, shapes } from '@kts/tensor';
import { currentPool } from '../pool.ts';
import { reduceRows } from '../kernels/reduce.ts';
import { copy, full } from './elementwise.ts';
import { allocStorage, asStorage, disposeStorage, type WebGPUStorage } from './storage.ts';


export function reduce(op: ReduceOp, x: View, axes: readonly number[], dtype: DType): WebGPUStorage {
  const keep = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const order = [...keep, ...axes];
  const shape = order.map((i) => x.shape[i]!);
  const strides = order.map((i) => x.strides[i]!);
  const R = axes.reduce((p, a) => p * x.shape[a]!, 1);
  const nOut = keep.reduce((p, a) => p * x.shape[a]!, 1);
  if (nOut === 0) return allocStorage(0, dtype);
  if (R === 0) {
    if (op !== 'sum') throw new Error(`${op}: cannot reduce over an empty dimension of shape [${x.shape.join(', ')}]`);
    return full(nOut, 0, dtype);
  }
  const xs = asStorage(x.storage);
  // Values are reduced in the input's type (sum/max/min: `dtype` is the input dtype).
  const valueDtype = op === 'argmax' || op === 'argmin' ? xs.dtype : dtype;
  const perm: View = { storage: x.storage, shape, strides, offset: x.offset };
  let tmp: WebGPUStorage | null = null;
  let src: { buffer: GPUBuffer; offset: number };
  if (shapes.isContiguous(shape, strides) && xs.dtype === valueDtype) src = { buffer: xs.buffer, offset: x.offset };
  else {
    tmp = copy(perm, valueDtype);
    src = { buffer: tmp.buffer, offset: 0 };
  }
  const out = allocStorage(nOut, dtype);
  reduceRows(op, asStorage(tmp ?? x.storage).type, src, nOut, R, out.buffer, currentPool());
  if (tmp) disposeStorage(tmp);
  return out;
}
