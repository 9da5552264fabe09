/**
 * Batched kernel dispatch: many dispatches are recorded into one command encoder / one
 * compute pass and submitted once on `flush()` (or automatically before any readback or
 * queue.writeBuffer issued through pool.ts). On llvmpipe each dispatch still has a fixed cost,
 * but batching avoids a submit per op.
 *
 * Bindings (group 0): `buffers[i]` is bound at binding i; the uniform block (if any) at
 * binding `uniformBinding` (default: buffers.length). With layout 'auto', every binding must
 * be statically used by the entry point.
 *
 * Uniforms are packed into a per-batch arena (256-byte aligned slots in pooled 64 KiB
 * UNIFORM buffers) written with one queue.writeBuffer per arena chunk at flush time.
 */
import {
  currentDevice,
  getDevice,
  onBeforeQueueOp,
  onDeviceDestroyed,
  throwPendingErrors,
  WebGPUError,
} from './device.ts';
import { getPipeline, type OverrideConstants } from './pipelines.ts';
import { BufferPool, currentPool, readBuffer } from './pool.ts';

export type Binding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

export interface DispatchSpec {
  code: string;
  entryPoint?: string;
  constants?: OverrideConstants;
  /** Storage buffers, bound at bindings 0..n-1 of group 0. */
  buffers: Binding[];
  /** Uniform block contents (≤ 256 bytes per dispatch). */
  uniforms?: ArrayBufferView | ArrayBuffer;
  /** Binding index of the uniform block; default `buffers.length`. */
  uniformBinding?: number;
  /** Workgroup counts [x, y?, z?]. */
  workgroups: readonly [number, number?, number?] | readonly number[];
  label?: string;
}

function isRange(b: Binding): b is { buffer: GPUBuffer; offset?: number; size?: number } {
  return (b as { buffer?: unknown }).buffer !== undefined;
}

const UNIFORM_SLOT = 256;
const ARENA_BYTES = 64 * 1024;

interface Arena {
  buf: GPUBuffer;
  data: Uint8Array;
  used: number;
}

export class Batch {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  /** Flush automatically after this many recorded dispatches. */
  maxPending = 1024;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private arenas: Arena[] = [];
  private pendingCount = 0;
  private flushing = false;
  private stats = { dispatches: 0, submits: 0 };

  constructor(device: GPUDevice, pool: BufferPool) {
    this.device = device;
    this.pool = pool;
  }

  get pending(): number {
    return this.pendingCount;
  }

  counters(): { dispatches: number; submits: number } {
    return { ...this.stats };
  }

  private uniformSlot(bytes: Uint8Array): { buffer: GPUBuffer; offset: number; size: number } {
    if (bytes.byteLength > UNIFORM_SLOT) {
      throw new WebGPUError(`kernel uniforms of ${bytes.byteLength} bytes exceed the ${UNIFORM_SLOT}-byte slot`);
    }
    let a = this.arenas[this.arenas.length - 1];
    if (!a || a.used + UNIFORM_SLOT > ARENA_BYTES) {
      a = { buf: this.pool.acquireUniform(ARENA_BYTES), data: new Uint8Array(ARENA_BYTES), used: 0 };
      this.arenas.push(a);
    }
    const offset = a.used;
    a.data.set(bytes, offset);
    a.used += UNIFORM_SLOT;
    // WGSL uniform structs are sized in multiples of 16 bytes.
    const size = Math.max(16, Math.ceil(bytes.byteLength / 16) * 16);
    return { buffer: a.buf, offset, size };
  }

  /** Records one dispatch (no GPU work happens until flush). */
  dispatch(spec: DispatchSpec): void {
    const [x, y = 1, z = 1] = spec.workgroups as readonly number[];
    if (x === undefined || x <= 0 || y <= 0 || z <= 0) return; // empty dispatch
    const maxWg = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxWg || y > maxWg || z > maxWg) {
      throw new WebGPUError(
        `dispatch ${spec.label ?? spec.entryPoint ?? 'main'}: workgroups [${x},${y},${z}] exceed ` +
          `maxComputeWorkgroupsPerDimension = ${maxWg}`,
      );
    }
    const pipeline = getPipeline(this.device, spec.code, spec.entryPoint ?? 'main', spec.constants);
    const entries: GPUBindGroupEntry[] = spec.buffers.map((b, i) => ({
      binding: i,
      resource: isRange(b) ? b : { buffer: b },
    }));
    if (spec.uniforms) {
      const u = ArrayBuffer.isView(spec.uniforms)
        ? new Uint8Array(spec.uniforms.buffer, spec.uniforms.byteOffset, spec.uniforms.byteLength)
        : new Uint8Array(spec.uniforms);
      entries.push({ binding: spec.uniformBinding ?? spec.buffers.length, resource: this.uniformSlot(u) });
    }
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    if (!this.pass) {
      this.encoder = this.device.createCommandEncoder();
      this.pass = this.encoder.beginComputePass();
    }
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
    this.pendingCount++;
    this.stats.dispatches++;
    if (this.pendingCount >= this.maxPending) this.flush();
  }

  /** Submits everything recorded so far (no-op when empty). Throws pending device errors. */
  flush(): void {
    if (this.flushing) return;
    if (!this.pass || !this.encoder) {
      throwPendingErrors();
      return;
    }
    this.flushing = true;
    try {
      this.pass.end();
      const cmd = this.encoder.finish();
      for (const a of this.arenas) {
        this.device.queue.writeBuffer(a.buf, 0, a.data.buffer, 0, a.used);
      }
      this.device.queue.submit([cmd]);
      this.stats.submits++;
      // Safe to recycle immediately: later writes to these buffers are queue-ordered after this submit.
      for (const a of this.arenas) this.pool.release(a.buf);
    } finally {
      this.arenas = [];
      this.pass = null;
      this.encoder = null;
      this.pendingCount = 0;
      this.flushing = false;
    }
    throwPendingErrors();
  }

  /** Flushes and waits until the GPU finished all submitted work. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    throwPendingErrors();
  }

  /** Flushes, then reads `bytes` bytes of `buf`. */
  async read(buf: GPUBuffer, bytes: number = buf.size, offset = 0): Promise<ArrayBuffer> {
    this.flush();
    return readBuffer(buf, bytes, offset, this.device);
  }

  /** Drops recorded work without submitting it. */
  discard(): void {
    if (this.pass) this.pass.end();
    for (const a of this.arenas) this.pool.release(a.buf);
    this.arenas = [];
    this.pass = null;
    this.encoder = null;
    this.pendingCount = 0;
  }
}

let batchRef: Batch | null = null;
let unhook: (() => void) | null = null;
onDeviceDestroyed(() => {
  batchRef?.discard();
  batchRef = null;
  unhook?.();
  unhook = null;
});

function ensureBatch(device: GPUDevice): Batch {
  if (!batchRef || batchRef.device !== device) {
    unhook?.();
    const b = new Batch(device, currentPool());
    batchRef = b;
    unhook = onBeforeQueueOp(() => b.flush());
  }
  return batchRef;
}

/** The shared batch of the shared device; it is flushed before pool.ts readback/writes. */
export async function getBatch(): Promise<Batch> {
  return ensureBatch(await getDevice());
}

/** Synchronous variant; requires `await getDevice()` first. */
export function currentBatch(): Batch {
  return ensureBatch(currentDevice());
}

/** Records a dispatch on the shared batch (requires `await getDevice()` first). */
export function dispatch(spec: DispatchSpec): void {
  currentBatch().dispatch(spec);
}

/** Submits the shared batch. */
export function flush(): void {
  if (batchRef) batchRef.flush();
}

/** Packs numbers into a uniform block: `u32`/`i32`/`f32` fields in order, 4 bytes each. */
export function packUniforms(fields: ReadonlyArray<readonly ['u32' | 'i32' | 'f32', number]>): ArrayBuffer {
  const n = Math.max(4, Math.ceil(fields.length / 4) * 4);
  const ab = new ArrayBuffer(n * 4);
  const dv = new DataView(ab);
  fields.forEach(([t, v], i) => {
    if (t === 'f32') dv.setFloat32(i * 4, v, true);
    else if (t === 'i32') dv.setInt32(i * 4, v, true);
    else dv.setUint32(i * 4, v >>> 0, true);
  });
  return ab;
}
