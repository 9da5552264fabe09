// WebGPU storage: a pooled GPUBuffer + dtype + length, released to the pool by dispose() or,
// for storages that were garbage-collected without dispose (autograd temporaries), by a
// FinalizationRegistry. Optional GC pressure: when the pool's bytes in use grow past a
// threshold since the last collection, a full GC is requested (V8 cannot see GPU memory).
import type { DType, Storage } from '@kts/tensor';
import { gcFunction as getGc } from '@kts/tensor/host';
import { currentDevice, hasDevice, requireF16, WebGPUError } from '../device.ts';
import { currentPool, type BufferPool } from '../pool.ts';
import { elementwise, type WType } from '../kernels/elementwise.ts';

/** Buffer ownership, shared by the storage and its finalizer (must not reference the storage). */
interface Handle {
  buf: GPUBuffer | null;
  pool: BufferPool;
}

export const debug = {
  /** Fill every new output storage with NaN (f32) / 0x7fc00000 (i32) before the op writes it. */
  poison: false,
  /** Storages released by the finalizer (GC'd without dispose). */
  finalized: 0,
  disposed: 0,
};

const registry = new FinalizationRegistry<Handle>((h) => {
  if (!h.buf) return;
  const buf = h.buf;
  h.buf = null;
  debug.finalized++;
  try {
    if (hasDevice() && currentPool() === h.pool) h.pool.release(buf);
  } catch {
    /* device destroyed meanwhile */
  }
});

export function wtype(dtype: DType): WType {
  if (dtype === 'float32') return 'f32';
  if (dtype === 'int32') return 'i32';
  if (dtype === 'float16') {
    requireF16('webgpu');
    return 'f16';
  }
  throw new WebGPUError(`the webgpu backend does not support ${dtype} (supports float32, int32, float16 with shader-f16)`);
}

/** Bytes of a buffer holding `length` elements of `type` (at least 4, a multiple of 4). */
export function storageBytes(length: number, type: WType): number {
  return Math.max(4, Math.ceil((length * (type === 'f16' ? 2 : 4)) / 4) * 4);
}

export class WebGPUStorage implements Storage {
  readonly backend = 'webgpu';
  readonly type: WType;
  /** @internal */
  readonly handle: Handle;

  constructor(readonly dtype: DType, readonly length: number, handle: Handle) {
    this.type = wtype(dtype);
    this.handle = handle;
  }

  /** The GPU buffer (throws if disposed or if its device was destroyed/lost). */
  get buffer(): GPUBuffer {
    const b = this.handle.buf;
    if (!b) throw new WebGPUError('webgpu: tensor storage was used after dispose()');
    if (!hasDevice() || currentPool() !== this.handle.pool) {
      throw new WebGPUError('webgpu: tensor storage belongs to a WebGPU device that was destroyed or lost; recreate the tensor');
    }
    return b;
  }

  get disposed(): boolean {
    return this.handle.buf === null;
  }
}

export function asStorage(s: Storage): WebGPUStorage {
  if (!(s instanceof WebGPUStorage)) throw new WebGPUError(`webgpu: expected a webgpu storage, got one from the '${s.backend}' backend`);
  return s;
}

// ---- GC pressure ---------------------------------------------------------------------------

export const gcPolicy = {
  /** Request a full GC when bytes in use grew by this much since the last one (0 = never). */
  thresholdBytes: 256 * 1024 * 1024,
  lastBytes: 0,
  collections: 0,
};

function maybeCollect(pool: BufferPool): void {
  if (gcPolicy.thresholdBytes <= 0) return;
  const inUse = pool.stats().bytesInUse;
  if (inUse < gcPolicy.lastBytes) gcPolicy.lastBytes = inUse;
  if (inUse - gcPolicy.lastBytes < gcPolicy.thresholdBytes) return;
  const gc = getGc();
  gcPolicy.lastBytes = inUse;
  if (!gc) return;
  gcPolicy.collections++;
  gc(); // finalizers run later (next task); the threshold is measured from here
}

/** Forces a collection now when possible (finalizers run on a later task). Returns whether it ran. */
export function collectGarbage(): boolean {
  const gc = getGc();
  if (!gc) return false;
  gc();
  return true;
}

// ---- allocation ----------------------------------------------------------------------------

/** A new storage of `length` elements (contents undefined unless debug.poison). */
export function allocStorage(length: number, dtype: DType): WebGPUStorage {
  const type = wtype(dtype);
  currentDevice(); // clear error when there is no device (lost / not initialised)
  const pool = currentPool();
  maybeCollect(pool);
  const buf = pool.acquire(storageBytes(length, type));
  const handle: Handle = { buf, pool };
  const s = new WebGPUStorage(dtype, length, handle);
  registry.register(s, handle, s);
  if (debug.poison && length > 0) {
    elementwise(type === 'f16' ? 'f16(bitcast<f32>(p.bits))' : `bitcast<${type}>(p.bits)`, [length], { buffer: buf, type, offset: 0, strides: [1] }, [], {
      bits: 0x7fc00000,
      label: 'poison',
    });
  }
  return s;
}

export function disposeStorage(s: Storage): void {
  if (!(s instanceof WebGPUStorage)) return;
  const h = s.handle;
  if (!h.buf) return;
  const buf = h.buf;
  h.buf = null;
  registry.unregister(s);
  debug.disposed++;
  try {
    if (hasDevice() && currentPool() === h.pool) h.pool.release(buf);
  } catch {
    /* device destroyed meanwhile */
  }
}
