/**
 * The shape, layouts, buffers and uniform block of fused attention, shared by every attention
 * kernel's launcher (attention.ts: versions 1; attention-forward-tiled.ts, attention-decode.ts,
 * attention-backward-tiled.ts: the GPU versions). All of them are prefixed with
 * kernels/attention-common.wgsl and read the same uniform block.
 */
import { wgsl } from '@kts/kernels';
import { WebGPUError } from '../device.ts';
import { needElems, needInts, Uniforms, variantCache } from './common.ts';

export const ATTENTION_COMMON_WGSL: string = wgsl['attention-common'];

/** variantCache() of a kernel prefixed with attention-common.wgsl. */
export function attentionVariants(src: string): ReturnType<typeof variantCache> {
  return variantCache(`${ATTENTION_COMMON_WGSL}\n${src}`);
}

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

export const contiguous3 = (heads: number, T: number, D: number): Layout3 => ({ offset: 0, strides: [heads * T * D, T * D, D] });

/**
 * Validates a shape (the limits every version shares) and says whether the VEC4 variant applies
 * (D % 4 == 0 and every q/k/v offset and stride a multiple of 4).
 */
export function checkAttentionShape(s: AttentionShape): { vec4: boolean } {
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
  return { vec4: D % 4 === 0 && all.every((x) => x % 4 === 0) };
}

export function attentionUniforms(s: AttentionShape): ArrayBuffer {
  const q = s.q ?? contiguous3(s.H, s.Tq, s.D);
  const k = s.k ?? contiguous3(s.Hkv, s.Tk, s.D);
  const v = s.v ?? contiguous3(s.Hkv, s.Tk, s.D);
  const m = s.mask ?? { offset: 0, strides: [0, 0, 0, 0] as const };
  const u = new Uniforms()
    .u32(s.Tq).u32(s.Tk).u32(s.Hkv).u32(s.H / s.Hkv)
    .u32((s.H / s.Hkv) * s.Tq).u32(s.causal ? 1 : 0).f32(s.scale ?? 1 / Math.sqrt(s.D)).f32(-Infinity);
  for (const l of [q, k, v]) u.u32(l.offset).u32(l.strides[0]).u32(l.strides[1]).u32(l.strides[2]);
  u.u32(m.offset).u32(m.strides[0]).u32(m.strides[1]).u32(m.strides[2]).u32(m.strides[3]).u32(s.B * s.H * s.Tq).u32(0).u32(0);
  return u.build();
}

function span(l: Layout3, B: number, heads: number, T: number, D: number): number {
  return l.offset + (B - 1) * l.strides[0] + (heads - 1) * l.strides[1] + (T - 1) * l.strides[2] + D;
}

export function checkAttentionInputs(s: AttentionShape, q: GPUBuffer, k: GPUBuffer, v: GPUBuffer, mask: GPUBuffer | null | undefined): void {
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

/** checkAttentionInputs plus the forward outputs. */
export function checkForwardBuffers(s: AttentionShape, b: AttentionForwardBuffers): void {
  checkAttentionInputs(s, b.q, b.k, b.v, b.mask);
  needElems('attention', 'o', b.o, s.B * s.H * s.Tq * s.D);
  needElems('attention', 'l', b.l, s.B * s.H * s.Tq);
}

/** checkAttentionInputs plus the backward's other inputs and outputs. */
export function checkBackwardBuffers(s: AttentionShape, b: AttentionBackwardBuffers): void {
  const { B, H, Hkv, Tq, Tk, D } = s;
  checkAttentionInputs(s, b.q, b.k, b.v, b.mask);
  needElems('attention backward', 'o', b.o, B * H * Tq * D);
  needElems('attention backward', 'dO', b.dO, B * H * Tq * D);
  needElems('attention backward', 'l', b.l, B * H * Tq);
  needElems('attention backward', 'dq', b.dq, B * H * Tq * D);
  needElems('attention backward', 'dk', b.dk, B * Hkv * Tk * D);
  needElems('attention backward', 'dv', b.dv, B * Hkv * Tk * D);
}
