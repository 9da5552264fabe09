/**
 * Loads the CPU backend's WebAssembly SIMD kernels (kernels/*.wat, compiled into @kts/kernels)
 * and chooses between them and the plain-TypeScript loops.
 *
 * `KTS_CPU_KERNELS=js` (or `setCpuKernels('js')`) keeps the TypeScript loops — the readable
 * reference, and the fallback when WebAssembly SIMD or a shared WebAssembly.Memory is missing;
 * then one line says why. With relaxed SIMD (feature-detected) the GEMM/GEMV modules use fused
 * multiply-adds, otherwise their "-plain" variants (mul + add); one choice per process, so all
 * threads compute the same bits. Node 20's V8 (11.3) has relaxed SIMD complete but behind
 * --experimental-wasm-relaxed-simd (on by default from Node 22): there the loader sets that flag
 * before compiling its modules (+22 % GEMM throughput on a Zen 4 core), as heap.ts sets
 * --expose-gc. `KTS_RELAXED_SIMD=0` keeps the plain variants everywhere.
 *
 * Every module imports the same memory (env.memory, shared so worker threads can run the same
 * kernels on the same tensors: see threads.ts) and a few scalar Math functions (env.exp, env.log).
 */
import { wasm } from '@kts/kernels';
import { Heap, Scratch } from './heap.ts';

export type KernelFn = (...args: number[]) => number;
export type KernelModule = Record<string, KernelFn>;

/** The kernel modules the backend uses (kernels/<name>.wat). */
export const MODULES = ['gemm', 'gemv', 'elementwise', 'reduce', 'softmax', 'kl', 'cross-entropy', 'rmsnorm', 'rotary', 'adamw', 'attention'] as const;
export type ModuleName = (typeof MODULES)[number];

export interface WasmRuntime {
  readonly memory: WebAssembly.Memory;
  readonly heap: Heap;
  readonly scratch: Scratch;
  readonly relaxedSimd: boolean;
  /** Compiled modules (the chosen variant), for worker threads to instantiate. */
  readonly modules: ReadonlyMap<ModuleName, WebAssembly.Module>;
  /** This thread's instances. */
  readonly k: Readonly<Record<ModuleName, KernelModule>>;
}

/** The compiled modules by name (kernels/<name>.wat, and "<name>-plain" without relaxed SIMD). */
const kernelBytes: Readonly<Record<string, Uint8Array>> = wasm;

/** Scalar helpers the modules import (one call per row, not per element). */
export const IMPORTS = { exp: Math.exp, log: Math.log };

let mode: 'wasm' | 'js' | undefined;
let state: WasmRuntime | null | undefined;
let reason = '';

function envMode(): 'wasm' | 'js' {
  const v = globalThis.process?.env?.KTS_CPU_KERNELS;
  if (v === undefined || v === '' || v === 'wasm') return 'wasm';
  if (v === 'js') return 'js';
  throw new Error(`KTS_CPU_KERNELS must be 'wasm' or 'js', got "${v}"`);
}

/** Chooses the CPU kernels: 'wasm' (WebAssembly SIMD, the default where available) or 'js'. */
export function setCpuKernels(m: 'wasm' | 'js'): void {
  if (m !== 'wasm' && m !== 'js') throw new RangeError(`setCpuKernels: expected 'wasm' or 'js', got ${String(m)}`);
  mode = m;
}

/** The module's functions, checked once: a missing export is a build problem, said by name. */
export function instantiate(name: string, mod: WebAssembly.Module, memory: WebAssembly.Memory): KernelModule {
  const inst = new WebAssembly.Instance(mod, { env: { memory, ...IMPORTS } });
  const out: KernelModule = {};
  for (const [k, v] of Object.entries(inst.exports)) {
    if (typeof v === 'function') out[k] = v as KernelFn;
  }
  if (Object.keys(out).length === 0) throw new Error(`kernel module ${name} exports no functions`);
  return out;
}

function bytesOf(name: string, relaxed: boolean): Uint8Array<ArrayBuffer> {
  const b = (relaxed ? kernelBytes[name] : kernelBytes[`${name}-plain`] ?? kernelBytes[name]);
  if (!b) throw new Error(`@kts/kernels has no module '${name}' (run npm run build)`);
  return new Uint8Array(b); // an ArrayBuffer-backed copy (a few KiB), as WebAssembly.Module wants
}

function relaxedSimdWanted(): boolean {
  const v = globalThis.process?.env?.KTS_RELAXED_SIMD;
  if (v === undefined || v === '' || v === '1') return true;
  if (v === '0') return false;
  throw new Error(`KTS_RELAXED_SIMD must be 0 or 1, got "${v}"`);
}

/** Node whose V8 has relaxed SIMD behind its flag: turns the flag on; true if the GEMM module now validates. */
function enableRelaxedSimdFlag(): boolean {
  try {
    const v8 = globalThis.process?.getBuiltinModule?.('node:v8');
    if (!v8) return false;
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    return WebAssembly.validate(bytesOf('gemm', true));
  } catch {
    return false;
  }
}

function init(): WasmRuntime | null {
  if (typeof WebAssembly !== 'object') {
    reason = 'this runtime has no WebAssembly';
    return null;
  }
  if (!WebAssembly.validate(bytesOf('gemm', false))) {
    reason = 'this runtime has no WebAssembly SIMD';
    return null;
  }
  if (typeof SharedArrayBuffer === 'undefined') {
    reason = 'SharedArrayBuffer is unavailable (a browser page needs cross-origin isolation)';
    return null;
  }
  const relaxedSimd = relaxedSimdWanted() && (WebAssembly.validate(bytesOf('gemm', true)) || enableRelaxedSimdFlag());
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true });
  } catch (e) {
    reason = `a shared WebAssembly.Memory cannot be created (${(e as Error).message})`;
    return null;
  }
  const modules = new Map<ModuleName, WebAssembly.Module>();
  const k: Partial<Record<ModuleName, KernelModule>> = {};
  try {
    for (const name of MODULES) {
      const mod = new WebAssembly.Module(bytesOf(name, relaxedSimd));
      modules.set(name, mod);
      k[name] = instantiate(name, mod, memory);
    }
  } catch (e) {
    reason = `the kernel modules did not load (${(e as Error).message})`;
    return null;
  }
  const heap = new Heap(memory);
  return { memory, heap, scratch: new Scratch(heap), relaxedSimd, modules, k: k as Record<ModuleName, KernelModule> };
}

/** The loaded kernels, whether or not they are in use; null (with `reason`) where they cannot load. */
export function loadedRuntime(): WasmRuntime | null {
  if (state === undefined) {
    state = init();
    if (!state && envMode() === 'wasm' && mode !== 'js') console.warn(`kts: ${reason}; the CPU backend uses its TypeScript loops`);
  }
  return state;
}

/** The kernels when the CPU backend should use them, else null (KTS_CPU_KERNELS=js, or unavailable). */
export function wasmRuntime(): WasmRuntime | null {
  mode ??= envMode();
  if (mode === 'js') return null;
  return loadedRuntime();
}

/** Which CPU kernels run, and why. */
export function cpuKernels(): { kernels: 'wasm' | 'js'; relaxedSimd: boolean; reason: string } {
  const rt = wasmRuntime();
  if (rt) return { kernels: 'wasm', relaxedSimd: rt.relaxedSimd, reason: `WebAssembly SIMD${rt.relaxedSimd ? ' with relaxed-SIMD FMA' : ' (mul + add; no relaxed SIMD)'}` };
  return { kernels: 'js', relaxedSimd: false, reason: mode === 'js' ? 'KTS_CPU_KERNELS=js' : reason };
}
