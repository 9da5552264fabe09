/**
 * Compiled compute-pipeline cache keyed by (WGSL code, entry point, override constants),
 * with layout 'auto'. On llvmpipe a first compile costs 0.1–2 s, so every kernel must go
 * through this cache.
 */
import { onDeviceDestroyed, throwPendingErrors, WebGPUError } from './device.ts';

export type OverrideConstants = Record<string, number>;

interface DeviceCache {
  modules: Map<string, GPUShaderModule>;
  pipelines: Map<string, GPUComputePipeline>;
  pending: Map<string, Promise<GPUComputePipeline>>;
}

const caches = new WeakMap<GPUDevice, DeviceCache>();
let lastDevice: GPUDevice | null = null;
onDeviceDestroyed(() => {
  if (lastDevice) caches.delete(lastDevice);
  lastDevice = null;
});

let compiles = 0;

function cacheFor(device: GPUDevice): DeviceCache {
  let c = caches.get(device);
  if (!c) {
    c = { modules: new Map(), pipelines: new Map(), pending: new Map() };
    caches.set(device, c);
  }
  lastDevice = device;
  return c;
}

function constantsKey(constants?: OverrideConstants): string {
  if (!constants) return '';
  return Object.keys(constants)
    .sort()
    .map((k) => `${k}=${constants[k]}`)
    .join(',');
}

export function pipelineKey(code: string, entryPoint: string, constants?: OverrideConstants): string {
  return `${entryPoint}\u0000${constantsKey(constants)}\u0000${code}`;
}

function getModule(device: GPUDevice, c: DeviceCache, code: string): GPUShaderModule {
  let m = c.modules.get(code);
  if (!m) {
    m = device.createShaderModule({ code });
    c.modules.set(code, m);
  }
  return m;
}

function descriptor(
  module: GPUShaderModule,
  entryPoint: string,
  constants?: OverrideConstants,
  label?: string,
): GPUComputePipelineDescriptor {
  return {
    layout: 'auto',
    label: label ?? entryPoint,
    compute: constants && Object.keys(constants).length > 0 ? { module, entryPoint, constants } : { module, entryPoint },
  };
}

/** Synchronous lookup/creation. Compilation errors surface through the device's error handlers. */
export function getPipeline(
  device: GPUDevice,
  code: string,
  entryPoint = 'main',
  constants?: OverrideConstants,
): GPUComputePipeline {
  const c = cacheFor(device);
  const key = pipelineKey(code, entryPoint, constants);
  let p = c.pipelines.get(key);
  if (!p) {
    compiles++;
    p = device.createComputePipeline(descriptor(getModule(device, c, code), entryPoint, constants));
    c.pipelines.set(key, p);
  }
  return p;
}

/**
 * Async creation with clear WGSL compile errors (message includes line:col). Use it to
 * warm the cache; later `getPipeline` calls with the same key are hits.
 */
export async function getPipelineAsync(
  device: GPUDevice,
  code: string,
  entryPoint = 'main',
  constants?: OverrideConstants,
): Promise<GPUComputePipeline> {
  const c = cacheFor(device);
  const key = pipelineKey(code, entryPoint, constants);
  const hit = c.pipelines.get(key);
  if (hit) return hit;
  let pend = c.pending.get(key);
  if (!pend) {
    pend = (async () => {
      const module = getModule(device, c, code);
      const info = await module.getCompilationInfo();
      const errs = info.messages.filter((m) => m.type === 'error');
      if (errs.length > 0) {
        c.modules.delete(code);
        throw new WebGPUError(
          `WGSL compile error (entry '${entryPoint}'):\n` +
            errs.map((m) => `  ${m.lineNum}:${m.linePos} ${m.message}`).join('\n'),
        );
      }
      compiles++;
      try {
        const p = await device.createComputePipelineAsync(descriptor(module, entryPoint, constants));
        c.pipelines.set(key, p);
        return p;
      } catch (e) {
        throwPendingErrors();
        throw new WebGPUError(
          `WebGPU pipeline creation failed (entry '${entryPoint}', constants {${constantsKey(constants)}}): ${
            (e as Error).message
          }`,
        );
      } finally {
        c.pending.delete(key);
      }
    })();
    c.pending.set(key, pend);
  }
  return pend;
}

export function pipelineCacheStats(device: GPUDevice): { modules: number; pipelines: number; compiles: number } {
  const c = caches.get(device);
  return { modules: c?.modules.size ?? 0, pipelines: c?.pipelines.size ?? 0, compiles };
}
