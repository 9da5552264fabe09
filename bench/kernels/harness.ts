/**
 * The kernel harness's contract (as llm.c's dev/cuda): each kernel registers its numbered
 * versions; `npm run kernel -- <name>` checks every version (or `--version N`) against the CPU
 * reference on random inputs whose sizes are not tile multiples, then times each on a few shapes.
 * Backend-agnostic: a WebGPU kernel's sync() waits for the queue, a CPU kernel's (cpu.ts: the
 * WebAssembly kernels and the TypeScript loops of packages/tensor/src/cpu) resolves at once.
 */
import { assertClose, Rng } from '../../test/webgpu/helpers.ts';

/** One kernel version set up on one shape: inputs uploaded, outputs allocated. */
export interface KernelInstance {
  /** Records (GPU) or runs (CPU) the kernel once on the prepared inputs. */
  run(): void;
  /** Waits until everything run() started has finished. */
  sync(): Promise<void>;
  /** Reads the outputs and compares them with the float64 CPU reference: worst |err| / tolerance (≤ 1 passes; throws past it). */
  check(): Promise<number>;
  /** Useful work per run, for GFLOP/s and GB/s. */
  flops?: number;
  bytes?: number;
  dispose(): void;
}

export interface KernelVersion<S> {
  version: number;
  /** The kernel file(s) and what this version teaches. */
  file: string;
  about: string;
  /** Why this version cannot run a shape here (missing feature, shape it does not take), or null. */
  unavailable?(shape: S): string | null;
  setup(shape: S, rng: Rng): Promise<KernelInstance>;
}

export interface KernelEntry<S> {
  name: string;
  backend: 'webgpu' | 'cpu';
  about: string;
  /** Small shapes, not tile multiples, that every version is checked on. */
  checkShapes: S[];
  /** Shapes timed by default (`--shapes` replaces them). */
  timeShapes: S[];
  parseShape(text: string): S;
  formatShape(shape: S): string;
  versions: KernelVersion<S>[];
  /** The version the library runs for a shape on this device. */
  current(shape: S): number;
  /** Prepares the backend (device; CPU threads, `--threads`), returns a one-line description. */
  init(opts?: BackendOptions): Promise<string>;
  close(): void;
}

/** Backend settings from the command line. */
export interface BackendOptions {
  /** CPU threads (setCpuThreads); the library's default when absent. WebGPU ignores it. */
  threads?: number;
}

/** Parses "a,b,c" or "axbxc" into integers (shape flags). */
export function ints(text: string, sep: RegExp = /[x,]/): number[] {
  const v = text.split(sep).map((s) => Number(s.trim()));
  if (v.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`not a list of integers: ${text}`);
  return v;
}

/** assertClose's worst err/tol ratio, for check() implementations. */
export function worst(what: string, got: ArrayLike<number>, ref: ArrayLike<number>, tol: Parameters<typeof assertClose>[3]): number {
  return assertClose(what, got, ref, tol);
}

export { Rng };
