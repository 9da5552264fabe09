// @kts/webgpu: the WebGPU backend of @kts/tensor (Dawn in Node via the `webgpu` package).
//
//   const desc = await initWebGPU();        // registers the 'webgpu' backend
//   const x = tensor([1, 2, 3]).to('webgpu');
//   const y = x.exp().sum();
//   await y.data();                          // reads are async (t.toArray() throws on webgpu)
//   const back = await toDeviceAsync(y, 'cpu');
//   shutdownWebGPU();                        // lets Node exit
import { registerBackend } from '@kts/tensor';
import { adapterInfo, destroyDevice, getDevice, hasDevice } from './device.ts';
import { getPool } from './pool.ts';
import { flush, getBatch } from './dispatch.ts';
import { webgpuBackend } from './backend.ts';

/** Gets the device, registers the 'webgpu' backend and returns a one-line description. */
export async function initWebGPU(): Promise<string> {
  await getDevice();
  await getPool();
  await getBatch();
  registerBackend(webgpuBackend);
  return describeAdapter();
}

/** e.g. "llvmpipe-llvm-15-0-6-512-bits via OpenGL ES (OpenGL ES 3.2 Mesa 22.3.6), compatibility mode". */
export function describeAdapter(): string {
  const i = adapterInfo();
  const name = [i.vendor, i.architecture].filter((s) => s.length > 0).join(' ')
    || i.device.replace(/-+$/, '')
    || 'unknown adapter';
  const via = i.backend === 'opengles'
    ? `OpenGL ES${i.description ? ` (${i.description.replace(/^OpenGL version /, '')})` : ''}, compatibility mode`
    : `${i.description || 'native backend'}`;
  return `${name}${i.device && name !== i.device.replace(/-+$/, '') ? ` [${i.device}]` : ''} via ${via}`;
}

/** Submits pending work and destroys the device (Node can exit afterwards). */
export function shutdownWebGPU(): void {
  if (hasDevice()) {
    try {
      flush();
    } catch {
      /* report nothing: we are shutting down */
    }
  }
  destroyDevice();
}

export { webgpuBackend, WebGPUStorage, webgpuDebug, gcPolicy, collectGarbage, checkIndexErrors } from './backend.ts';
export {
  getDevice, currentDevice, hasDevice, adapterInfo, destroyDevice, checkStorageBufferSize, checkWorkgroupLimits,
  kernelFamily, setKernelFamily, hasFeature, requireF16, type KernelFamily,
  throwPendingErrors, onDeviceDestroyed, WebGPUError, type AdapterInfoSummary,
} from './device.ts';
export {
  BufferPool, getPool, currentPool, acquire, release, poolStats, sizeClass, writeBuffer, readBuffer, readF32,
  type PoolStats,
} from './pool.ts';
export { getPipeline, getPipelineAsync, pipelineCacheStats } from './pipelines.ts';
export { Batch, getBatch, currentBatch, dispatch, flush, packUniforms, type DispatchSpec, type Binding } from './dispatch.ts';
export { matmul, matmulSpec, planMatmul, type MatmulShape } from './kernels/matmul.ts';
export { elementwise, elementwiseSource } from './kernels/elementwise.ts';
export { reduceRows } from './kernels/reduce.ts';
export { DawnWarningFilter } from './dawn-warnings.ts';
