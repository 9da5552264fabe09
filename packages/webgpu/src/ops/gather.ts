// gather / scatterAdd on WebGPU (kernels/gather.ts), plus the GPU-side index-range flag: an
// out-of-range index cannot throw synchronously on the GPU, so the kernels set a flag that
// checkIndexErrors() (called by every read) turns into an error.
import type { DType, View } from '@kts/tensor';

type Shape = readonly number[];
import { onDeviceDestroyed, WebGPUError } from '../device.ts';
import { currentPool, readBuffer, writeBuffer } from '../pool.ts';
import { gatherDispatch } from '../kernels/gather.ts';
import { full, operand } from './elementwise.ts';
import { allocStorage, wtype, type WebGPUStorage } from './storage.ts';

let errBuf: GPUBuffer | null = null;
let errDirty = false;
onDeviceDestroyed(() => {
  errBuf = null; // the pool destroys it
  errDirty = false;
});

function errBuffer(): GPUBuffer {
  if (!errBuf) {
    errBuf = currentPool().acquire(4);
    writeBuffer(errBuf, new Uint32Array(1));
  }
  return errBuf;
}

/** Throws if a gather/scatterAdd since the last check saw an out-of-range index. */
export async function checkIndexErrors(): Promise<void> {
  if (!errDirty || !errBuf) return;
  const buf = errBuf;
  errDirty = false;
  const v = new Uint32Array(await readBuffer(buf, 4, 0))[0];
  if (v !== 0) {
    writeBuffer(buf, new Uint32Array(1));
    throw new WebGPUError('gather/scatterAdd: an index was out of range for the indexed dim (detected on the GPU; the affected elements are 0)');
  }
}

export function gather(x: View, axis: number, index: View, dtype: DType): WebGPUStorage {
  const n = index.shape.reduce((p, d) => p * d, 1);
  const out = allocStorage(n, dtype);
  if (n === 0) return out;
  gatherDispatch('gather', {
    x: operand(x),
    index: operand(index),
    shape: index.shape,
    axis,
    axisSize: x.shape[axis]!,
    out: out.buffer,
    err: errBuffer(),
    type: wtype(dtype),
  });
  errDirty = true;
  return out;
}

export function scatterAdd(shape: Shape, axis: number, index: View, src: View, dtype: DType): WebGPUStorage {
  const n = shape.reduce((p, d) => p * d, 1);
  const out = full(n, 0, dtype);
  if (index.shape.reduce((p, d) => p * d, 1) === 0) return out;
  const outStrides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    outStrides[i] = s;
    s *= shape[i]!;
  }
  gatherDispatch('scatter_add', {
    x: operand(src),
    index: operand(index),
    shape: index.shape,
    axis,
    axisSize: shape[axis]!,
    out: out.buffer,
    outStrides,
    err: errBuffer(),
    type: wtype(dtype),
  });
  errDirty = true;
  return out;
}
