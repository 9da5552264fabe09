/**
 * GPU buffer pool keyed by (usage, size class).
 *
 * Size classes: requests are rounded up to 256 B, then to the next of
 * {1, 1.25, 1.5, 1.75} × 2^k (at most 25 % waste), capped at the device's
 * maxStorageBufferBindingSize for storage buffers. Storage buffers are created with
 * STORAGE | COPY_SRC | COPY_DST.
 *
 * Reuse is safe without waiting for the GPU: WebGPU orders queue operations, so a buffer
 * released after its last dispatch was *submitted* can be re-acquired and written at once.
 * Unsubmitted work is handled by `runFlushHooks()` (the kernel batcher flushes before any
 * queue.writeBuffer / readback issued through this module).
 */
import {
  checkStorageBufferSize,
  currentDevice,
  getDevice,
  onDeviceDestroyed,
  runFlushHooks,
  throwPendingErrors,
  WebGPUError,
} from './device.ts';

export interface PoolStats {
  /** Bytes of buffers currently handed out (size-class bytes, not requested bytes). */
  bytesInUse: number;
  /** Bytes of buffers sitting idle in the pool. */
  bytesPooled: number;
  buffersInUse: number;
  buffersPooled: number;
  /** Total buffers ever created by this pool. */
  created: number;
  /** acquire() calls served from the pool. */
  reused: number;
}

// STORAGE | UNIFORM | COPY_SRC | COPY_DST. UNIFORM too: on llvmpipe kernels/matmul.ts binds 64 KiB
// windows of a tensor's buffer as uniform buffers (matmul-packed.wgsl).
export const STORAGE_USAGE = 0x0080 | 0x0040 | 0x0004 | 0x0008;
export const UNIFORM_USAGE = 0x0040 | 0x0008; // UNIFORM | COPY_DST
export const STAGING_USAGE = 0x0001 | 0x0008; // MAP_READ | COPY_DST

/** Size class for a request (bytes ≥ 1). */
export function sizeClass(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes / 256) * 256);
  if (b <= 1024) return b;
  const p = 2 ** Math.floor(Math.log2(b));
  for (const f of [1, 1.25, 1.5, 1.75, 2]) {
    const s = p * f;
    if (s >= b) return s;
  }
  return 2 * p;
}

interface Meta {
  size: number;
  usage: number;
  key: string;
}

export class BufferPool {
  readonly device: GPUDevice;
  private free = new Map<string, GPUBuffer[]>();
  private meta = new WeakMap<GPUBuffer, Meta>();
  private inUse = new Set<GPUBuffer>();
  private s = { bytesInUse: 0, bytesPooled: 0, created: 0, reused: 0, buffersPooled: 0 };
  /** Idle bytes above which released buffers are destroyed instead of pooled. */
  maxPooledBytes = 1 << 30;

  constructor(device: GPUDevice) {
    this.device = device;
  }

  /** A storage buffer (STORAGE|COPY_SRC|COPY_DST) of at least `bytes` bytes. */
  acquire(bytes: number, usage: number = STORAGE_USAGE): GPUBuffer {
    if (usage & 0x0080) checkStorageBufferSize(this.device, bytes);
    let size = sizeClass(bytes);
    if (usage & 0x0080) size = Math.min(size, Math.ceil(this.device.limits.maxStorageBufferBindingSize / 256) * 256);
    if (size < bytes) size = Math.ceil(bytes / 16) * 16;
    const key = `${usage}:${size}`;
    const list = this.free.get(key);
    let buf = list?.pop();
    if (buf) {
      this.s.reused++;
      this.s.bytesPooled -= size;
      this.s.buffersPooled--;
    } else {
      buf = this.device.createBuffer({ size, usage, label: `pool:${key}` });
      this.meta.set(buf, { size, usage, key });
      this.s.created++;
    }
    this.inUse.add(buf);
    this.s.bytesInUse += size;
    return buf;
  }

  /** A uniform buffer (UNIFORM|COPY_DST) of at least `bytes` bytes. */
  acquireUniform(bytes: number): GPUBuffer {
    return this.acquire(bytes, UNIFORM_USAGE);
  }

  /** Returns a buffer obtained from `acquire()`. Releasing twice or a foreign buffer throws. */
  release(buf: GPUBuffer): void {
    const m = this.meta.get(buf);
    if (!m) throw new WebGPUError('BufferPool.release: buffer was not created by this pool');
    if (!this.inUse.delete(buf)) throw new WebGPUError('BufferPool.release: buffer released twice');
    this.s.bytesInUse -= m.size;
    if (this.s.bytesPooled + m.size > this.maxPooledBytes) {
      buf.destroy();
      return;
    }
    let list = this.free.get(m.key);
    if (!list) this.free.set(m.key, (list = []));
    list.push(buf);
    this.s.bytesPooled += m.size;
    this.s.buffersPooled++;
  }

  /** Size (class) of a pooled buffer. */
  sizeOf(buf: GPUBuffer): number {
    return this.meta.get(buf)?.size ?? buf.size;
  }

  stats(): PoolStats {
    return {
      bytesInUse: this.s.bytesInUse,
      bytesPooled: this.s.bytesPooled,
      buffersInUse: this.inUse.size,
      buffersPooled: this.s.buffersPooled,
      created: this.s.created,
      reused: this.s.reused,
    };
  }

  /** Destroys all idle buffers. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.s.bytesPooled = 0;
    this.s.buffersPooled = 0;
  }

  /** Destroys everything (idle and in use). */
  dispose(): void {
    this.trim();
    for (const b of this.inUse) b.destroy();
    this.inUse.clear();
    this.s.bytesInUse = 0;
  }
}

let poolRef: BufferPool | null = null;
onDeviceDestroyed(() => {
  poolRef?.dispose();
  poolRef = null;
});

/** The pool of the shared device. */
export async function getPool(): Promise<BufferPool> {
  const device = await getDevice();
  if (!poolRef || poolRef.device !== device) poolRef = new BufferPool(device);
  return poolRef;
}

/** Synchronous variant; requires `await getDevice()` first. */
export function currentPool(): BufferPool {
  const device = currentDevice();
  if (!poolRef || poolRef.device !== device) poolRef = new BufferPool(device);
  return poolRef;
}

/** Shorthands on the shared pool (require `await getDevice()` first). */
export function acquire(bytes: number): GPUBuffer {
  return currentPool().acquire(bytes);
}
export function release(buf: GPUBuffer): void {
  currentPool().release(buf);
}
export function poolStats(): PoolStats {
  return currentPool().stats();
}

let staging = new Uint8Array(0);
const STAGING_BYTES = 16 << 20;

/**
 * Dawn's binding refuses SharedArrayBuffer memory ("Invalid argument"), where the CPU backend keeps
 * large tensors (for its matmul workers): copy through a reused plain staging buffer, 16 MiB at a
 * time (writeBuffer copies its source before returning, so the staging memory can be reused).
 */
function writeShared(buf: GPUBuffer, bufferOffset: number, data: ArrayBufferView, device: GPUDevice): void {
  const src = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (staging.length < Math.min(STAGING_BYTES, src.length)) staging = new Uint8Array(Math.min(STAGING_BYTES, src.length));
  for (let at = 0; at < src.length; at += staging.length) {
    const n = Math.min(staging.length, src.length - at);
    staging.set(src.subarray(at, at + n));
    device.queue.writeBuffer(buf, bufferOffset + at, staging.buffer, 0, n);
  }
}

/** Whether memory is a SharedArrayBuffer (a page that is not cross-origin isolated has no such type). */
const isShared = (b: ArrayBufferLike): boolean => typeof SharedArrayBuffer !== 'undefined' && b instanceof SharedArrayBuffer;

/**
 * queue.writeBuffer, after flushing recorded-but-unsubmitted dispatches (which would otherwise
 * observe the new contents, since writeBuffer executes before the next submit).
 */
export function writeBuffer(
  buf: GPUBuffer,
  data: ArrayBufferView | ArrayBuffer,
  bufferOffset = 0,
  device: GPUDevice = currentDevice(),
): void {
  runFlushHooks();
  if (ArrayBuffer.isView(data)) {
    if (isShared(data.buffer)) writeShared(buf, bufferOffset, data, device);
    else device.queue.writeBuffer(buf, bufferOffset, data.buffer, data.byteOffset, data.byteLength);
  } else {
    device.queue.writeBuffer(buf, bufferOffset, data);
  }
}

/** Reusable MAP_READ staging buffers (not shared with the storage pool's stats). */
const stagingFree = new Map<number, GPUBuffer[]>();
let stagingDevice: GPUDevice | null = null;
onDeviceDestroyed(() => {
  for (const l of stagingFree.values()) for (const b of l) b.destroy();
  stagingFree.clear();
  stagingDevice = null;
});

/**
 * Copies `bytes` bytes from `buf` (at `offset`, both multiples of 4) into a fresh ArrayBuffer.
 * Flushes pending batched dispatches first; throws any device error reported meanwhile.
 */
export async function readBuffer(
  buf: GPUBuffer,
  bytes: number = buf.size,
  offset = 0,
  device: GPUDevice = currentDevice(),
): Promise<ArrayBuffer> {
  if (bytes % 4 !== 0 || offset % 4 !== 0) {
    throw new WebGPUError(`readBuffer: bytes (${bytes}) and offset (${offset}) must be multiples of 4`);
  }
  if (offset + bytes > buf.size) {
    throw new WebGPUError(`readBuffer: range ${offset}+${bytes} exceeds buffer size ${buf.size}`);
  }
  runFlushHooks();
  if (stagingDevice !== device) {
    for (const l of stagingFree.values()) for (const b of l) b.destroy();
    stagingFree.clear();
    stagingDevice = device;
  }
  const size = sizeClass(bytes);
  let staging = stagingFree.get(size)?.pop();
  staging ??= device.createBuffer({ size, usage: STAGING_USAGE, label: `staging:${size}` });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buf, offset, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  try {
    await staging.mapAsync(GPUMapMode.READ, 0, bytes);
  } catch (e) {
    throwPendingErrors();
    throw e;
  }
  const out = staging.getMappedRange(0, bytes).slice(0);
  staging.unmap();
  let l = stagingFree.get(size);
  if (!l) stagingFree.set(size, (l = []));
  if (l.length < 4) l.push(staging);
  else staging.destroy();
  throwPendingErrors();
  return out;
}

/** Convenience: `readBuffer` as Float32Array. */
export async function readF32(buf: GPUBuffer, count: number, offsetElems = 0): Promise<Float32Array> {
  return new Float32Array(await readBuffer(buf, count * 4, offsetElems * 4));
}
