/**
 * WebGPU side of the kernel harness: device set-up, queue sync, NaN-poisoned buffers (through the
 * test helpers), and versions that differ only by kernel family (the row kernels' plans).
 */
import { getBatch, getDevice, getPool, initWebGPU, setKernelFamily, shutdownWebGPU, type Batch, type KernelFamily } from '@kts/webgpu';
import { download, release, upload } from '../../test/webgpu/helpers.ts';
import type { KernelEntry, KernelInstance, KernelVersion } from './harness.ts';

let batchRef: Batch | null = null;

/** The part of a KernelEntry every WebGPU kernel shares. */
export const webgpuBackend: Pick<KernelEntry<unknown>, 'backend' | 'init' | 'close'> = {
  backend: 'webgpu',
  async init() {
    const desc = await initWebGPU();
    await getDevice();
    await getPool();
    batchRef = await getBatch();
    return desc;
  },
  close() {
    shutdownWebGPU();
  },
};

export function batch(): Batch {
  if (!batchRef) throw new Error('kernel harness: init() first');
  return batchRef;
}

/** Flush and wait for the queue. */
export async function sync(): Promise<void> {
  const b = batch();
  b.flush();
  await b.device.queue.onSubmittedWorkDone();
}

/** An instance's GPU buffers, released by dispose(). */
export class Buffers {
  private readonly all: GPUBuffer[] = [];
  /** A buffer holding data (Float32Array / Int32Array), or `n` NaN-poisoned floats. */
  add(data: Float32Array | Int32Array | number): GPUBuffer {
    const b = upload(data);
    this.all.push(b);
    return b;
  }
  own(b: GPUBuffer): GPUBuffer {
    this.all.push(b);
    return b;
  }
  read(b: GPUBuffer, n: number): Promise<Float32Array> {
    return download(b, n);
  }
  dispose(): void {
    release(...this.all);
    this.all.length = 0;
  }
}

/** Runs fn with a kernel family forced (the launchers plan by family at dispatch time). */
export function inFamily(family: KernelFamily, fn: () => void): void {
  const prev = setKernelFamily(family);
  try {
    fn();
  } finally {
    setKernelFamily(prev);
  }
}

/**
 * The two versions of a kernel whose WGSL is shared and whose plan is chosen by kernel family:
 * 1 = the CPU-renderer plan (workgroup = llvmpipe's SIMD width), 2 = the GPU plan (256-wide
 * workgroups, subgroup reductions where the device has them).
 */
export function familyVersions<S>(file: string, setup: (shape: S, family: KernelFamily, rng: Parameters<KernelVersion<S>['setup']>[1]) => Promise<KernelInstance>): KernelVersion<S>[] {
  return [
    { version: 1, file, about: 'CPU-renderer plan: workgroups as wide as llvmpipe SIMD lanes', setup: (s, rng) => setup(s, 'llvmpipe', rng) },
    { version: 2, file, about: 'GPU plan: 256-wide workgroups, subgroup reductions where the device has them', setup: (s, rng) => setup(s, 'gpu', rng) },
  ];
}
