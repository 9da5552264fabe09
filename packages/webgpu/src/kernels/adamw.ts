/**
 * Runner for kernels/adamw.wgsl: one in-place AdamW step (torch semantics, as AdamW in
 * packages/tensor/src/optim.ts) on GPUBuffers param, grad, exp_avg (m), exp_avg_sq (v) of n f32
 * values in one dispatch, plus a float64 CPU reference.
 *
 *   adamwUpdate(param, grad, m, v, n, { lr, beta1, beta2, eps, weightDecay, step })
 *
 * `step` is the 1-based step count after incrementing (bias corrections 1 − βᵢ^step). m and v
 * must start as zeros. Workgroup fusedLanes(); vec4 when n % 4 == 0. Limits: n·4 bytes ≤
 * maxStorageBufferBindingSize.
 */
import { wgsl } from '@kts/kernels';
import type { AdamWParams } from '@kts/tensor';
import { WebGPUError } from '../device.ts';
import { currentBatch, type Batch } from '../dispatch.ts';
import { ceilDiv, fusedLanes, grid2d, needElems, Uniforms, variantCache } from './common.ts';

export const ADAMW_WGSL: string = wgsl['adamw'];
const variant = variantCache(ADAMW_WGSL);

/** The hyperparameters of @kts/tensor's fused adamw (`step` ≥ 1 is this update's step number). */
export type { AdamWParams } from '@kts/tensor';

export function adamwUpdate(
  param: GPUBuffer, grad: GPUBuffer, m: GPUBuffer, v: GPUBuffer, n: number, h: AdamWParams, batch: Batch = currentBatch(),
): void {
  if (!Number.isInteger(n) || n < 0) throw new WebGPUError(`adamw: invalid length ${n}`);
  if (!(h.step >= 1)) throw new WebGPUError(`adamw: step must be ≥ 1, got ${h.step}`);
  if (n === 0) return;
  for (const [name, b] of [['param', param], ['grad', grad], ['m', m], ['v', v]] as const) needElems('adamw', name, b, n);
  if (new Set([param, grad, m, v]).size !== 4) throw new WebGPUError('adamw: param, grad, m and v must be distinct buffers');
  const vec4 = n % 4 === 0;
  const units = vec4 ? n / 4 : n;
  const wg = fusedLanes();
  const bc1 = 1 - h.beta1 ** h.step;
  const bc2 = 1 - h.beta2 ** h.step;
  const u = new Uniforms().u32(units).u32(0).u32(0).u32(0)
    .f32(h.beta1).f32(h.beta2).f32(1 - h.lr * h.weightDecay).f32(h.lr / bc1)
    .f32(Math.sqrt(bc2)).f32(h.eps).build();
  batch.dispatch({
    code: variant({ VEC4: vec4 }, { WG: wg }), entryPoint: 'adamw', buffers: [param, grad, m, v],
    uniforms: u, uniformBinding: 15, workgroups: [...grid2d(ceilDiv(units, wg)), 1], label: `adamw [${n}]`,
  });
}

/** Float64 reference of one step; returns the new (param, m, v). */
export function adamwReference(
  param: ArrayLike<number>, grad: ArrayLike<number>, m: ArrayLike<number>, v: ArrayLike<number>, h: AdamWParams,
): { param: Float64Array; m: Float64Array; v: Float64Array } {
  const n = param.length;
  const bc1 = 1 - h.beta1 ** h.step;
  const bc2 = 1 - h.beta2 ** h.step;
  const P = new Float64Array(n), M = new Float64Array(n), V = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const g = grad[i]!;
    M[i] = m[i]! * h.beta1 + g * (1 - h.beta1);
    V[i] = v[i]! * h.beta2 + g * g * (1 - h.beta2);
    P[i] = param[i]! * (1 - h.lr * h.weightDecay) - (h.lr / bc1) * M[i]! / (Math.sqrt(V[i]!) / Math.sqrt(bc2) + h.eps);
  }
  return { param: P, m: M, v: V };
}
