/**
 * Launcher for kernels/attention-decode.wgsl (attention forward version 3, for GPUs): few rows
 * per kv head (nRep·Tq ≤ 16, e.g. one decode token) against a long KV cache, keys split into
 * chunks of 128 over workgroups, then a merge pass (see the WGSL header). Scratch buffers come
 * from the pool.
 */
import { wgsl } from '@kts/kernels';
import { WebGPUError } from '../device.ts';
import { currentBatch, type Batch } from '../dispatch.ts';
import { currentPool } from '../pool.ts';
import { attentionUniforms, attentionVariants, checkAttentionShape, type AttentionForwardBuffers, type AttentionShape } from './attention-shape.ts';
import { ceilDiv, nextPow2 } from './common.ts';

export const ATTENTION_DECODE_WGSL: string = wgsl['attention-decode'];
const variant = attentionVariants(ATTENTION_DECODE_WGSL);

/** Keys per chunk = invocations per workgroup. */
const CK = 128;
/** Most rows per kv head the kernel takes. */
export const DECODE_MAX_ROWS = 16;

export function decodeBytes(rows: number, D: number): number {
  const rmax = nextPow2(rows);
  return 16 * rmax * Math.ceil(D / 4) + 4 * rmax * CK + 16 * CK;
}

/** Whether version 3 serves a shape: few rows per kv head, and its workgroup memory fits. */
export function decodeFits(s: AttentionShape, device: GPUDevice): boolean {
  const rows = (s.H / s.Hkv) * s.Tq;
  return rows <= DECODE_MAX_ROWS && decodeBytes(rows, s.D) <= device.limits.maxComputeWorkgroupStorageSize;
}

export function attentionDecode(bufs: AttentionForwardBuffers, s: AttentionShape, batch: Batch = currentBatch()): void {
  const { vec4 } = checkAttentionShape(s);
  const rows = (s.H / s.Hkv) * s.Tq;
  if (rows > DECODE_MAX_ROWS) throw new WebGPUError(`attention decode: ${rows} rows per kv head > ${DECODE_MAX_ROWS}`);
  const chunks = ceilDiv(s.Tk, CK);
  if (chunks > 65535) throw new WebGPUError(`attention decode: Tk = ${s.Tk} needs ${chunks} > 65535 chunks`);
  const D4 = Math.ceil(s.D / 4);
  const outRows = s.B * s.H * s.Tq;
  const pool = currentPool();
  const po = pool.acquire(outRows * chunks * D4 * 16);
  const pml = pool.acquire(outRows * chunks * 8);
  const code = variant({ VEC4: vec4, MASK: !!s.mask }, { D: s.D, RMAX: nextPow2(rows), CHUNKS: chunks });
  const u = attentionUniforms(s);
  const mask = bufs.mask ?? bufs.q;
  const label = `${s.B}x${s.H}/${s.Hkv}x${s.Tq}x${s.Tk}x${s.D}`;
  batch.dispatch({
    code, entryPoint: 'decode_partial', buffers: [bufs.q, bufs.k, bufs.v, mask, po, pml],
    uniforms: u, uniformBinding: 15, workgroups: [chunks, s.B * s.Hkv, 1], label: `attention decode ${label}`,
  });
  batch.dispatch({
    code, entryPoint: 'decode_merge', buffers: [bufs.q, bufs.k, bufs.v, mask, bufs.o, bufs.l, po, pml],
    uniforms: u, uniformBinding: 15, workgroups: [ceilDiv(outRows * D4, CK), 1, 1], label: `attention decode merge ${label}`,
  });
  // Later users of these buffers are ordered after both dispatches.
  pool.release(po);
  pool.release(pml);
}
