/**
 * Runner for kernels/kl.wgsl: per-row KL(softmax(p) ‖ softmax(q)) over the last axis of
 * two contiguous f32 [rows, N] logit buffers in one pass (as klDivLogits in
 * packages/tensor/src/attention.ts), and its backward wrt either or both logit sets, plus
 * float64 CPU references.
 * Forward writes kl [rows] and stats [rows, 2] = (logsumexp p, logsumexp q) for the backward.
 * Workgroup: fusedLanes() invocations, G lanes per row (planRows). Limits: rows·N·4 bytes ≤
 * maxStorageBufferBindingSize.
 */
import { wgsl } from '@kts/kernels';
import { WebGPUError } from '../device.ts';
import { currentBatch, type Batch } from '../dispatch.ts';
import { needElems, Uniforms } from './common.ts';
import { planRows, rowCodeCache, type RowPlan } from './rows.ts';

export const KL_WGSL: string = wgsl['kl'];
const code = rowCodeCache(KL_WGSL);

const uniforms = (rows: number, N: number, nu: number): ArrayBuffer => new Uniforms().u32(rows).u32(N).u32(nu).f32(-Infinity).build();

export function klForward(
  p: GPUBuffer, q: GPUBuffer, kl: GPUBuffer, stats: GPUBuffer, rows: number, N: number,
  batch: Batch = currentBatch(), plan?: RowPlan,
): void {
  if (rows === 0) return;
  const pl = plan ?? planRows(rows, N);
  needElems('klDivLogits', 'p', p, rows * N);
  needElems('klDivLogits', 'q', q, rows * N);
  needElems('klDivLogits', 'kl', kl, rows);
  needElems('klDivLogits', 'stats', stats, rows * 2);
  batch.dispatch({
    code: code(pl, { PGRAD: false, QGRAD: true }), entryPoint: 'kl_fwd', buffers: [p, q, kl, stats],
    uniforms: uniforms(rows, N, pl.nu), uniformBinding: 15, workgroups: pl.grid, label: `klDivLogits [${rows},${N}]`,
  });
}

/** dp and/or dq (null: not computed) given the per-row output gradient g [rows]. */
export function klBackward(
  p: GPUBuffer, q: GPUBuffer, stats: GPUBuffer, kl: GPUBuffer, g: GPUBuffer, dp: GPUBuffer | null, dq: GPUBuffer | null,
  rows: number, N: number, batch: Batch = currentBatch(), plan?: RowPlan,
): void {
  if (rows === 0 || (!dp && !dq)) return;
  const pl = plan ?? planRows(rows, N);
  for (const [n, b, e] of [['p', p, rows * N], ['q', q, rows * N], ['stats', stats, rows * 2], ['kl', kl, rows], ['g', g, rows]] as const) {
    needElems('klDivLogits backward', n, b, e);
  }
  const outs = [dp, dq].filter((b): b is GPUBuffer => b !== null);
  for (const b of outs) needElems('klDivLogits backward', 'grad', b, rows * N);
  if (dp === q || dq === p) throw new WebGPUError('klDivLogits backward: outputs must not alias inputs');
  batch.dispatch({
    code: code(pl, { PGRAD: !!dp, QGRAD: !!dq }), entryPoint: 'kl_bwd', buffers: [p, q, stats, kl, g, ...outs],
    uniforms: uniforms(rows, N, pl.nu), uniformBinding: 15, workgroups: pl.grid, label: `klDivLogits bwd [${rows},${N}]`,
  });
}

// ---- CPU references (float64) ----------------------------------------------------------------

function logSoftmaxRow(x: ArrayLike<number>, off: number, N: number): Float64Array {
  let m = -Infinity;
  for (let j = 0; j < N; j++) m = Math.max(m, x[off + j]!);
  let s = 0;
  for (let j = 0; j < N; j++) s += Math.exp(x[off + j]! - m);
  const lse = m + Math.log(s);
  const out = new Float64Array(N);
  for (let j = 0; j < N; j++) out[j] = x[off + j]! - lse;
  return out;
}

export function klReference(p: ArrayLike<number>, q: ArrayLike<number>, rows: number, N: number): Float64Array {
  const kl = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const lp = logSoftmaxRow(p, r * N, N);
    const lq = logSoftmaxRow(q, r * N, N);
    let acc = 0;
    for (let j = 0; j < N; j++) acc += Math.exp(lp[j]!) * (lp[j]! - lq[j]!);
    kl[r] = acc;
  }
  return kl;
}

export function klBackwardReference(
  p: ArrayLike<number>, q: ArrayLike<number>, g: ArrayLike<number>, rows: number, N: number,
): { dp: Float64Array; dq: Float64Array } {
  const dp = new Float64Array(rows * N);
  const dq = new Float64Array(rows * N);
  const kl = klReference(p, q, rows, N);
  for (let r = 0; r < rows; r++) {
    const lp = logSoftmaxRow(p, r * N, N);
    const lq = logSoftmaxRow(q, r * N, N);
    for (let j = 0; j < N; j++) {
      const P = Math.exp(lp[j]!);
      dp[r * N + j] = g[r]! * P * (lp[j]! - lq[j]! - kl[r]!);
      dq[r * N + j] = g[r]! * (Math.exp(lq[j]!) - P);
    }
  }
  return { dp, dq };
}
