// The WebGPU backend of @kts/tensor: every primitive of the Backend interface on GPU buffers.
//
// Storage: WebGPUStorage (ops/storage.ts) — a pooled GPUBuffer + dtype + length; dispose()
// returns the buffer to the pool, and a FinalizationRegistry returns the buffers of storages
// that were garbage-collected without dispose (autograd temporaries).
// Reads are asynchronous only (no readSync): `await t.data()` / `toDeviceAsync(t, 'cpu')`.
// Kernels: kernels/elementwise (unary/binary/where/copy/assign/fill), kernels/reduce,
// kernels/matmul* (matmul), kernels/gather (gather/scatter_add).
// float16 (adapters with shader-f16): a storage type for frozen weights. fromArray converts
// float32 values on the GPU, read returns float32, copy casts either way, matmul takes it as B;
// the other primitives refuse to produce it.
import { type Backend, type DType, type TypedArray, type View, shapes } from '@kts/tensor';
import { hasDevice, hasFeature, WebGPUError } from './device.ts';
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
  if (dtype === 'float32' || dtype === 'float16') return typeof data === 'number' ? new Float32Array(data) : new Float32Array(data);
  throw new WebGPUError(`the webgpu backend does not support ${dtype} (supports float32, int32)`);
}

function fromArray(data: TypedArray, dtype: DType): WebGPUStorage {
  ensureDevice();
  if (dtype === 'float16') {
    // Upload float32, round to f16 on the GPU (one float32 copy of this tensor at a time).
    const f32 = fromArray(data, 'float32');
    try {
      return ew.copy({ storage: f32, shape: [data.length], strides: [1], offset: 0 }, 'float16');
    } finally {
      disposeStorage(f32);
    }
  }
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
  if (s.dtype === dtype && dtype !== 'float16' && shapes.isContiguous(v.shape, v.strides)) {
    buf = s.buffer;
    off = v.offset;
  } else {
    tmp = ew.copy(v, dtype === 'float16' ? 'float32' : dtype);
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

/** guard() for primitives that must not produce float16 (their last argument is the output dtype). */
function noF16<A extends [...unknown[], DType], R>(op: string, fn: (...args: A) => R): (...args: A) => R {
  return guard((...args: A) => {
    if (args[args.length - 1] === 'float16') {
      throw new WebGPUError(`webgpu ${op}: float16 is a storage type for weights (cast() and matmul take it); cast to float32 first`);
    }
    return fn(...args);
  });
}

export const webgpuBackend: Backend = {
  name: 'webgpu',
  // float16 only where the device has shader-f16 (see requireF16 for the message elsewhere).
  get dtypes(): DType[] {
    return hasFeature('shader-f16') ? ['float32', 'int32', 'float16'] : ['float32', 'int32'];
  },
  fromArray,
  full: guard(ew.full),
  read,
  copy: guard(ew.copy),
  unary: noF16('unary', ew.unary),
  binary: noF16('binary', ew.binary),
  where: noF16('where', ew.where),
  reduce: noF16('reduce', reduce),
  matmul: noF16('matmul', matmul),
  gather: noF16('gather', gather),
  scatterAdd: noF16('scatterAdd', scatterAdd),
  assign: guard((dst: View, src: View) => {
    if (dst.storage.dtype === 'float16') throw new WebGPUError('webgpu assign: float16 tensors are read-only weights; cast to float32 first');
    ew.assign(dst, src);
  }),
  fused: fusedOps,
  dispose: disposeStorage,
};
