/**
 * Runner for kernels/softmax.wgsl: softmax and logSoftmax over the last axis of a
 * contiguous f32 [rows, N] buffer, forward and backward, plus float64 CPU references.
 *
 *   softmaxForward(x, y, rows, N)          y = softmax(x) (all −∞ rows → zeros)
 *   logSoftmaxForward(x, y, rows, N)       y = logSoftmax(x)
 *   softmaxBackward(y, g, dx, rows, N)     dx = y ∘ (g − Σ g∘y)
 *   logSoftmaxBackward(y, g, dx, rows, N)  dx = g − exp(y) ∘ Σ g
 * Workgroup: fusedLanes() invocations, G lanes per row (planRows); one dispatch each.
 * Limits: rows·N·4 bytes ≤ maxStorageBufferBindingSize.
 */
import { wgsl } from '@kts/kernels';
import { currentBatch, type Batch } from '../dispatch.ts';
import { needElems, Uniforms } from './common.ts';
import { planRows, rowCodeCache, type RowPlan } from './rows.ts';

export const SOFTMAX_WGSL: string = wgsl['softmax'];
const code = rowCodeCache(SOFTMAX_WGSL);

function run(entry: string, bufs: GPUBuffer[], rows: number, N: number, batch: Batch, plan?: RowPlan): void {
  if (rows === 0) return;
  const pl = plan ?? planRows(rows, N);
  for (const [i, b] of bufs.entries()) needElems(`softmax ${entry}`, `binding ${i}`, b, rows * N);
  batch.dispatch({
    code: code(pl),
    entryPoint: entry,
    buffers: bufs,
    uniforms: new Uniforms().u32(rows).u32(N).u32(pl.nu).f32(-Infinity).build(),
    uniformBinding: 15,
    workgroups: pl.grid,
    label: `${entry} [${rows},${N}]`,
  });
}

export function softmaxForward(x: GPUBuffer, y: GPUBuffer, rows: number, N: number, batch: Batch = currentBatch(), plan?: RowPlan): void {
  run('softmax_fwd', [x, y], rows, N, batch, plan);
}
export function logSoftmaxForward(x: GPUBuffer, y: GPUBuffer, rows: number, N: number, batch: Batch = currentBatch(), plan?: RowPlan): void {
  run('logsoftmax_fwd', [x, y], rows, N, batch, plan);
}
export function softmaxBackward(y: GPUBuffer, g: GPUBuffer, dx: GPUBuffer, rows: number, N: number, batch: Batch = currentBatch(), plan?: RowPlan): void {
  run('softmax_bwd', [y, g, dx], rows, N, batch, plan);
}
export function logSoftmaxBackward(y: GPUBuffer, g: GPUBuffer, dx: GPUBuffer, rows: number, N: number, batch: Batch = currentBatch(), plan?: RowPlan): void {
  run('logsoftmax_bwd', [y, g, dx], rows, N, batch, plan);
}

// ---- CPU references (float64) ----------------------------------------------------------------

export function softmaxReference(x: ArrayLike<number>, rows: number, N: number, log = false): Float64Array {
  const y = new Float64Array(rows * N);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let j = 0; j < N; j++) m = Math.max(m, x[r * N + j]!);
    if (m === -Infinity && !log) continue; // all −∞ → zeros
    let s = 0;
    for (let j = 0; j < N; j++) s += Math.exp(x[r * N + j]! - m);
    for (let j = 0; j < N; j++) {
      const v = x[r * N + j]! - m;
      y[r * N + j] = log ? v - Math.log(s) : Math.exp(v) / s;
    }
  }
  return y;
}

/** dx given the saved forward output y (softmax or logSoftmax) and the output gradient g. */
export function softmaxBackwardReference(y: ArrayLike<number>, g: ArrayLike<number>, rows: number, N: number, log = false): Float64Array {
  const dx = new Float64Array(rows * N);
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    for (let j = 0; j < N; j++) acc += log ? g[r * N + j]! : g[r * N + j]! * y[r * N + j]!;
    for (let j = 0; j < N; j++) {
      const i = r * N + j;
      dx[i] = log ? g[i]! - Math.exp(y[i]!) * acc : y[i]! * (g[i]! - acc);
    }
  }
  return dx;
}
