/**
 * Runner for kernels/steering.wgsl: out = h + mask[b,t] · Σ_k coeffs[b,k] · v[(b,)k,:] in
 * one dispatch (as addSteering in packages/tensor/src/attention.ts), and the backward pass
 * (dh = g needs no kernel; dvectors, dcoeffs in three small dispatches through
 * gs[b,:] = Σ_t mask·g), plus float64 CPU references.
 * Layouts: h, out, g [B,T,D]; vectors [K,D] (shared) or [B,K,D] (per sequence); coeffs [B,K];
 * mask [B,T] f32; contiguous. Workgroup fusedLanes(); vec4 units when D % 4 == 0.
 * Limits: B, K ≤ 65535; every binding ≤ maxStorageBufferBindingSize.
 */
import { wgsl } from '@kts/kernels';
import { kernelFamily, WebGPUError } from '../device.ts';
import { currentBatch, type Batch } from '../dispatch.ts';
import { currentPool } from '../pool.ts';
import { ceilDiv, fusedLanes, needElems, needInts, Uniforms } from './common.ts';
import { rowCodeCache, useSubgroups, type RowPlan } from './rows.ts';

export const STEERING_WGSL: string = wgsl['steering'];
const code = rowCodeCache(STEERING_WGSL);

export interface SteeringShape {
  B: number;
  T: number;
  D: number;
  K: number;
  /** vectors are [B,K,D] (per sequence) instead of [K,D]. */
  perSequence: boolean;
}

/**
 * Time steps per workgroup in the forward pass (delta is recomputed once per TT steps): long
 * runs on llvmpipe (two cores), short ones on GPUs (more workgroups in flight).
 */
const TT = { llvmpipe: 32, gpu: 8 };

function plan(s: SteeringShape): { pl: RowPlan; u: ArrayBuffer; tt: number } {
  const { B, T, D, K } = s;
  needInts('addSteering', { B, T, D, K }, 1);
  if (B > 65535 || K > 65535) throw new WebGPUError(`addSteering: B = ${B}, K = ${K} must be ≤ 65535`);
  const family = kernelFamily();
  const wg = fusedLanes(family);
  const vec4 = D % 4 === 0;
  const nu = vec4 ? D / 4 : D;
  const tt = TT[family];
  // One group of WG lanes (steer_dcoef reduces over the whole workgroup).
  const pl: RowPlan = { wg, g: wg, vec4, nu, grid: [ceilDiv(nu, wg), B, 1], subgroups: useSubgroups(family, wg) };
  const u = new Uniforms().u32(B).u32(T).u32(D).u32(nu).u32(K).u32(s.perSequence ? 1 : 0).u32(tt).build();
  return { pl, u, tt };
}

export function steeringForward(
  h: GPUBuffer, vectors: GPUBuffer, coeffs: GPUBuffer, mask: GPUBuffer, out: GPUBuffer, s: SteeringShape,
  batch: Batch = currentBatch(),
): void {
  const { pl, u, tt } = plan(s);
  const { B, T, D, K } = s;
  needElems('addSteering', 'h', h, B * T * D);
  needElems('addSteering', 'out', out, B * T * D);
  needElems('addSteering', 'vectors', vectors, (s.perSequence ? B : 1) * K * D);
  needElems('addSteering', 'coeffs', coeffs, B * K);
  needElems('addSteering', 'mask', mask, B * T);
  const tz = ceilDiv(T, tt);
  if (tz > 65535) throw new WebGPUError(`addSteering: T = ${T} too long (T/${tt} > 65535)`);
  batch.dispatch({
    code: code(pl), entryPoint: 'steer_fwd', buffers: [h, vectors, coeffs, mask, out],
    uniforms: u, uniformBinding: 15, workgroups: [pl.grid[0], B, tz], label: `addSteering [${B},${T},${D}]x${K}`,
  });
}

/** dvectors and/or dcoeffs (null: skipped) from the output gradient g. */
export function steeringBackward(
  g: GPUBuffer, vectors: GPUBuffer, coeffs: GPUBuffer, mask: GPUBuffer, dvectors: GPUBuffer | null, dcoeffs: GPUBuffer | null,
  s: SteeringShape, batch: Batch = currentBatch(),
): void {
  if (!dvectors && !dcoeffs) return;
  const { pl, u } = plan(s);
  const { B, T, D, K } = s;
  needElems('addSteering backward', 'g', g, B * T * D);
  needElems('addSteering backward', 'vectors', vectors, (s.perSequence ? B : 1) * K * D);
  needElems('addSteering backward', 'coeffs', coeffs, B * K);
  needElems('addSteering backward', 'mask', mask, B * T);
  const pool = currentPool();
  const gs = pool.acquire(B * D * 4);
  batch.dispatch({
    code: code(pl), entryPoint: 'steer_gsum', buffers: [g, mask, gs],
    uniforms: u, uniformBinding: 15, workgroups: [pl.grid[0], B, 1], label: `addSteering gsum [${B},${T},${D}]`,
  });
  if (dvectors) {
    needElems('addSteering backward', 'dvectors', dvectors, (s.perSequence ? B : 1) * K * D);
    batch.dispatch({
      code: code(pl), entryPoint: 'steer_dvec', buffers: [gs, coeffs, dvectors],
      uniforms: u, uniformBinding: 15, workgroups: [pl.grid[0], K, s.perSequence ? B : 1], label: `addSteering dvectors`,
    });
  }
  if (dcoeffs) {
    needElems('addSteering backward', 'dcoeffs', dcoeffs, B * K);
    batch.dispatch({
      code: code(pl), entryPoint: 'steer_dcoef', buffers: [gs, vectors, dcoeffs],
      uniforms: u, uniformBinding: 15, workgroups: [K, B, 1], label: `addSteering dcoeffs`,
    });
  }
  pool.release(gs); // later users are ordered after these dispatches
}

// ---- CPU references (float64) ----------------------------------------------------------------

export function steeringReference(
  h: ArrayLike<number>, vectors: ArrayLike<number>, coeffs: ArrayLike<number>, mask: ArrayLike<number>, s: SteeringShape,
): Float64Array {
  const { B, T, D, K } = s;
  const out = Float64Array.from(h);
  for (let b = 0; b < B; b++) {
    const delta = new Float64Array(D);
    for (let k = 0; k < K; k++) {
      const vb = ((s.perSequence ? b * K : 0) + k) * D;
      for (let d = 0; d < D; d++) delta[d]! += coeffs[b * K + k]! * vectors[vb + d]!;
    }
    for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) out[(b * T + t) * D + d]! += mask[b * T + t]! * delta[d]!;
  }
  return out;
}

export function steeringBackwardReference(
  g: ArrayLike<number>, vectors: ArrayLike<number>, coeffs: ArrayLike<number>, mask: ArrayLike<number>, s: SteeringShape,
): { dvectors: Float64Array; dcoeffs: Float64Array } {
  const { B, T, D, K } = s;
  const dvectors = new Float64Array((s.perSequence ? B : 1) * K * D);
  const dcoeffs = new Float64Array(B * K);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const m = mask[b * T + t]!;
      for (let k = 0; k < K; k++) {
        const vb = ((s.perSequence ? b * K : 0) + k) * D;
        let dot = 0;
        for (let d = 0; d < D; d++) {
          const gv = g[(b * T + t) * D + d]!;
          dot += gv * vectors[vb + d]!;
          dvectors[vb + d]! += m * coeffs[b * K + k]! * gv;
        }
        dcoeffs[b * K + k]! += m * dot;
      }
    }
  }
  return { dvectors, dcoeffs };
}
