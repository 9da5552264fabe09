/**
 * The WebGPU device singleton: Dawn in Node, `navigator.gpu` in a browser. How the adapter is
 * found differs per host (./gpu/node.ts, ./gpu/browser.ts, chosen by package.json "imports":
 * "#gpu"); everything after that — limits, features, error capture, hooks — is shared here.
 *
 * When `CI=true` (Node) and no adapter is found, `getDevice()` throws: tests must never
 * silently skip GPU coverage in CI.
 *
 * Dawn quirk: the object returned by `create()` and the adapter must stay reachable
 * while the device lives (Dawn crashes at random if they are garbage-collected), so
 * they are held in module-level variables. Node will not exit while they are alive:
 * call `destroyDevice()` when done (tests: in `after()`).
 */
/// <reference types="@webgpu/types" preserve="true" />
import { env } from '@kts/tensor/host';
import { type Backend, NO_ADAPTER_HINT, findAdapter } from '#gpu';

export type { Backend };

export interface AdapterInfoSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Which path produced the adapter: Dawn's default or OpenGL ES `create()`, or a browser's navigator.gpu. */
  backend: Backend;
  /** Adapter feature level requested ('core' for a real GPU, 'compatibility' for GL ES). */
  featureLevel: 'core' | 'compatibility';
  /** A CPU implementation offered as a fallback (e.g. Chrome's SwiftShader). */
  isFallback: boolean;
  /** Mesa's CPU renderer (no GPU): slow dispatches, no f16 on its OpenGL ES path. */
  isLlvmpipe: boolean;
  /**
   * A CPU renderer: llvmpipe (OpenGL ES or Vulkan, i.e. lavapipe), SwiftShader, or any adapter Dawn
   * marks as a fallback adapter. Selects the 'llvmpipe' kernel family (see kernelFamily()).
   */
  software: boolean;
  /** Subgroup sizes the adapter reports (0 when it has no `subgroups` feature). */
  subgroupMinSize: number;
  subgroupMaxSize: number;
  /**
   * The kernels' subgroup reductions may run: the device has `subgroups` and, checked once by a
   * probe dispatch, its subgroups are consecutive runs of local_invocation_index (WGSL does not
   * promise that; the reductions use slot = index / subgroup size).
   */
  subgroupReductions: boolean;
  /** llvmpipe only: 32-bit SIMD lanes per invocation batch (8 at 256-bit, 16 at 512-bit); else 0. */
  simdLanes: number;
  /** Dawn flags passed to create() (none in a browser). */
  flags: string[];
  features: string[];
  /** Limits of the created device (we request the adapter's maxima). */
  limits: Record<string, number>;
}

/** Errors raised by this package (device loss, validation errors, limits). */
export class WebGPUError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebGPUError';
  }
}

// ---- module-level references (see Dawn quirk above) ------------------------
let gpuRef: GPU | null = null;
let adapterRef: GPUAdapter | null = null;
let deviceRef: GPUDevice | null = null;
let devicePromise: Promise<GPUDevice> | null = null;
let infoRef: AdapterInfoSummary | null = null;
const pendingErrors: Error[] = [];
/**
 * Every Dawn instance and adapter this process created, kept for its whole life: Dawn crashes
 * when the GC collects them, even after the device was destroyed (a program that probes WebGPU,
 * releases it and goes on on the CPU backend segfaulted a few seconds later).
 */
const retired: unknown[] = [];
const destroyHooks = new Set<() => void>();
const flushHooks = new Set<() => void>();

const LIMIT_NAMES = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxUniformBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBuffersPerShaderStage',
  'maxBindGroups',
  'maxBindingsPerBindGroup',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'minStorageBufferOffsetAlignment',
  'minUniformBufferOffsetAlignment',
] as const;

function readLimits(l: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of LIMIT_NAMES) {
    const v: unknown = Reflect.get(l, k);
    if (typeof v === 'number') out[k] = v;
  }
  return out;
}

async function initDevice(): Promise<GPUDevice> {
  const found = await findAdapter();
  if (!found) {
    const msg = `WebGPU: no adapter found (${NO_ADAPTER_HINT})`;
    throw new WebGPUError(env('CI') === 'true' ? `${msg} — required in CI` : msg);
  }
  const { gpu, adapter, backend } = found;
  gpuRef = gpu;
  adapterRef = adapter;

  // Ask for the adapter's maxima: defaults are much lower (e.g. 16 KiB workgroup
  // memory and 128 invocations per workgroup instead of 32 KiB / 1024 on llvmpipe).
  const requiredLimits: Record<string, number> = {};
  for (const [k, v] of Object.entries(readLimits(adapter.limits))) {
    if (k.startsWith('min')) continue; // alignments: keep defaults
    requiredLimits[k] = v;
  }
  // Optional features the kernels specialise on: f16 weight storage (kernels/matmul-tiled.wgsl)
  // and subgroup reductions (kernels/rows.wgsl).
  const requiredFeatures: GPUFeatureName[] = [];
  for (const f of ['shader-f16', 'subgroups'] as const) if (adapter.features.has(f)) requiredFeatures.push(f);
  const device = await adapter.requestDevice({
    requiredLimits,
    requiredFeatures,
    label: 'kts',
  });

  device.addEventListener('uncapturederror', (ev: Event) => {
    const err = (ev as GPUUncapturedErrorEvent).error;
    const kind = err?.constructor?.name ?? 'GPUError';
    const e = new WebGPUError(`WebGPU uncaptured ${kind}: ${err?.message ?? String(err)}`);
    pendingErrors.push(e);
  });
  void device.lost.then((info) => {
    if (info.reason === 'destroyed') return;
    pendingErrors.push(
      new WebGPUError(`WebGPU device lost (${info.reason}): ${info.message || 'no message'}`),
    );
    if (deviceRef === device) resetRefs();
  });

  const ai = adapter.info;
  const description = ai.description ?? '';
  const devName = ai.device ?? '';
  const names = `${devName} ${description} ${ai.vendor} ${ai.architecture}`;
  const isLlvmpipe = /llvmpipe/i.test(names);
  // Newer than the GPUAdapterInfo type (subgroup sizes).
  const infoNumber = (k: string): number => Number(Reflect.get(ai, k) ?? 0);
  const hasSubgroups = device.features.has('subgroups');
  infoRef = {
    vendor: ai.vendor ?? '',
    architecture: ai.architecture ?? '',
    device: devName,
    description,
    backend,
    featureLevel: found.featureLevel,
    isFallback: ai.isFallbackAdapter === true,
    isLlvmpipe,
    software: isLlvmpipe || /swiftshader/i.test(names) || ai.isFallbackAdapter === true,
    subgroupMinSize: hasSubgroups ? infoNumber('subgroupMinSize') : 0,
    subgroupMaxSize: hasSubgroups ? infoNumber('subgroupMaxSize') : 0,
    subgroupReductions: false,
    simdLanes: isLlvmpipe ? Number(/(\d+)-bits/.exec(devName)?.[1] ?? 256) / 32 : 0,
    flags: found.flags,
    features: [...device.features].map(String).sort(),
    limits: readLimits(device.limits),
  };
  infoRef.subgroupReductions = hasSubgroups && (await subgroupsAreContiguous(device));
  deviceRef = device;
  return device;
}

/** Probe: 256 invocations record whether subgroup_invocation_id == index % subgroup_size. */
async function subgroupsAreContiguous(device: GPUDevice): Promise<boolean> {
  const n = 256;
  const code = `enable subgroups;
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(${n}) fn main(@builtin(local_invocation_index) i: u32,
    @builtin(subgroup_invocation_id) s: u32, @builtin(subgroup_size) sz: u32) {
  out[i] = select(0u, sz, s == i % sz);
}`;
  const buf = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] }));
    pass.dispatchWorkgroups(1);
    pass.end();
    enc.copyBufferToBuffer(buf, 0, read, 0, n * 4);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const sizes = new Uint32Array(read.getMappedRange().slice(0));
    read.unmap();
    const sz = sizes[0]!;
    return sz > 0 && (sz & (sz - 1)) === 0 && sizes.every((v) => v === sz);
  } catch {
    return false;
  } finally {
    buf.destroy();
    read.destroy();
  }
}

function runDestroyHooks(): void {
  for (const h of destroyHooks) {
    try {
      h();
    } catch {
      /* ignore */
    }
  }
}

function resetRefs(): void {
  runDestroyHooks();
  for (const r of [gpuRef, adapterRef]) if (r && !retired.includes(r)) retired.push(r);
  deviceRef = null;
  devicePromise = null;
  infoRef = null;
  adapterRef = null;
  gpuRef = null;
}

/** The shared device (created on first call). */
export function getDevice(): Promise<GPUDevice> {
  if (!devicePromise) {
    devicePromise = initDevice().catch((e: unknown) => {
      devicePromise = null;
      throw e;
    });
  }
  return devicePromise;
}

/** The device if `getDevice()` already resolved, else throws. */
export function currentDevice(): GPUDevice {
  if (!deviceRef) throw new WebGPUError('WebGPU: no device yet — await getDevice() first');
  return deviceRef;
}

export function hasDevice(): boolean {
  return deviceRef !== null;
}

/** Adapter / device summary. Requires `await getDevice()` first. */
export function adapterInfo(): AdapterInfoSummary {
  if (!infoRef) throw new WebGPUError('WebGPU: adapterInfo() called before getDevice() resolved');
  return infoRef;
}

// ---- kernel family -----------------------------------------------------------------------------

/**
 * Which variant of each hot kernel runs: 'llvmpipe' — kernels tuned for CPU renderers (per-lane
 * register tiles, no workgroup memory; also used on SwiftShader) — or 'gpu' — workgroup-memory
 * tiles, wide workgroups and subgroup reductions for real GPUs. Chosen by the adapter
 * (`adapterInfo().software`); `KTS_WEBGPU_KERNELS=gpu|llvmpipe` or setKernelFamily() force one
 * (tests force 'gpu' on llvmpipe so that the GPU variants run in CI).
 */
export type KernelFamily = 'llvmpipe' | 'gpu';
let familyOverride: KernelFamily | null = null;

export function kernelFamily(): KernelFamily {
  if (familyOverride) return familyOverride;
  const forced = env('KTS_WEBGPU_KERNELS');
  if (forced === 'gpu' || forced === 'llvmpipe') return forced;
  if (forced !== undefined && forced !== '' && forced !== 'auto') {
    throw new WebGPUError(`KTS_WEBGPU_KERNELS must be 'gpu', 'llvmpipe' or 'auto', got '${forced}'`);
  }
  return adapterInfo().software ? 'llvmpipe' : 'gpu';
}

/** Forces a kernel family (null: back to KTS_WEBGPU_KERNELS / the adapter's). Returns the previous override. */
export function setKernelFamily(family: KernelFamily | null): KernelFamily | null {
  const prev = familyOverride;
  familyOverride = family;
  return prev;
}

/** Whether the device was created with an optional feature (e.g. 'shader-f16', 'subgroups'). */
export function hasFeature(name: string): boolean {
  return deviceRef !== null && deviceRef.features.has(name);
}

/** Throws the clear message for float16 storage on an adapter without shader-f16. */
export function requireF16(what: string): void {
  if (hasFeature('shader-f16')) return;
  const name = infoRef ? (infoRef.device || infoRef.description || infoRef.vendor).replace(/-+$/, '') : 'this adapter';
  throw new WebGPUError(
    `${what}: float16 storage needs the WebGPU feature 'shader-f16', which ${name} does not have; use float32 ` +
      `(e.g. loadModel without dtype 'float16' / the CLI without --dtype f16)`,
  );
}

/** Destroys the device and drops the Dawn references so Node can exit. Safe to call twice. */
export function destroyDevice(): void {
  const dev = deviceRef;
  if (dev) {
    runDestroyHooks(); // caches/pools release their GPU objects first
    dev.destroy();
  }
  resetRefs();
  pendingErrors.length = 0;
}

/** Called (synchronously) when the device is destroyed or lost: caches drop their objects. */
export function onDeviceDestroyed(hook: () => void): () => void {
  destroyHooks.add(hook);
  return () => destroyHooks.delete(hook);
}

/**
 * Hooks run before any queue operation that must observe previously recorded-but-unsubmitted
 * work (queue.writeBuffer, readback). The kernel batcher registers its flush here.
 */
export function onBeforeQueueOp(hook: () => void): () => void {
  flushHooks.add(hook);
  return () => flushHooks.delete(hook);
}

export function runFlushHooks(): void {
  for (const h of flushHooks) h();
}

/** Throws (and clears) the first error reported by the device's uncaptured-error / lost handlers. */
export function throwPendingErrors(): void {
  if (pendingErrors.length === 0) return;
  const errs = pendingErrors.splice(0);
  if (errs.length === 1) throw errs[0];
  throw new WebGPUError(
    `${errs[0]!.message} (+${errs.length - 1} more: ${errs
      .slice(1, 4)
      .map((e) => e.message)
      .join(' | ')})`,
  );
}

/** Errors reported so far without throwing (for diagnostics). */
export function peekPendingErrors(): readonly Error[] {
  return pendingErrors;
}

// ---- limits -----------------------------------------------------------------

function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(2)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(2)} KiB`;
  return `${n} B`;
}

/**
 * Throws a clear error when a storage binding of `bytes` bytes cannot be bound on `device`
 * (exceeds `maxStorageBufferBindingSize` or `maxBufferSize`).
 */
export function checkStorageBufferSize(device: GPUDevice, bytes: number, what = 'storage buffer'): void {
  if (!Number.isFinite(bytes) || bytes < 0) {
    throw new WebGPUError(`WebGPU: invalid ${what} size ${bytes}`);
  }
  const maxBind = device.limits.maxStorageBufferBindingSize;
  if (bytes > maxBind) {
    throw new WebGPUError(
      `WebGPU: ${what} of ${bytes} bytes (${fmtBytes(bytes)}) exceeds the device limit ` +
        `maxStorageBufferBindingSize = ${maxBind} bytes (${fmtBytes(maxBind)}); split the tensor ` +
        `or the operation into smaller pieces`,
    );
  }
  const maxBuf = device.limits.maxBufferSize;
  if (bytes > maxBuf) {
    throw new WebGPUError(
      `WebGPU: ${what} of ${bytes} bytes (${fmtBytes(bytes)}) exceeds the device limit ` +
        `maxBufferSize = ${maxBuf} bytes (${fmtBytes(maxBuf)})`,
    );
  }
}

/** Throws a clear error if the workgroup-memory / invocation counts exceed device limits. */
export function checkWorkgroupLimits(
  device: GPUDevice,
  sharedBytes: number,
  invocations: number,
  what = 'kernel',
): void {
  const l = device.limits;
  if (sharedBytes > l.maxComputeWorkgroupStorageSize) {
    throw new WebGPUError(
      `WebGPU: ${what} needs ${sharedBytes} bytes of workgroup memory, over ` +
        `maxComputeWorkgroupStorageSize = ${l.maxComputeWorkgroupStorageSize}`,
    );
  }
  if (invocations > l.maxComputeInvocationsPerWorkgroup) {
    throw new WebGPUError(
      `WebGPU: ${what} uses ${invocations} invocations per workgroup, over ` +
        `maxComputeInvocationsPerWorkgroup = ${l.maxComputeInvocationsPerWorkgroup}`,
    );
  }
}

/** For diagnostics only: whether the Dawn instance/adapter are currently held. */
export function _heldRefs(): { gpu: boolean; adapter: boolean; device: boolean } {
  return { gpu: gpuRef !== null, adapter: adapterRef !== null, device: deviceRef !== null };
}
