/**
 * The row kernels in the harness (softmax, rmsnorm, kl, cross-entropy): [rows, N] written
 * "rowsxN", checked on a few rows of odd and vocabulary lengths, timed on attention scores, a 7B
 * hidden size and a 32000 vocabulary. On WebGPU (rowKernel) version 1 runs the CPU-renderer row
 * plan, version 2 the GPU plan (familyVersions); on the CPU (cpuRowKernel, `<name>-cpu`) version 1
 * the TypeScript composite, version 2 the WebAssembly kernel (cpuVersions). Each kernel file
 * supplies its inputs and check once (a RowProblem) and, per backend, only the call.
 */
import type { Tensor } from '@kts/tensor';
import { kernelFamily } from '@kts/webgpu';
import { planRows, type RowPlan } from '@kts/webgpu/kernels';
import { ints, type KernelEntry, type KernelInstance, type Rng } from './harness.ts';
import { cpuEntry, type About, type CpuSetup } from './cpu.ts';
import { Buffers, familyVersions, sync, webgpuBackend } from './webgpu.ts';

export interface RowShape {
  rows: number;
  N: number;
}

/** A row kernel's inputs for one shape, its traffic and its check of the output, on any backend. */
export interface RowProblem {
  bytes: number;
  /** Worst |err| / tolerance of the output against the float64 reference (throws past 1). */
  check(out: ArrayLike<number>): number;
}

/** What a row kernel adds to the shared entry: its buffers, dispatch and check for one shape. */
export type RowSetup = (s: RowShape, plan: RowPlan, rng: Rng, bufs: Buffers) => Pick<KernelInstance, 'run' | 'check' | 'bytes'>;

/** The shapes every row kernel is checked and timed on, on both backends. */
const rowShapes: Pick<KernelEntry<RowShape>, 'checkShapes' | 'timeShapes' | 'parseShape' | 'formatShape'> = {
  checkShapes: [{ rows: 37, N: 1000 }, { rows: 3, N: 32003 }, { rows: 2, N: 32000 }, { rows: 130, N: 13 }],
  timeShapes: [{ rows: 4096, N: 512 }, { rows: 512, N: 4096 }, { rows: 256, N: 32000 }, { rows: 1, N: 32000 }],
  parseShape(text) {
    const [rows, N] = ints(text, /x/) as [number, number];
    return { rows, N };
  },
  formatShape: (s) => `${s.rows}x${s.N}`,
};

export function rowKernel(name: string, about: string, file: string, setup: RowSetup): KernelEntry<RowShape> {
  return {
    ...webgpuBackend,
    ...rowShapes,
    name,
    about,
    versions: familyVersions(`kernels/${file} (+ rows.wgsl)`, async (s, family, rng) => {
      const bufs = new Buffers();
      return { ...setup(s, planRows(s.rows, s.N, { family }), rng, bufs), sync, dispose: () => bufs.dispose() };
    }),
    current: () => familyVersion(),
  };
}

/**
 * A row kernel on the CPU backend: `<name>-cpu`, the same problem as the WebGPU entry, run through
 * the Tensor op `run` (one [rows, N] output, or [rows] for the per-row losses). Version 1 is the
 * composite in packages/tensor/src/fused/<name>.ts (what `js` says it does), 2 kernels/<name>.wat.
 */
export function cpuRowKernel(name: string, about: string, js: string, wasm: string, setup: (s: RowShape, rng: Rng) => { problem: RowProblem; run: () => Tensor }): KernelEntry<RowShape> {
  const versions: [About, About] = [{ file: `packages/tensor/src/fused/${name}.ts`, about: js }, { file: `kernels/${name}.wat`, about: wasm }];
  return cpuEntry({ ...rowShapes, name: `${name}-cpu`, about }, ...versions, (s, rng): CpuSetup<Tensor> => {
    const { problem, run } = setup(s, rng);
    return { run, bytes: problem.bytes, check: (out) => problem.check(out.toArray()) };
  });
}

/** Version 1 on the 'llvmpipe' family, 2 on 'gpu' (see familyVersions). */
export const familyVersion = (): number => (kernelFamily() === 'gpu' ? 2 : 1);
