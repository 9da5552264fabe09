/**
 * Fused attention on GPUBuffers: `attentionForward` / `attentionBackward` pick a kernel version
 * by kernel family and shape, and this file is the launcher of versions 1 —
 * kernels/attention-forward.wgsl and attention-backward.wgsl (prefixed with
 * kernels/attention-common.wgsl), rows in per-lane registers for CPU renderers — plus the float64
 * CPU references (`attentionReference`, `attentionBackwardReference`) for tests and benchmarks.
 *
 *   forward   1  attention-forward.wgsl        CPU renderers: TM rows per lane, key split for decode
 *             2  attention-forward-tiled.wgsl  GPUs: 64 × 32 Q·Kᵀ tiles and K/V blocks in workgroup memory
 *             3  attention-decode.wgsl         GPUs, ≤ 16 rows per kv head (decode): keys split over workgroups
 *   backward  1  attention-backward.wgsl       CPU renderers: rows (dQ) or keys (dK, dV) per lane
 *             2  attention-backward-tiled.wgsl GPUs: S and dP tiles, K/V and Q/dO staged in workgroup memory
 *
 * Layouts (f32): q [B,H,Tq,D], k/v [B,Hkv,Tk,D] with any offset/strides for b, h, t and d
 * contiguous; o/dO/dQ [B,H,Tq,D], L/Dvec [B,H,Tq], dK/dV [B,Hkv,Tk,D] contiguous. Optional
 * additive mask: any strided f32 view broadcast to [B,H,Tq,Tk]. H % Hkv == 0 (GQA).
 * Version 1: workgroup llvmpipe's SIMD width, per-configuration register tiles chosen by
 * `planAttention` (see the WGSL headers). Limits (all versions): 1 ≤ D ≤ 128, Tq, Tk ≥ 1,
 * bindings ≤ maxStorageBufferBindingSize, B·Hkv ≤ 65535.
 */
import { wgsl } from '@kts/kernels';
import { currentDevice, kernelFamily, WebGPUError } from '../device.ts';
import { currentBatch, type Batch } from '../dispatch.ts';
import { currentPool } from '../pool.ts';
import {
  attentionUniforms, attentionVariants, checkAttentionShape, checkBackwardBuffers, checkForwardBuffers,
  type AttentionBackwardBuffers, type AttentionForwardBuffers, type AttentionShape,
} from './attention-shape.ts';
import { attentionBackwardTiled, tiledBackwardFits } from './attention-backward-tiled.ts';
import { attentionDecode, decodeFits } from './attention-decode.ts';
import { attentionForwardTiled, tiledForwardFits } from './attention-forward-tiled.ts';
import { ceilDiv, fusedLanes, nextPow2 } from './common.ts';

export * from './attention-shape.ts';

export const ATTENTION_FORWARD_WGSL: string = wgsl['attention-forward'];
export const ATTENTION_BACKWARD_WGSL: string = wgsl['attention-backward'];
const forwardVariant = attentionVariants(ATTENTION_FORWARD_WGSL);
const backwardVariant = attentionVariants(ATTENTION_BACKWARD_WGSL);

/** Tile choices (normally from planAttention; exposed for benchmarks and tests). */
export interface AttentionTuning {
  wg?: number;
  /** Rows per lane (forward). */
  tm?: number;
  /** Key slots per workgroup (forward); 1 = lanes are rows. */
  lk?: number;
  /** Rows per lane (backward dQ). */
  tmBwd?: number;
  /** Keys per lane (backward dK/dV). */
  tn?: number;
  /** Head-dim chunk widths in vec4 (forward, backward). */
  cw?: number;
  cwBwd?: number;
}

export interface AttentionPlan {
  wg: number;
  tm: number;
  lr: number;
  lk: number;
  tmBwd: number;
  tn: number;
  vec4: boolean;
  /** Head-dim chunk width (vec4) of the forward and backward kernels. */
  cw: number;
  cwBwd: number;
  forwardGrid: [number, number, number];
  dqGrid: [number, number, number];
  dkdvGrid: [number, number, number];
}

/** Plans version 1 (attention-forward.wgsl, attention-backward.wgsl); validates the shape. */
export function planAttention(s: AttentionShape, tune: AttentionTuning = {}): AttentionPlan {
  const { B, Hkv, Tk, D } = s;
  const { vec4 } = checkAttentionShape(s);
  // llvmpipe: its SIMD width; GPUs: one 32-wide warp (the decode merge needs WG·TM·(D+2)
  // floats of workgroup memory, which 64 lanes at D = 128 would exceed).
  const wg = tune.wg ?? Math.min(fusedLanes(), 32);
  const D4 = Math.ceil(D / 4);
  const nRep = s.H / Hkv;
  const rows = nRep * s.Tq;
  // Rows per lane (registers: q and o tiles of TM·D floats each): more rows per lane are faster
  // until the register tiles spill (bench/results/llvmpipe-tuning.md). Tiny problems use fewer
  // rows (pipelines stay few: TM ∈ {1, 2, 4, 8}).
  const tmMax = D4 > 16 ? 4 : 8;
  let tm = tune.tm ?? Math.min(tmMax, nextPow2(rows));
  // Few rows per (b, hk) and many keys (decode): split the keys over LK lanes and merge the
  // partial states through workgroup memory (WG·TM·(D+2) floats), shrinking TM until that
  // fits (several times faster than one lane walking every key).
  const maxShared = currentDevice().limits.maxComputeWorkgroupStorageSize;
  const mergeBytes = (t: number): number => 4 * wg * t * (4 * D4 + 2);
  let lk = tune.lk ?? 1;
  if (tune.lk === undefined && ceilDiv(rows, tm) < wg && Tk >= 8) {
    if (tune.tm === undefined) while (tm > 1 && mergeBytes(tm) > maxShared) tm /= 2;
    lk = wg / Math.min(wg, nextPow2(ceilDiv(rows, tm)));
    while (lk > 1 && lk * 4 > Tk) lk /= 2;
  }
  if (wg % lk !== 0) throw new WebGPUError(`attention: lk = ${lk} must divide ${wg}`);
  if (lk > 1 && mergeBytes(tm) > maxShared) {
    if (tune.lk !== undefined) {
      throw new WebGPUError(`attention: tm = ${tm} with lk = ${lk} needs ${mergeBytes(tm)} bytes of workgroup memory (max ${maxShared})`);
    }
    lk = 1; // no key split (correct, slower)
  }
  const lr = wg / lk;
  // Backward: 4 rows / keys per lane at D ≤ 64, 2 at D = 128 (4 takes minutes to compile there).
  const tmBwd = tune.tmBwd ?? Math.min(D4 > 16 ? 2 : 4, nextPow2(rows));
  const tn = tune.tn ?? Math.min(D4 > 16 ? 2 : 4, nextPow2(Tk));
  return {
    wg, tm, lr, lk, tmBwd, tn, vec4,
    cw: tune.cw ?? Math.min(16, Math.floor(64 / tm)),
    cwBwd: tune.cwBwd ?? Math.min(16, Math.floor(32 / Math.max(tmBwd, tn))),
    forwardGrid: [ceilDiv(rows, lr * tm), B * Hkv, 1],
    dqGrid: [ceilDiv(rows, wg * tmBwd), B * Hkv, 1],
    dkdvGrid: [ceilDiv(Tk, wg * tn), B * Hkv, 1],
  };
}

function code(plan: AttentionPlan, s: AttentionShape, kernel: 'forward' | 'dq' | 'dkdv'): string {
  const fwd = kernel === 'forward';
  return (fwd ? forwardVariant : backwardVariant)(
    { VEC4: plan.vec4, MASK: !!s.mask },
    {
      WG: plan.wg, D: s.D,
      TM: fwd ? plan.tm : kernel === 'dq' ? plan.tmBwd : 1,
      LR: fwd ? plan.lr : plan.wg,
      LK: fwd ? plan.lk : 1,
      TN: kernel === 'dkdv' ? plan.tn : 1,
      CW: fwd ? plan.cw : plan.cwBwd,
    },
    Math.ceil(Math.ceil(s.D / 4) / (fwd ? plan.cw : plan.cwBwd)),
  );
}

export type AttentionForwardVersion = 1 | 2 | 3;
export type AttentionBackwardVersion = 1 | 2;

/** Forward version for a shape: 1 on the 'llvmpipe' family; on GPUs 3 (decode) or 2. */
export function attentionForwardVersion(s: AttentionShape, device: GPUDevice = currentDevice()): AttentionForwardVersion {
  if (kernelFamily() === 'llvmpipe') return 1;
  if (decodeFits(s, device)) return 3;
  return tiledForwardFits(s, device) ? 2 : 1;
}

/** Backward version for a shape: 1 on the 'llvmpipe' family, else 2 where its tiles fit. */
export function attentionBackwardVersion(s: AttentionShape, device: GPUDevice = currentDevice()): AttentionBackwardVersion {
  if (kernelFamily() === 'llvmpipe') return 1;
  return tiledBackwardFits(s, device) ? 2 : 1;
}

/** Kernel choice for attentionForward / attentionBackward: a forced version, version 1's tiles. */
export interface AttentionRun extends AttentionTuning {
  version?: number;
}

/** Records the forward pass (O and L); returns the version that ran. */
export function attentionForward(
  bufs: AttentionForwardBuffers,
  s: AttentionShape,
  run: AttentionRun = {},
  batch: Batch = currentBatch(),
): AttentionForwardVersion {
  checkAttentionShape(s);
  checkForwardBuffers(s, bufs);
  const v = (run.version ?? attentionForwardVersion(s, batch.device)) as AttentionForwardVersion;
  if (v === 2) attentionForwardTiled(bufs, s, batch);
  else if (v === 3) attentionDecode(bufs, s, batch);
  else if (v === 1) {
    const plan = planAttention(s, run);
    batch.dispatch({
      code: code(plan, s, 'forward'),
      entryPoint: 'forward',
      buffers: [bufs.q, bufs.k, bufs.v, bufs.mask ?? bufs.q, bufs.o, bufs.l],
      uniforms: attentionUniforms(s),
      uniformBinding: 15,
      workgroups: plan.forwardGrid,
      label: `attention fwd ${s.B}x${s.H}/${s.Hkv}x${s.Tq}x${s.Tk}x${s.D}`,
    });
  } else throw new WebGPUError(`attention: no forward version ${String(v)} (1, 2, 3)`);
  return v;
}

/** Records the backward pass (dQ, dK, dV; a [B,H,Tq] scratch buffer from the pool); returns the version. */
export function attentionBackward(
  bufs: AttentionBackwardBuffers,
  s: AttentionShape,
  run: AttentionRun = {},
  batch: Batch = currentBatch(),
): AttentionBackwardVersion {
  checkAttentionShape(s);
  checkBackwardBuffers(s, bufs);
  const v = (run.version ?? attentionBackwardVersion(s, batch.device)) as AttentionBackwardVersion;
  if (v === 2) {
    attentionBackwardTiled(bufs, s, batch);
    return v;
  }
  if (v !== 1) throw new WebGPUError(`attention: no backward version ${String(v)} (1, 2)`);
  const plan = planAttention(s, run);
  const { B, H, Hkv, Tq, Tk, D } = s;
  const pool = currentPool();
  const dvec = pool.acquire(B * H * Tq * 4);
  const u = attentionUniforms(s);
  const mask = bufs.mask ?? bufs.q;
  const label = `${B}x${H}/${Hkv}x${Tq}x${Tk}x${D}`;
  batch.dispatch({
    code: code(plan, s, 'dq'),
    entryPoint: 'backward_dq',
    buffers: [bufs.q, bufs.k, bufs.v, mask, bufs.dO, bufs.l, bufs.o, dvec, bufs.dq],
    uniforms: u,
    uniformBinding: 15,
    workgroups: plan.dqGrid,
    label: `attention dq ${label}`,
  });
  batch.dispatch({
    code: code(plan, s, 'dkdv'),
    entryPoint: 'backward_dkdv',
    buffers: [bufs.q, bufs.k, bufs.v, mask, bufs.dO, bufs.l, dvec, bufs.dk, bufs.dv],
    uniforms: u,
    uniformBinding: 15,
    workgroups: plan.dkdvGrid,
    label: `attention dkdv ${label}`,
  });
  // Safe to recycle now: any later use of this buffer is ordered after these dispatches.
  pool.release(dvec);
  return v;
}

// ---- CPU references (float64) ----------------------------------------------------------------

/** The references need only the sizes (their inputs are contiguous). */
export type AttentionRefShape = Pick<AttentionShape, 'B' | 'H' | 'Hkv' | 'Tq' | 'Tk' | 'D' | 'causal' | 'scale'>;

/** Dense mask accessor for the references: value added to score (b, h, i, j). */
export type MaskFn = (b: number, h: number, i: number, j: number) => number;

function scoresRow(
  q: ArrayLike<number>, k: ArrayLike<number>, s: AttentionRefShape, mask: MaskFn | null, b: number, h: number, i: number,
): Float64Array {
  const { H, Hkv, Tq, Tk, D } = s;
  const scale = s.scale ?? 1 / Math.sqrt(D);
  const hk = Math.floor(h / (H / Hkv));
  const out = new Float64Array(Tk);
  const qo = ((b * H + h) * Tq + i) * D;
  for (let j = 0; j < Tk; j++) {
    if (s.causal && j > Tk - Tq + i) {
      out[j] = -Infinity;
      continue;
    }
    const ko = ((b * Hkv + hk) * Tk + j) * D;
    let acc = 0;
    for (let d = 0; d < D; d++) acc += q[qo + d]! * k[ko + d]!;
    out[j] = acc * scale + (mask ? mask(b, h, i, j) : 0);
  }
  return out;
}

/** Softmax probabilities of a score row and its logsumexp (all −∞ → zeros, −∞). */
function softmaxRow(sc: Float64Array): { p: Float64Array; lse: number } {
  let mx = -Infinity;
  for (const x of sc) mx = Math.max(mx, x);
  const p = new Float64Array(sc.length);
  if (mx === -Infinity) return { p, lse: -Infinity };
  let sum = 0;
  for (let j = 0; j < sc.length; j++) sum += p[j] = Math.exp(sc[j]! - mx);
  for (let j = 0; j < sc.length; j++) p[j]! /= sum;
  return { p, lse: mx + Math.log(sum) };
}

/** o [B,H,Tq,D] and L [B,H,Tq] for contiguous q [B,H,Tq,D], k/v [B,Hkv,Tk,D]. */
export function attentionReference(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, s: AttentionRefShape, mask: MaskFn | null = null,
): { o: Float64Array; l: Float64Array } {
  const { B, H, Hkv, Tq, Tk, D } = s;
  const o = new Float64Array(B * H * Tq * D);
  const l = new Float64Array(B * H * Tq);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / (H / Hkv));
      for (let i = 0; i < Tq; i++) {
        const { p, lse } = softmaxRow(scoresRow(q, k, s, mask, b, h, i));
        const r = (b * H + h) * Tq + i;
        l[r] = lse;
        for (let j = 0; j < Tk; j++) {
          const pj = p[j]!;
          if (pj === 0) continue;
          const vo = ((b * Hkv + hk) * Tk + j) * D;
          for (let d = 0; d < D; d++) o[r * D + d]! += pj * v[vo + d]!;
        }
      }
    }
  }
  return { o, l };
}

/** dQ, dK, dV of Σ O∘dO (dK/dV summed over each GQA group). */
export function attentionBackwardReference(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, dO: ArrayLike<number>, s: AttentionRefShape,
  mask: MaskFn | null = null,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { B, H, Hkv, Tq, Tk, D } = s;
  const scale = s.scale ?? 1 / Math.sqrt(D);
  const dq = new Float64Array(B * H * Tq * D);
  const dk = new Float64Array(B * Hkv * Tk * D);
  const dv = new Float64Array(B * Hkv * Tk * D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / (H / Hkv));
      for (let i = 0; i < Tq; i++) {
        const { p } = softmaxRow(scoresRow(q, k, s, mask, b, h, i));
        const r = (b * H + h) * Tq + i;
        const dp = new Float64Array(Tk);
        let dsum = 0;
        for (let j = 0; j < Tk; j++) {
          const vo = ((b * Hkv + hk) * Tk + j) * D;
          let acc = 0;
          for (let d = 0; d < D; d++) acc += dO[r * D + d]! * v[vo + d]!;
          dp[j] = acc;
          dsum += p[j]! * acc;
        }
        for (let j = 0; j < Tk; j++) {
          const pj = p[j]!;
          if (pj === 0) continue;
          const ds = pj * (dp[j]! - dsum);
          const ko = ((b * Hkv + hk) * Tk + j) * D;
          for (let d = 0; d < D; d++) {
            dq[r * D + d]! += scale * ds * k[ko + d]!;
            dk[ko + d]! += scale * ds * q[r * D + d]!;
            dv[ko + d]! += pj * dO[r * D + d]!;
          }
        }
      }
    }
  }
  return { dq, dk, dv };
}
