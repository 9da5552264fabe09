/**
 * Runner for kernels/rmsnorm.wgsl: HF LlamaRMSNorm y = w ∘ x / sqrt(mean(x²) + eps) over
 * the last axis of a contiguous f32 [rows, N] buffer, forward (saving r = 1/rms per row) and
 * backward (dx in one pass; dw as row-chunk partial sums + one reduction pass), plus float64
 * CPU references.
 * Workgroup: fusedLanes() invocations, G lanes per row (planRows). Limits: rows·N·4 bytes ≤
 * maxStorageBufferBindingSize.
 */
import { wgsl } from '@kts/kernels';
import { currentBatch, type Batch } from '../dispatch.ts';
import { currentPool } from '../pool.ts';
import { ceilDiv, needElems, Uniforms } from './common.ts';
import { planRows, rowCodeCache, type RowPlan } from './rows.ts';

export const RMSNORM_WGSL: string = wgsl['rmsnorm'];
const code = rowCodeCache(RMSNORM_WGSL);

/** Rows summed per dW partial (one workgroup row of the dW grid). */
const DW_CHUNK_ROWS = 64;

function uniforms(rows: number, N: number, nu: number, eps: number, chunkRows = 0, chunks = 0): ArrayBuffer {
  return new Uniforms().u32(rows).u32(N).u32(nu).f32(eps).u32(chunkRows).u32(chunks).build();
}

/** y = rmsNorm(x) ∘ w; rinv[row] = 1/sqrt(mean(x²)+eps) (saved for the backward pass). */
export function rmsNormForward(
  x: GPUBuffer, w: GPUBuffer, y: GPUBuffer, rinv: GPUBuffer, rows: number, N: number, eps: number,
  batch: Batch = currentBatch(), plan?: RowPlan,
): void {
  if (rows === 0) return;
  const pl = plan ?? planRows(rows, N);
  needElems('rmsNorm', 'x', x, rows * N);
  needElems('rmsNorm', 'y', y, rows * N);
  needElems('rmsNorm', 'w', w, N);
  needElems('rmsNorm', 'rinv', rinv, rows);
  batch.dispatch({
    code: code(pl), entryPoint: 'rms_fwd', buffers: [x, w, y, rinv],
    uniforms: uniforms(rows, N, pl.nu, eps), uniformBinding: 15, workgroups: pl.grid, label: `rmsNorm [${rows},${N}]`,
  });
}

/** dx (and dw when given) from x, w, the output gradient g and the saved rinv. */
export function rmsNormBackward(
  x: GPUBuffer, w: GPUBuffer, g: GPUBuffer, rinv: GPUBuffer, dx: GPUBuffer | null, dw: GPUBuffer | null,
  rows: number, N: number, batch: Batch = currentBatch(), plan?: RowPlan,
): void {
  if (rows === 0) return;
  const pl = plan ?? planRows(rows, N);
  needElems('rmsNorm backward', 'x', x, rows * N);
  needElems('rmsNorm backward', 'g', g, rows * N);
  needElems('rmsNorm backward', 'rinv', rinv, rows);
  if (dx) {
    needElems('rmsNorm backward', 'dx', dx, rows * N);
    batch.dispatch({
      code: code(pl), entryPoint: 'rms_bwd_dx', buffers: [x, w, g, rinv, dx],
      uniforms: uniforms(rows, N, pl.nu, 0), uniformBinding: 15, workgroups: pl.grid, label: `rmsNorm dx [${rows},${N}]`,
    });
  }
  if (dw) {
    needElems('rmsNorm backward', 'dw', dw, N);
    const chunks = ceilDiv(rows, DW_CHUNK_ROWS);
    const chunkRows = ceilDiv(rows, chunks);
    const part = currentPool().acquire(chunks * N * 4);
    const u = uniforms(rows, N, pl.nu, 0, chunkRows, chunks);
    const gx = ceilDiv(pl.nu, pl.wg);
    batch.dispatch({
      code: code(pl), entryPoint: 'rms_dw_part', buffers: [x, g, rinv, part],
      uniforms: u, uniformBinding: 15, workgroups: [gx, chunks, 1], label: `rmsNorm dw partials [${rows},${N}]`,
    });
    batch.dispatch({
      code: code(pl), entryPoint: 'rms_dw_sum', buffers: [part, dw],
      uniforms: u, uniformBinding: 15, workgroups: [gx, 1, 1], label: `rmsNorm dw [${N}]`,
    });
    currentPool().release(part); // later users are ordered after these dispatches
  }
}

// ---- CPU references (float64) ----------------------------------------------------------------

export function rmsNormReference(x: ArrayLike<number>, w: ArrayLike<number>, rows: number, N: number, eps: number): { y: Float64Array; rinv: Float64Array } {
  const y = new Float64Array(rows * N);
  const rinv = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let j = 0; j < N; j++) ss += x[r * N + j]! ** 2;
    const k = 1 / Math.sqrt(ss / N + eps);
    rinv[r] = k;
    for (let j = 0; j < N; j++) y[r * N + j] = w[j]! * x[r * N + j]! * k;
  }
  return { y, rinv };
}

export function rmsNormBackwardReference(
  x: ArrayLike<number>, w: ArrayLike<number>, g: ArrayLike<number>, rows: number, N: number, eps: number,
): { dx: Float64Array; dw: Float64Array; dxScale: Float64Array } {
  const { rinv } = rmsNormReference(x, w, rows, N, eps);
  const dx = new Float64Array(rows * N);
  const dw = new Float64Array(N);
  /** |r·g·w| + |x·r³·c/N| per element: the two terms of dx cancel when N is small. */
  const dxScale = new Float64Array(rows * N);
  for (let r = 0; r < rows; r++) {
    const k = rinv[r]!;
    let c = 0;
    for (let j = 0; j < N; j++) c += g[r * N + j]! * w[j]! * x[r * N + j]!;
    for (let j = 0; j < N; j++) {
      const i = r * N + j;
      dx[i] = k * g[i]! * w[j]! - x[i]! * (k ** 3) * c / N;
      dxScale[i] = Math.abs(k * g[i]! * w[j]!) + Math.abs(x[i]! * (k ** 3) * c / N);
      dw[j]! += g[i]! * x[i]! * k;
    }
  }
  return { dx, dw, dxScale };
}
