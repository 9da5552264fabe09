/**
 * CPU side of the kernel harness: the CPU backend's kernels, version 1 its TypeScript loops (what
 * runs with KTS_CPU_KERNELS=js: a composite of ops, or matmulStrided), version 2 on the
 * WebAssembly SIMD kernel (kernels/<name>.wat; matmul-cpu has a third, the GEMV). Each runs the
 * way the library calls it — the Tensor op, which allocates its output, on inputs made once (on
 * the kernels' heap for the WebAssembly versions, as the library has them) — except matmul-cpu,
 * which calls the launchers on preallocated operands. Threads: `--threads N`, else the library's
 * default; a sync() resolves at once (every call is synchronous).
 */
import { cpuKernels, cpuThreads, noGrad, setCpuKernels, setCpuThreads, stopCpuThreads, type Tensor } from '@kts/tensor';
import { loadedRuntime } from '../../packages/tensor/src/cpu/wasm/runtime.ts';
import { ints, type BackendOptions, type KernelEntry, type KernelInstance, type KernelVersion, type Rng } from './harness.ts';

type Kernels = 'js' | 'wasm';

/** The kernels the library runs here (KTS_CPU_KERNELS, WebAssembly SIMD support), read at init. */
let library: Kernels = 'wasm';

/** The part of a KernelEntry every CPU kernel shares. */
export const cpuBackend: Pick<KernelEntry<unknown>, 'backend' | 'init' | 'close'> = {
  backend: 'cpu',
  async init(opts?: BackendOptions) {
    const k = cpuKernels();
    library = k.kernels;
    if (opts?.threads !== undefined) setCpuThreads(opts.threads);
    const threads = cpuThreads();
    return `the CPU, ${threads} thread${threads > 1 ? 's' : ''} (the library runs ${k.kernels === 'wasm' ? k.reason : `its TypeScript loops: ${k.reason}`})`;
  },
  close() {
    stopCpuThreads();
    setCpuKernels(library);
  },
};

/** The version the library picks: `wasm` (its WebAssembly version) when its kernels are on, else 1. */
export const cpuCurrent = (wasm = 2): number => (library === 'wasm' ? wasm : 1);

/** One shape set up for a version: run() returns what it made (kept for check, disposed on the next run). */
export interface CpuSetup<T extends Tensor | void = Tensor | void> {
  run(): T;
  check(out: T): number;
  flops?: number;
  bytes?: number;
}

export interface CpuVersionSpec<S, T extends Tensor | void> {
  version: number;
  file: string;
  about: string;
  /** The kernel set it runs on (setCpuKernels during set-up and every run). */
  kernels: Kernels;
  unavailable?(shape: S): string | null;
  setup(shape: S, rng: Rng): CpuSetup<T>;
}

const noWasm = (): string | null => (loadedRuntime() ? null : 'the WebAssembly kernels are unavailable here');

/** A harness version from a CPU set-up: inputs made and every run on `kernels`, outputs disposed as they are replaced. */
export function cpuVersion<S, T extends Tensor | void>(v: CpuVersionSpec<S, T>): KernelVersion<S> {
  return {
    version: v.version,
    file: v.file,
    about: v.about,
    unavailable: (s) => (v.kernels === 'wasm' ? noWasm() : null) ?? v.unavailable?.(s) ?? null,
    async setup(s, rng): Promise<KernelInstance> {
      setCpuKernels(v.kernels);
      const c = v.setup(s, rng);
      let out: T | undefined;
      return {
        run() {
          setCpuKernels(v.kernels);
          const prev = out;
          out = noGrad(() => c.run());
          prev?.dispose();
        },
        sync: async () => {},
        check: async () => c.check(out as T),
        flops: c.flops,
        bytes: c.bytes,
        dispose() {
          out?.dispose();
          out = undefined;
        },
      };
    },
  };
}

/** A version's file(s) and what it teaches. */
export type About = { file: string; about: string };

/**
 * The usual pair: version 1 the TypeScript path `js` (KTS_CPU_KERNELS=js), version 2 the
 * WebAssembly kernel `wasm`; `setup` is the same op on both.
 */
export function cpuVersions<S, T extends Tensor | void>(js: About, wasm: About, setup: (shape: S, rng: Rng) => CpuSetup<T>): KernelVersion<S>[] {
  return [
    cpuVersion({ version: 1, ...js, about: `KTS_CPU_KERNELS=js: ${js.about}`, kernels: 'js', setup }),
    cpuVersion({ version: 2, ...wasm, kernels: 'wasm', setup }),
  ];
}

/** The entry fields that say what a kernel is and which shapes it takes. */
export type EntryHead<S> = Pick<KernelEntry<S>, 'name' | 'about' | 'checkShapes' | 'timeShapes' | 'parseShape' | 'formatShape'>;

/** A CPU kernel with the usual pair of versions (cpuVersions); the library's pick is marked. */
export function cpuEntry<S, T extends Tensor | void>(head: EntryHead<S>, js: About, wasm: About, setup: (shape: S, rng: Rng) => CpuSetup<T>): KernelEntry<S> {
  return { ...cpuBackend, ...head, versions: cpuVersions(js, wasm, setup), current: () => cpuCurrent() };
}

/** A [rows, N] problem for one op of a kernel with several (elementwise-cpu, reduce-cpu). */
export interface OpShape<Op extends string> {
  op: Op;
  rows: number;
  N: number;
}

/** Shapes written "op:rowsxN" (`ops` lists the ops) for such a kernel's entry. */
export function opShapes<Op extends string>(ops: readonly Op[], check: string[], time: string[]): Pick<KernelEntry<OpShape<Op>>, 'checkShapes' | 'timeShapes' | 'parseShape' | 'formatShape'> {
  const parseShape = (text: string): OpShape<Op> => {
    const m = /^(\w+):(\d+x\d+)$/.exec(text.trim());
    if (!m || !ops.includes(m[1] as Op)) throw new Error(`shape: op:rowsxN with op one of ${ops.join(', ')}, got ${text}`);
    const [rows, N] = ints(m[2]!, /x/) as [number, number];
    return { op: m[1] as Op, rows, N };
  };
  return { checkShapes: check.map(parseShape), timeShapes: time.map(parseShape), parseShape, formatShape: (s) => `${s.op}:${s.rows}x${s.N}` };
}
