/**
 * Runner for kernels/fused-attention.wgsl: flash-style attention forward (O and per-row
 * logsumexp L) and backward (dQ, dK, dV by recomputation from L), on GPUBuffers, plus float64
 * CPU references (`attentionReference`, `attentionBackwardReference`) for tests and benchmarks.
 *
 * Layouts (f32): q [B,H,Tq,D], k/v [B,Hkv,Tk,D] with any offset/strides for b, h, t and d
 * contiguous; o/dO/dQ [B,H,Tq,D], L/Dvec [B,H,Tq], dK/dV [B,Hkv,Tk,D] contiguous. Optional
 * additive mask: any strided f32 view broadcast to [B,H,Tq,Tk]. H % Hkv == 0 (GQA).
 * Workgroup: llvmpipe's SIMD width (16), 32 on GPUs; per-configuration
 * register tiles are chosen by `planAttention` (see the WGSL header). Limits: 1 ≤ D ≤ 128,
 * Tq, Tk ≥ 1, bindings ≤ maxStorageBufferBindingSize, B·Hkv ≤ 65535.
 */
import { wgsl } from '@kts/kernels';
import { currentDevice, WebGPUError } from '../device.ts';
import { currentBatch, type Batch } from '../kernel.ts';
import { currentPool } from '../pool.ts';
import { ceilDiv, fusedLanes, needElems, needInts, nextPow2, Uniforms, variantCache } from './fused-common.ts';

export const ATTENTION_WGSL: string = wgsl['fused-attention'];
const variant = variantCache(ATTENTION_WGSL);

/** Offset and [b, h, t] strides (elements) of a [B, heads, T, D] tensor with d contiguous. */
export interface Layout3 {
  offset: number;
  strides: readonly [number, number, number];
}
/** Offset and [b, h, i, j] strides of the mask broadcast to [B, H, Tq, Tk] (0 = broadcast). */
export interface MaskLayout {
  offset: number;
  strides: readonly [number, number, number, number];
}

export interface AttentionShape {
  B: number;
  H: number;
  Hkv: number;
  Tq: number;
  Tk: number;
  D: number;
  causal?: boolean;
  /** Defaults to 1/√D. */
  scale?: number;
  /** Default: contiguous. */
  q?: Layout3;
  k?: Layout3;
  v?: Layout3;
  /** Present iff a mask buffer is passed. */
  mask?: MaskLayout | null;
}

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

const contiguous3 = (heads: number, T: number, D: number): Layout3 => ({ offset: 0, strides: [heads * T * D, T * D, D] });

export function planAttention(s: AttentionShape, tune: AttentionTuning = {}): AttentionPlan {
  const { B, H, Hkv, Tq, Tk, D } = s;
  needInts('attention', { B, H, Hkv, Tq, Tk, D }, 1);
  if (H % Hkv !== 0) throw new WebGPUError(`attention: H = ${H} is not a multiple of Hkv = ${Hkv}`);
  if (D > 128) throw new WebGPUError(`attention: head dim ${D} > 128 is not supported by the fused kernel`);
  if (B * Hkv > 65535) throw new WebGPUError(`attention: B·Hkv = ${B * Hkv} exceeds 65535 workgroups`);
  const q = s.q ?? contiguous3(H, Tq, D);
  const k = s.k ?? contiguous3(Hkv, Tk, D);
  const v = s.v ?? contiguous3(Hkv, Tk, D);
  const all = [q.offset, ...q.strides, k.offset, ...k.strides, v.offset, ...v.strides];
  if (all.some((x) => !Number.isInteger(x) || x < 0)) throw new WebGPUError('attention: offsets/strides must be integers ≥ 0');
  const vec4 = D % 4 === 0 && all.every((x) => x % 4 === 0);
  // llvmpipe: its SIMD width; GPUs: one 32-wide warp (the decode merge needs WG·TM·(D+2)
  // floats of workgroup memory, which 64 lanes at D = 128 would exceed).
  const wg = tune.wg ?? Math.min(fusedLanes(), 32);
  const D4 = Math.ceil(D / 4);
  const nRep = H / Hkv;
  const rows = nRep * Tq;
  // Rows per lane (registers: q and o tiles of TM·D floats each). Measured on llvmpipe at
  // T = 512 (GFLOP/s, first compile): D = 64: TM 4 → 10, TM 8 → 12.3 (2.4 s); D = 128: TM 2 →
  // 5.6, TM 4 → 9 (3.2 s). Tiny problems use fewer rows (pipelines stay few: TM ∈ {1, 2, 4, 8}).
  const tmMax = D4 > 16 ? 4 : 8;
  let tm = tune.tm ?? Math.min(tmMax, nextPow2(rows));
  // Few rows per (b, hk) and many keys (decode): split the keys over LK lanes and merge the
  // partial states through workgroup memory (WG·TM·(D+2) floats), shrinking TM until that
  // fits. Measured (D = 128, 32 heads over 8 kv heads, Tk = 512): TM 4 without split 13.5 ms,
  // TM 2 × LK 8: 1.7 ms.
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
  // Backward: D = 64: TM/TN 4 → 11.3 GFLOP/s (4.8 s compile), 2 → 7.2; D = 128: 2 → 6.9 (6.4 s),
  // 1 → 3.9 (0.4 s); 4 at D = 128 takes minutes to compile.
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

function uniforms(s: AttentionShape): ArrayBuffer {
  const q = s.q ?? contiguous3(s.H, s.Tq, s.D);
  const k = s.k ?? contiguous3(s.Hkv, s.Tk, s.D);
  const v = s.v ?? contiguous3(s.Hkv, s.Tk, s.D);
  const m = s.mask ?? { offset: 0, strides: [0, 0, 0, 0] as const };
  const u = new Uniforms()
    .u32(s.Tq).u32(s.Tk).u32(s.Hkv).u32(s.H / s.Hkv)
    .u32((s.H / s.Hkv) * s.Tq).u32(s.causal ? 1 : 0).f32(s.scale ?? 1 / Math.sqrt(s.D)).f32(-Infinity);
  for (const l of [q, k, v]) u.u32(l.offset).u32(l.strides[0]).u32(l.strides[1]).u32(l.strides[2]);
  u.u32(m.offset).u32(m.strides[0]).u32(m.strides[1]).u32(m.strides[2]).u32(m.strides[3]).u32(0).u32(0).u32(0);
  return u.build();
}

function span(l: Layout3, B: number, heads: number, T: number, D: number): number {
  return l.offset + (B - 1) * l.strides[0] + (heads - 1) * l.strides[1] + (T - 1) * l.strides[2] + D;
}

function checkInputs(s: AttentionShape, q: GPUBuffer, k: GPUBuffer, v: GPUBuffer, mask: GPUBuffer | null | undefined): void {
  const { B, H, Hkv, Tq, Tk, D } = s;
  needElems('attention', 'q', q, span(s.q ?? contiguous3(H, Tq, D), B, H, Tq, D));
  needElems('attention', 'k', k, span(s.k ?? contiguous3(Hkv, Tk, D), B, Hkv, Tk, D));
  needElems('attention', 'v', v, span(s.v ?? contiguous3(Hkv, Tk, D), B, Hkv, Tk, D));
  if (!!mask !== !!s.mask) throw new WebGPUError('attention: pass both a mask buffer and shape.mask, or neither');
  if (mask && s.mask) {
    const m = s.mask;
    if (m.strides.some((x) => !Number.isInteger(x) || x < 0) || !Number.isInteger(m.offset) || m.offset < 0) {
      throw new WebGPUError('attention: mask offset/strides must be integers ≥ 0');
    }
    needElems('attention', 'mask', mask, m.offset + (B - 1) * m.strides[0] + (H - 1) * m.strides[1] + (Tq - 1) * m.strides[2] + (Tk - 1) * m.strides[3] + 1);
  }
}

function code(plan: AttentionPlan, s: AttentionShape, kernel: 'forward' | 'dq' | 'dkdv'): string {
  const fwd = kernel === 'forward';
  return variant(
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

export interface AttentionForwardBuffers {
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  mask?: GPUBuffer | null;
  /** Output [B,H,Tq,D]. */
  o: GPUBuffer;
  /** Output [B,H,Tq] row logsumexp (−∞ for rows with no visible key). */
  l: GPUBuffer;
}

/** Records the forward pass (one dispatch). */
export function attentionForward(
  bufs: AttentionForwardBuffers,
  s: AttentionShape,
  tune: AttentionTuning = {},
  batch: Batch = currentBatch(),
): AttentionPlan {
  const plan = planAttention(s, tune);
  checkInputs(s, bufs.q, bufs.k, bufs.v, bufs.mask);
  needElems('attention', 'o', bufs.o, s.B * s.H * s.Tq * s.D);
  needElems('attention', 'l', bufs.l, s.B * s.H * s.Tq);
  batch.dispatch({
    code: code(plan, s, 'forward'),
    entryPoint: 'forward',
    buffers: [bufs.q, bufs.k, bufs.v, bufs.mask ?? bufs.q, bufs.o, bufs.l],
    uniforms: uniforms(s),
    uniformBinding: 15,
    workgroups: plan.forwardGrid,
    label: `attention fwd ${s.B}x${s.H}/${s.Hkv}x${s.Tq}x${s.Tk}x${s.D}`,
  });
  return plan;
}

export interface AttentionBackwardBuffers {
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  mask?: GPUBuffer | null;
  /** Forward outputs. */
  o: GPUBuffer;
  l: GPUBuffer;
  /** Gradient of O, contiguous [B,H,Tq,D]. */
  dO: GPUBuffer;
  /** Outputs. */
  dq: GPUBuffer;
  dk: GPUBuffer;
  dv: GPUBuffer;
}

/** Records the backward pass (two dispatches; a [B,H,Tq] scratch buffer comes from the pool). */
export function attentionBackward(
  bufs: AttentionBackwardBuffers,
  s: AttentionShape,
  tune: AttentionTuning = {},
  batch: Batch = currentBatch(),
): AttentionPlan {
  const plan = planAttention(s, tune);
  const { B, H, Hkv, Tq, Tk, D } = s;
  checkInputs(s, bufs.q, bufs.k, bufs.v, bufs.mask);
  needElems('attention backward', 'o', bufs.o, B * H * Tq * D);
  needElems('attention backward', 'dO', bufs.dO, B * H * Tq * D);
  needElems('attention backward', 'l', bufs.l, B * H * Tq);
  needElems('attention backward', 'dq', bufs.dq, B * H * Tq * D);
  needElems('attention backward', 'dk', bufs.dk, B * Hkv * Tk * D);
  needElems('attention backward', 'dv', bufs.dv, B * Hkv * Tk * D);
  const pool = currentPool();
  const dvec = pool.acquire(B * H * Tq * 4);
  const u = uniforms(s);
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
  return plan;
}

// ---- CPU references (float64) ----------------------------------------------------------------

export interface AttentionRefShape {
  B: number;
  H: number;
  Hkv: number;
  Tq: number;
  Tk: number;
  D: number;
  causal?: boolean;
  scale?: number;
}

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
