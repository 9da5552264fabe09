// The WebGPU backend of @kts/tensor: every primitive of the Backend interface on GPU buffers.
//
// Storage: WebGPUStorage (ops/storage.ts) — a pooled GPUBuffer + dtype + length; dispose()
// returns the buffer to the pool, and a FinalizationRegistry returns the buffers of storages
// that were garbage-collected without dispose (autograd temporaries).
// Reads are asynchronous only (no readSync): `await t.data()` / `toDeviceAsync(t, 'cpu')`.
// Kernels: kernels/elementwise (unary/binary/where/copy/assign/fill), kernels/reduce,
// kernels/matmul, kernels/gather (gather/scatter_add).
import { type Backend, type DType, type TypedArray, type View, shapes } from '@kts/tensor';
import { hasDevice, WebGPUError } from './device.ts';
import { readBuffer, writeBuffer } from './pool.ts';
import { fusedOps } from './fused/index.ts';
import * as ew from './ops/elementwise.ts';
import { checkIndexErrors, gather, scatterAdd } from './ops/gather.ts';
import { matmul } from './ops/matmul.ts';
import { reduce } from './ops/reduce.ts';
import { allocStorage, asStorage, disposeStorage, type WebGPUStorage } from './ops/storage.ts';

export { WebGPUStorage, debug as webgpuDebug, gcPolicy, collectGarbage } from './ops/storage.ts';
export { checkIndexErrors } from './ops/gather.ts';

function ensureDevice(): void {
  if (!hasDevice()) {
    throw new WebGPUError("webgpu: no device — call 'await initWebGPU()' first (or the device was destroyed / lost)");
  }
}



function typed(dtype: DType, data: ArrayBuffer | number): TypedArray {
  if (dtype === 'int32') return typeof data === 'number' ? new Int32Array(data) : new Int32Array(data);
  if (dtype === 'float32') return typeof data === 'number' ? new Float32Array(data) : new Float32Array(data);
  throw new WebGPUError(`the webgpu backend does not support ${dtype} (supports float32, int32)`);
}

function fromArray(data: TypedArray, dtype: DType): WebGPUStorage {
  ensureDevice();
  const s = allocStorage(data.length, dtype);
  if (data.length > 0) {
    const src = dtype === 'int32'
      ? (data instanceof Int32Array ? data : Int32Array.from(data))
      : (data instanceof Float32Array ? data : Float32Array.from(data));
    writeBuffer(s.buffer, src);
  }
  return s;
}

async function read(v: View, dtype: DType): Promise<TypedArray> {
  ensureDevice();
  const n = shapes.numel(v.shape);
  const s = asStorage(v.storage);
  if (n === 0) {
    await checkIndexErrors();
    return typed(dtype, 0);
  }
  let tmp: WebGPUStorage | null = null;
  let buf: GPUBuffer;
  let off: number;
  if (s.dtype === dtype && shapes.isContiguous(v.shape, v.strides)) {
    buf = s.buffer;
    off = v.offset;
  } else {
    tmp = ew.copy(v, dtype);
    buf = tmp.buffer;
    off = 0;
  }
  try {
    const ab = await readBuffer(buf, n * 4, off * 4);
    await checkIndexErrors();
    return typed(dtype, ab);
  } finally {
    if (tmp) disposeStorage(tmp);
  }
}

function guard<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  return (...args: A) => {
    ensureDevice();
    return fn(...args);
  };
}

export const webgpuBackend: Backend = {
  name: 'webgpu',
  dtypes: ['float32', 'int32'],
  fromArray,
  full: guard(ew.full),
  read,
  copy: guard(ew.copy),
  unary: guard(ew.unary),
  binary: guard(ew.binary),
  where: guard(ew.where),
  reduce: guard(reduce),
  matmul: guard(matmul),
  gather: guard(gather),
  scatterAdd: guard(scatterAdd),
  assign: guard(ew.assign),
  fused: fusedOps,
  dispose: disposeStorage,
};
