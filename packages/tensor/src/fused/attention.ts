// Scaled dot-product attention (causal, masks, grouped-query).
//
// A backend may fuse this op into one kernel (Backend.fused); the composite below is the
// definition every fused kernel must match, and the fallback where a backend has none.
import type { AttentionOptions } from '../backend.ts';
import * as ops from '../ops.ts';
import { shapeStr } from '../shape.ts';
import type { Tensor } from '../tensor.ts';

/**
 * Scaled dot-product attention with grouped-query support.
 * q [B, H, Tq, D]; k, v [B, Hkv, Tk, D] with H a multiple of Hkv (each group of H/Hkv query
 * heads shares one key/value head, as HF's repeat_kv). With `causal`, query i sits at absolute
 * position Tk − Tq + i (so decoding against a KV cache works) and sees keys up to it.
 * Rows whose keys are all masked give zeros (flash-attention convention), not NaN.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) {
    throw new Error(`attention: expects q, k, v of 4 dims [B, H, T, D], got ${shapeStr(q.shape)}, ${shapeStr(k.shape)}, ${shapeStr(v.shape)}`);
  }
  const [B, H, , D] = q.shape as [number, number, number, number];
  const Hkv = k.shape[1]!;
  if (H % Hkv !== 0 || k.shape[0] !== B || k.shape[3] !== D || v.shape.some((d, i) => d !== k.shape[i])) {
    throw new Error(`attention: incompatible shapes q ${shapeStr(q.shape)}, k ${shapeStr(k.shape)}, v ${shapeStr(v.shape)}`);
  }
  return (q.backend.fused?.attention ?? attentionComposite)(q, k, v, opts);
}

/** Attention from primitives (definition and fallback of fused kernels); shapes already checked. */
export function attentionComposite(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const [, H, Tq, D] = q.shape as [number, number, number, number];
  const [, Hkv, Tk] = k.shape as [number, number, number, number];
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const kk = repeatKv(k, H / Hkv);
  const vv = repeatKv(v, H / Hkv);
  let scores = q.matmul(kk.transpose(-1, -2)).mul(scale);
  if (opts.causal) {
    const qi = ops.arange(0, Tq, 1, { dtype: 'int32', device: q.device }).reshape([Tq, 1]);
    const kj = ops.arange(0, Tk, 1, { dtype: 'int32', device: q.device }).reshape([1, Tk]);
    scores = ops.where(kj.sub(qi).gt(Tk - Tq), -Infinity, scores);
  }
  // A query whose keys are all masked (a padding position under left padding) gets zero
  // output rather than NaN (softmax gives zeros for all −∞ rows), so nothing leaks into real
  // positions in later layers.
  if (opts.mask) scores = scores.add(opts.mask);
  return scores.softmax(-1).matmul(vv);
}

/** [B, Hkv, T, D] → [B, Hkv·n, T, D], each kv head repeated n times in place (HF repeat_kv). */
export function repeatKv(x: Tensor, n: number): Tensor {
  if (n === 1) return x;
  const [B, Hkv, T, D] = x.shape as [number, number, number, number];
  return x.unsqueeze(2).expand([B, Hkv, n, T, D]).reshape([B, Hkv * n, T, D]);
}
