/**
 * The row kernels in the harness (softmax, rmsnorm, kl, cross-entropy): [rows, N] written
 * "rowsxN", checked on a few rows of odd and vocabulary lengths, timed on attention scores, a 7B
 * hidden size and a 32000 vocabulary; version 1 runs the CPU-renderer row plan, version 2 the GPU
 * plan (familyVersions). Each kernel file supplies only its buffers, dispatch and check.
 */
import { kernelFamily } from '@kts/webgpu';
import { planRows, type RowPlan } from '@kts/webgpu/kernels';
import { ints, type KernelEntry, type KernelInstance, type Rng } from './harness.ts';
import { Buffers, familyVersions, sync, webgpuBackend } from './webgpu.ts';

export interface RowShape {
  rows: number;
  N: number;
}

/** What a row kernel adds to the shared entry: its buffers, dispatch and check for one shape. */
export type RowSetup = (s: RowShape, plan: RowPlan, rng: Rng, bufs: Buffers) => Pick<KernelInstance, 'run' | 'check' | 'bytes'>;

export function rowKernel(name: string, about: string, file: string, setup: RowSetup): KernelEntry<RowShape> {
  return {
    ...webgpuBackend,
    name,
    about,
    checkShapes: [{ rows: 37, N: 1000 }, { rows: 3, N: 32003 }, { rows: 2, N: 32000 }, { rows: 130, N: 13 }],
    timeShapes: [{ rows: 4096, N: 512 }, { rows: 512, N: 4096 }, { rows: 256, N: 32000 }, { rows: 1, N: 32000 }],
    parseShape(text) {
      const [rows, N] = ints(text, /x/) as [number, number];
      return { rows, N };
    },
    formatShape: (s) => `${s.rows}x${s.N}`,
    versions: familyVersions(`kernels/${file} (+ rows.wgsl)`, async (s, family, rng) => {
      const bufs = new Buffers();
      return { ...setup(s, planRows(s.rows, s.N, { family }), rng, bufs), sync, dispose: () => bufs.dispose() };
    }),
    current: () => familyVersion(),
  };
}

/** Version 1 on the 'llvmpipe' family, 2 on 'gpu' (see familyVersions). */
export const familyVersion = (): number => (kernelFamily() === 'gpu' ? 2 : 1);
