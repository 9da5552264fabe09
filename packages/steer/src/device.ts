// Backend selection. 'auto' takes WebGPU on a real GPU (and a browser's adapter). On a software
// adapter in Node (Mesa's llvmpipe, SwiftShader, lavapipe: the GPU "is" the same CPU cores) it
// takes the CPU backend when that runs on its WebAssembly SIMD kernels, which are faster there (on
// 2 cores, same runs: the KTS step 4-5x, 128-token prefill 2.6-3.7x, decode 3-6x;
// bench/results/kts.md, llama.md); with only the TypeScript loops (KTS_CPU_KERNELS=js, or no
// WebAssembly SIMD) llvmpipe's fused kernels win (KTS step 1.7x) and WebGPU is kept. Without any
// adapter: the CPU backend. The description says which ran and why.
import { cpuKernels, cpuThreads } from '@kts/tensor';

export interface DeviceChoice {
  device: string;
  description: string;
}

let webgpu: typeof import('@kts/webgpu') | null = null;

/** "CPU backend (WebAssembly SIMD …, 2 threads)" or "CPU backend (TypeScript loops: why)". */
export function describeCpu(): string {
  const k = cpuKernels();
  const threads = cpuThreads();
  return k.kernels === 'wasm'
    ? `CPU backend (${k.reason}, ${threads} thread${threads > 1 ? 's' : ''})`
    : `CPU backend (TypeScript loops: ${k.reason})`;
}

/** Whether the WebGPU adapter is a CPU rasteriser rather than a GPU. */
function isSoftwareAdapter(m: typeof import('@kts/webgpu'), description: string): boolean {
  const i = m.adapterInfo();
  if (i.isLlvmpipe) return true;
  return /llvmpipe|swiftshader|lavapipe|software/i.test(`${description} ${i.device} ${i.description} ${i.vendor} ${i.architecture}`);
}

export async function selectDevice(want: 'auto' | 'cpu' | 'webgpu' = 'auto'): Promise<DeviceChoice> {
  if (want === 'cpu') return { device: 'cpu', description: describeCpu() };
  let description: string;
  let m: typeof import('@kts/webgpu');
  try {
    m = await import('@kts/webgpu'); // loaded only when asked for: Dawn is a native module
    webgpu = m;
    description = await m.initWebGPU();
  } catch (e) {
    if (want === 'webgpu') throw e;
    return { device: 'cpu', description: `${describeCpu()}; WebGPU unavailable: ${(e as Error).message.split('\n')[0]}` };
  }
  const inNode = typeof globalThis.process?.versions?.node === 'string';
  if (want === 'auto' && inNode && cpuKernels().kernels === 'wasm' && isSoftwareAdapter(m, description)) {
    releaseDevice();
    return { device: 'cpu', description: `${describeCpu()}, chosen over WebGPU on ${description}: a software renderer on the same cores, slower than the CPU kernels` };
  }
  return { device: 'webgpu', description: `WebGPU backend (${description})` };
}

/** Releases the GPU device so Node can exit. */
export function releaseDevice(): void {
  webgpu?.shutdownWebGPU();
}
