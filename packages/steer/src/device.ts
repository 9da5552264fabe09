// Backend selection. 'auto' takes WebGPU on a real GPU. On a software adapter (Mesa's llvmpipe,
// SwiftShader, lavapipe: the GPU "is" the same CPU cores) it takes the CPU backend when that runs
// on its WebAssembly SIMD kernels, which are faster there (on 2 cores, same runs: the KTS step 4.9x,
// 128-token prefill 3.7x, decode 5.7x; bench/results/kts.md, llama.md); with only the TypeScript
// loops (KTS_CPU_KERNELS=js, or no WebAssembly SIMD) llvmpipe's fused kernels win (KTS step 1.7x)
// and WebGPU is kept. Without any adapter: the
// CPU backend. The description says which ran and why.
import { cpuKernels, cpuThreads } from '@kts/tensor';

export interface DeviceChoice {
  device: string;
  description: string;
}

interface WebGPUModule {
  initWebGPU(): Promise<string>;
  shutdownWebGPU?(): void;
  adapterInfo?(): { isLlvmpipe?: boolean; device?: string; description?: string; vendor?: string; architecture?: string };
}

let webgpu: WebGPUModule | null = null;

/** "CPU backend (WebAssembly SIMD kernels, 2 threads)" or "(TypeScript loops: why)". */
export function describeCpu(): string {
  const k = cpuKernels();
  const threads = cpuThreads();
  return k.kernels === 'wasm'
    ? `CPU backend (${k.reason}, ${threads} thread${threads > 1 ? 's' : ''})`
    : `CPU backend (TypeScript loops: ${k.reason})`;
}

/** Whether the WebGPU adapter is a CPU rasteriser rather than a GPU. */
function isSoftwareAdapter(m: WebGPUModule, description: string): boolean {
  const i = m.adapterInfo?.();
  if (i?.isLlvmpipe) return true;
  return /llvmpipe|swiftshader|lavapipe|software/i.test(`${description} ${i?.device ?? ''} ${i?.description ?? ''} ${i?.vendor ?? ''} ${i?.architecture ?? ''}`);
}

export async function selectDevice(want: 'auto' | 'cpu' | 'webgpu' = 'auto'): Promise<DeviceChoice> {
  if (want === 'cpu') return { device: 'cpu', description: describeCpu() };
  let description: string;
  try {
    const specifier = '@kts/webgpu';
    webgpu = (await import(specifier)) as WebGPUModule;
    description = await webgpu.initWebGPU();
  } catch (e) {
    if (want === 'webgpu') throw e;
    return { device: 'cpu', description: `${describeCpu()}; WebGPU unavailable: ${(e as Error).message.split('\n')[0]}` };
  }
  if (want === 'auto' && cpuKernels().kernels === 'wasm' && isSoftwareAdapter(webgpu, description)) {
    releaseDevice();
    return { device: 'cpu', description: `${describeCpu()}, chosen over WebGPU on ${description}: a software renderer on the same cores, slower than the CPU kernels` };
  }
  return { device: 'webgpu', description: `WebGPU backend (${description})` };
}

/** Releases the GPU device so Node can exit. */
export function releaseDevice(): void {
  webgpu?.shutdownWebGPU?.();
}
