/**
 * Finding a WebGPU adapter in Node, through Dawn (the `webgpu` npm package). A browser bundle
 * uses ./browser.ts instead (package.json "imports": "#gpu").
 *
 *   1. `create([])` + `requestAdapter()` — a real GPU (Vulkan/Metal/D3D12).
 *   2. Fallback: `create(['backend=opengles'])` + `requestAdapter({ featureLevel: 'compatibility' })`
 *      with `EGL_PLATFORM=surfaceless`. On machines without a GPU this is Mesa's CPU
 *      rasteriser (llvmpipe) through Dawn's OpenGL ES backend. (Dawn refuses Mesa's
 *      Vulkan CPU driver, lavapipe.)
 *
 * Dawn prints warnings from native code to stderr while it looks (a missing Vulkan loader, limits
 * it lowers); the kts entry points hide them unless asked (see ../quiet.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { create, globals } from 'webgpu';
import type { FoundAdapter } from './found.ts';

// GPUBufferUsage, GPUMapMode, GPUShaderStage ... as globals, as in a browser.
Object.assign(globalThis, globals);

export type { Backend, FoundAdapter } from './found.ts';

/** What to install when no adapter was found. */
export const NO_ADAPTER_HINT =
  'tried the default Dawn backends and the OpenGL ES fallback with EGL_PLATFORM=surfaceless; on Linux ' +
  'without a GPU install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri';

/** True when no GPU render node exists (Linux): the GL ES path then is Mesa's llvmpipe. */
function softwareOnly(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    return !existsSync('/dev/dri') || !readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return true;
  }
}

function cpuHasAvx512(): boolean {
  try {
    return /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Settings for the llvmpipe fallback (only when the variables are not already set):
 * - LP_NATIVE_VECTOR_WIDTH=512 on AVX-512 CPUs: 16 SIMD lanes instead of 8 (matmul +~10 %).
 * - Dawn's Tint robustness transform is disabled (`disable_robustness`): llvmpipe already
 *   bounds-checks every SSBO access (out-of-bounds loads return 0, stores are dropped), and the
 *   extra index clamping cost ~30 % in matmul. KTS_WEBGPU_ROBUSTNESS=1 keeps it.
 */
function llvmpipeFlags(): string[] {
  if (!softwareOnly()) return [];
  if (process.env.LP_NATIVE_VECTOR_WIDTH === undefined && cpuHasAvx512()) {
    process.env.LP_NATIVE_VECTOR_WIDTH = '512';
  }
  return process.env.KTS_WEBGPU_ROBUSTNESS === '1' ? [] : ['enable-dawn-features=disable_robustness'];
}

/** Extra Dawn flags from KTS_WEBGPU_FLAGS (comma-separated, e.g. 'enable-dawn-features=...'). */
function extraFlags(): string[] {
  const f = process.env.KTS_WEBGPU_FLAGS;
  return f ? f.split(/\s+/).filter((x) => x.length > 0) : [];
}

/** Merges `enable-dawn-features=` lists (Dawn keeps only the last occurrence of a flag). */
function mergeFlags(...lists: string[][]): string[] {
  const feats: string[] = [];
  const other: string[] = [];
  for (const f of lists.flat()) {
    const m = /^enable-dawn-features=(.*)$/.exec(f);
    if (m) feats.push(...m[1]!.split(',').filter((x) => x.length > 0));
    else other.push(f);
  }
  return feats.length > 0 ? [...other, `enable-dawn-features=${[...new Set(feats)].join(',')}`] : other;
}

async function tryAdapter(backend: 'default' | 'opengles'): Promise<FoundAdapter | null> {
  if (backend === 'opengles') {
    if (!process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';
    const flags = ['backend=opengles', ...mergeFlags(llvmpipeFlags(), extraFlags())];
    const gpu = create(flags);
    const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' });
    return adapter ? { gpu, adapter, backend, featureLevel: 'compatibility', flags } : null;
  }
  const flags = extraFlags();
  const gpu = create(flags);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  return adapter ? { gpu, adapter, backend, featureLevel: 'core', flags } : null;
}

/** A real GPU if there is one, else the OpenGL ES fallback (KTS_WEBGPU_BACKEND=opengles forces it); null if neither. */
export async function findAdapter(): Promise<FoundAdapter | null> {
  const forced = process.env.KTS_WEBGPU_BACKEND; // 'opengles' forces the fallback path
  return (forced !== 'opengles' ? await tryAdapter('default') : null) ?? tryAdapter('opengles');
}
