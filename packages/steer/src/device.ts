// Backend selection. 'auto' takes WebGPU on a hardware adapter. A software adapter (Mesa's
// llvmpipe, SwiftShader) runs shaders on the same CPU cores: for the small models kts runs on
// a CPU it is slower than the CPU backend (the demo measured 307 s vs 158 s on 2 cores), so
// 'auto' then uses the CPU and says why; '--device webgpu' still forces it.

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
    if (want === 'auto' && /llvmpipe|swiftshader|softpipe/i.test(description)) {
      webgpu.shutdownWebGPU?.();
      return { device: 'cpu', description: `CPU backend (the WebGPU adapter is a software renderer, ${description}, slower than the CPU backend on the same cores; --device webgpu forces it)` };
    }
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
