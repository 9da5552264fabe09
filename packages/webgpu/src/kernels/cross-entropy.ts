/**
 * Runner for kernels/cross-entropy.wgsl: per-row cross-entropy of contiguous f32 logits
 * [rows, N] against int32 targets [rows] with an ignore index (loss 0 and zero gradient there),
 * forward (loss, and logsumexp saved per row) and backward (g·(softmax − onehot)), plus float64
 * CPU references. Out-of-range targets give NaN losses.
 * Workgroup: fusedLanes() invocations, G lanes per row (planRows). Limits: rows·N·4 bytes ≤
 * maxStorageBufferBindingSize.
 */
import { wgsl } from '@kts/kernels';
import { currentBatch, type Batch } from '../dispatch.ts';
import { needElems, Uniforms } from './common.ts';
import { planRows, rowCodeCache, type RowPlan } from './rows.ts';

export const CROSS_ENTROPY_WGSL: string = wgsl['cross-entropy'];
const code = rowCodeCache(CROSS_ENTROPY_WGSL);

const uniforms = (rows: number, N: number, nu: number, ignoreIndex: number): ArrayBuffer =>
  new Uniforms().u32(rows).u32(N).u32(nu).f32(-Infinity).i32(ignoreIndex).f32(NaN).build();

export function crossEntropyForward(
  logits: GPUBuffer, targets: GPUBuffer, loss: GPUBuffer, lse: GPUBuffer, rows: number, N: number, ignoreIndex: number,
  batch: Batch = currentBatch(), plan?: RowPlan,
): void {
  if (rows === 0) return;
  const pl = plan ?? planRows(rows, N);
  needElems('crossEntropy', 'logits', logits, rows * N);
  needElems('crossEntropy', 'targets', targets, rows);
  needElems('crossEntropy', 'loss', loss, rows);
  needElems('crossEntropy', 'lse', lse, rows);
  batch.dispatch({
    code: code(pl), entryPoint: 'ce_fwd', buffers: [logits, targets, loss, lse],
    uniforms: uniforms(rows, N, pl.nu, ignoreIndex), uniformBinding: 15, workgroups: pl.grid, label: `crossEntropy [${rows},${N}]`,
  });
}

export function crossEntropyBackward(
  logits: GPUBuffer, targets: GPUBuffer, lse: GPUBuffer, g: GPUBuffer, dlogits: GPUBuffer, rows: number, N: number,
  ignoreIndex: number, batch: Batch = currentBatch(), plan?: RowPlan,
): void {
  if (rows === 0) return;
  const pl = plan ?? planRows(rows, N);
  needElems('crossEntropy backward', 'logits', logits, rows * N);
  needElems('crossEntropy backward', 'dlogits', dlogits, rows * N);
  for (const [n, b] of [['targets', targets], ['lse', lse], ['g', g]] as const) needElems('crossEntropy backward', n, b, rows);
  batch.dispatch({
    code: code(pl), entryPoint: 'ce_bwd', buffers: [logits, targets, lse, g, dlogits],
    uniforms: uniforms(rows, N, pl.nu, ignoreIndex), uniformBinding: 15, workgroups: pl.grid, label: `crossEntropy bwd [${rows},${N}]`,
  });
}

// ---- CPU references (float64) ----------------------------------------------------------------

function lseRow(x: ArrayLike<number>, off: number, N: number): number {
  let m = -Infinity;
  for (let j = 0; j < N; j++) m = Math.max(m, x[off + j]!);
  let s = 0;
  for (let j = 0; j < N; j++) s += Math.exp(x[off + j]! - m);
  return m + Math.log(s);
}

export function crossEntropyReference(x: ArrayLike<number>, t: ArrayLike<number>, rows: number, N: number, ignoreIndex: number): Float64Array {
  const loss = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const tr = t[r]!;
    if (tr === ignoreIndex) continue;
    loss[r] = tr < 0 || tr >= N ? NaN : lseRow(x, r * N, N) - x[r * N + tr]!;
  }
  return loss;
}

export function crossEntropyBackwardReference(
  x: ArrayLike<number>, t: ArrayLike<number>, g: ArrayLike<number>, rows: number, N: number, ignoreIndex: number,
): Float64Array {
  const dx = new Float64Array(rows * N);
  for (let r = 0; r < rows; r++) {
    if (t[r] === ignoreIndex) continue;
    const lse = lseRow(x, r * N, N);
    for (let j = 0; j < N; j++) dx[r * N + j] = g[r]! * (Math.exp(x[r * N + j]! - lse) - (j === t[r] ? 1 : 0));
  }
  return dx;
}
