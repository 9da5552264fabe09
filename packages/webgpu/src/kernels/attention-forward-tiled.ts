/**
 * Launcher for kernels/attention-forward-tiled.wgsl (attention forward version 2, for GPUs):
 * 64 rows × 32-key blocks per workgroup of 128 invocations, Q/K slabs and the V block in
 * workgroup memory (see the WGSL header). `attentionForward` (attention.ts) picks it on the 'gpu'
 * kernel family unless the rows per kv head are few (decode: attention-decode.ts).
 */
import { wgsl } from '@kts/kernels';
import { currentBatch, type Batch } from '../dispatch.ts';
import { attentionUniforms, attentionVariants, checkAttentionShape, type AttentionForwardBuffers, type AttentionShape } from './attention-shape.ts';
import { ceilDiv } from './common.ts';

export const ATTENTION_FORWARD_TILED_WGSL: string = wgsl['attention-forward-tiled'];
const variant = attentionVariants(ATTENTION_FORWARD_TILED_WGSL);

const BR = 64;
const BC = 32;
/** d-slab width in vec4 (the Q and K slabs staged per step of the Q·Kᵀ loop). */
const DS = 8;

/** Workgroup memory of the kernel for head dim D (see the WGSL header). */
export function tiledForwardBytes(D: number): number {
  const D4 = Math.ceil(D / 4);
  return 16 * (Math.max((BR + BC) * (DS + 1), BC * D4) + (BC * BR) / 4 + BR / 4);
}

export function tiledForwardFits(s: AttentionShape, device: GPUDevice): boolean {
  return tiledForwardBytes(s.D) <= device.limits.maxComputeWorkgroupStorageSize && device.limits.maxComputeInvocationsPerWorkgroup >= 128;
}

export function attentionForwardTiled(bufs: AttentionForwardBuffers, s: AttentionShape, batch: Batch = currentBatch()): void {
  const { vec4 } = checkAttentionShape(s);
  const rows = (s.H / s.Hkv) * s.Tq;
  batch.dispatch({
    code: variant({ VEC4: vec4, MASK: !!s.mask }, { D: s.D, DS }),
    entryPoint: 'forward_tiled',
    buffers: [bufs.q, bufs.k, bufs.v, bufs.mask ?? bufs.q, bufs.o, bufs.l],
    uniforms: attentionUniforms(s),
    uniformBinding: 15,
    workgroups: [ceilDiv(rows, BR), s.B * s.Hkv, 1],
    label: `attention fwd tiled ${s.B}x${s.H}/${s.Hkv}x${s.Tq}x${s.Tk}x${s.D}`,
  });
}
