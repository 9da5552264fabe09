// Backend selection: 'auto' takes WebGPU when any adapter exists (a GPU, or Mesa's llvmpipe
// CPU renderer: with the fused kernels the demo runs faster there than on the CPU backend,
// 102 s vs 170 s on 2 cores), else the CPU backend; the description says which and why.

export interface DeviceChoice {
  device: string;
  description: string;
}

interface WebGPUModule {
  initWebGPU(): Promise<string>;
  shutdownWebGPU?(): void;
}

let webgpu: WebGPUModule | null = null;

export async function selectDevice(want: 'auto' | 'cpu' | 'webgpu' = 'auto'): Promise<DeviceChoice> {
  if (want === 'cpu') return { device: 'cpu', description: 'CPU backend (plain TypeScript)' };
  try {
    const specifier = '@kts/webgpu';
    webgpu = (await import(specifier)) as WebGPUModule;
    const description = await webgpu.initWebGPU();
    return { device: 'webgpu', description: `WebGPU backend (${description})` };
  } catch (e) {
    if (want === 'webgpu') throw e;
    return { device: 'cpu', description: `CPU backend (WebGPU unavailable: ${(e as Error).message.split('\n')[0]})` };
  }
}

/** Releases the GPU device so Node can exit. */
export function releaseDevice(): void {
  webgpu?.shutdownWebGPU?.();
}
