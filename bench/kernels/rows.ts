/**
 * Shapes shared by the row kernels in the harness (softmax, rmsnorm, kl, cross-entropy): [rows, N]
 * written "rowsxN"; checks on a few rows of odd and vocabulary lengths, timings on attention
 * scores, a 7B hidden size and a 32000 vocabulary.
 */
import { planRows, type RowPlan } from '@kts/webgpu/kernels';
import type { KernelFamily } from '@kts/webgpu';
import { ints, type KernelEntry } from './harness.ts';

export interface RowShape {
  rows: number;
  N: number;
}

export const rowShapes: Pick<KernelEntry<RowShape>, 'checkShapes' | 'timeShapes' | 'parseShape' | 'formatShape'> = {
  checkShapes: [{ rows: 37, N: 1000 }, { rows: 3, N: 32003 }, { rows: 2, N: 32000 }, { rows: 130, N: 13 }],
  timeShapes: [{ rows: 4096, N: 512 }, { rows: 512, N: 4096 }, { rows: 256, N: 32000 }, { rows: 1, N: 32000 }],
  parseShape(text) {
    const [rows, N] = ints(text, /x/) as [number, number];
    return { rows, N };
  },
  formatShape: (s) => `${s.rows}x${s.N}`,
};

export const rowPlanFor = (s: RowShape, family: KernelFamily): RowPlan => planRows(s.rows, s.N, { family });
/** Version 1 on the 'llvmpipe' family, 2 on 'gpu' (see familyVersions). */
export const familyVersion = (family: KernelFamily): number => (family === 'gpu' ? 2 : 1);
