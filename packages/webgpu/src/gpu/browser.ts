/**
 * Finding a WebGPU adapter in a browser: `navigator.gpu`. Selected over ./node.ts by the
 * "browser" condition of @kts/webgpu's "#gpu" import. A real adapter is preferred, in core or
 * else compatibility mode (e.g. Chromium's OpenGL ES adapter with --use-webgpu-adapter=opengles);
 * a fallback adapter (a CPU implementation such as Chrome's SwiftShader: no shader-f16, small
 * subgroups) is accepted when it is all there is: it is slow, but it is WebGPU, and the kernels
 * only use what the device reports.
 */
import type { FoundAdapter } from './found.ts';

export type { Backend, FoundAdapter } from './found.ts';

export const NO_ADAPTER_HINT =
  'this browser offers no WebGPU adapter (navigator.gpu is missing or returned none); use a browser with ' +
  'WebGPU enabled (e.g. a recent Chrome or Edge; Chromium on Linux may need --enable-unsafe-webgpu)';

export async function findAdapter(): Promise<FoundAdapter | null> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) return null;
  const isFallback = (a: GPUAdapter | null) => a?.info.isFallbackAdapter === true;
  let adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter || isFallback(adapter)) {
    const compat = await gpu.requestAdapter({ featureLevel: 'compatibility' });
    if (compat && (!adapter || !isFallback(compat))) adapter = compat;
  }
  if (!adapter) return null;
  const featureLevel = adapter.features.has('core-features-and-limits') ? 'core' : 'compatibility';
  return { gpu, adapter, backend: 'browser', featureLevel, flags: [] };
}
