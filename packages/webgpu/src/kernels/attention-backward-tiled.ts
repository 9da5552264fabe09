/**
 * Launcher for kernels/attention-backward-tiled.wgsl (attention backward version 2, for GPUs):
 * backward_dq_tiled (64 rows per workgroup; also writes Dᵢ) then backward_dkdv_tiled (32 keys per
 * workgroup, all GQA rows of the kv head), S and dP as d-slab matmuls in workgroup memory (see the
 * WGSL header). A [B,H,Tq] Dᵢ scratch buffer comes from the pool.
 */
import { wgsl } from '@kts/kernels';
import { currentBatch, type Batch } from '../dispatch.ts';
import { currentPool } from '../pool.ts';
import { attentionUniforms, attentionVariants, checkAttentionShape, type AttentionBackwardBuffers, type AttentionShape } from './attention-shape.ts';
import { ceilDiv } from './common.ts';

export const ATTENTION_BACKWARD_TILED_WGSL: string = wgsl['attention-backward-tiled'];
const variant = attentionVariants(ATTENTION_BACKWARD_TILED_WGSL);

const BR = 64;
const BC = 32;
const DS = 4;

/** Workgroup memory of the larger of the two entries for head dim D (see the WGSL header). */
export function tiledBackwardBytes(D: number): number {
  const D4 = Math.ceil(D / 4);
  const rsub = Math.min(32, Math.floor(512 / D4));
  const buf = Math.max((2 * BR + 2 * BC) * (DS + 1), BC * D4, 2 * rsub * D4);
  return 16 * (buf + (BC * BR) / 4 + Math.max(2 * (BR / 4), (32 * BC) / 4));
}

export function tiledBackwardFits(s: AttentionShape, device: GPUDevice): boolean {
  return tiledBackwardBytes(s.D) <= device.limits.maxComputeWorkgroupStorageSize && device.limits.maxComputeInvocationsPerWorkgroup >= 128;
}

export function attentionBackwardTiled(bufs: AttentionBackwardBuffers, s: AttentionShape, batch: Batch = currentBatch()): void {
  const { vec4 } = checkAttentionShape(s);
  const { B, H, Hkv, Tq, Tk, D } = s;
  const pool = currentPool();
  const dvec = pool.acquire(B * H * Tq * 4);
  const code = variant({ VEC4: vec4, MASK: !!s.mask }, { D, DS });
  const u = attentionUniforms(s);
  const mask = bufs.mask ?? bufs.q;
  const label = `${B}x${H}/${Hkv}x${Tq}x${Tk}x${D}`;
  batch.dispatch({
    code, entryPoint: 'backward_dq_tiled', buffers: [bufs.q, bufs.k, bufs.v, mask, bufs.dO, bufs.l, bufs.o, dvec, bufs.dq],
    uniforms: u, uniformBinding: 15, workgroups: [ceilDiv((H / Hkv) * Tq, BR), B * Hkv, 1], label: `attention dq tiled ${label}`,
  });
  batch.dispatch({
    code, entryPoint: 'backward_dkdv_tiled', buffers: [bufs.q, bufs.k, bufs.v, mask, bufs.dO, bufs.l, dvec, bufs.dk, bufs.dv],
    uniforms: u, uniformBinding: 15, workgroups: [ceilDiv(Tk, BC), B * Hkv, 1], label: `attention dkdv tiled ${label}`,
  });
  pool.release(dvec); // later users are ordered after both dispatches
}
