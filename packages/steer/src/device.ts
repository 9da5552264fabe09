// Backend selection: 'auto' takes WebGPU when any adapter exists (a GPU; Mesa's llvmpipe CPU
// renderer in Node, where the fused kernels make the demo faster than on the CPU backend; a
// browser's adapter, even a CPU fallback), else the CPU backend; the description says which and why.

export interface DeviceChoice {
  device: string;
  description: string;
}

let webgpu: typeof import('@kts/webgpu') | null = null;

export async function selectDevice(want: 'auto' | 'cpu' | 'webgpu' = 'auto'): Promise<DeviceChoice> {
  if (want === 'cpu') return { device: 'cpu', description: 'CPU backend (plain TypeScript)' };
  try {
    webgpu = await import('@kts/webgpu'); // loaded only when asked for: Dawn is a native module
    const description = await webgpu.initWebGPU();
    return { device: 'webgpu', description: `WebGPU backend (${description})` };
  } catch (e) {
    if (want === 'webgpu') throw e;
    return { device: 'cpu', description: `CPU backend (WebGPU unavailable: ${(e as Error).message.split('\n')[0]})` };
  }
}

/** Releases the GPU device so Node can exit. */
export function releaseDevice(): void {
  webgpu?.shutdownWebGPU();
}
