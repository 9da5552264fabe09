// Transformer building blocks that backends commonly fuse: attention, KL between two logit
// sets, and residual-stream steering. These composite versions define the semantics; a
// backend's `fused` kernels must match them (the WebGPU tests check that they do).
import type { AttentionOptions } from './backend.ts';
import * as ops from './ops.ts';
import { shapeStr } from './shape.ts';
import type { Tensor } from './tensor.ts';

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

/**
 * KL(P ‖ Q) per row, where P = softmax(pLogits) and Q = softmax(qLogits) over the last axis:
 * Σ_v P (log P − log Q). Returns the leading shape (e.g. [B, T] for [B, T, V] logits).
 */
export function klDivLogits(pLogits: Tensor, qLogits: Tensor): Tensor {
  if (pLogits.ndim !== qLogits.ndim || pLogits.shape.some((d, i) => d !== qLogits.shape[i])) {
    throw new Error(`klDivLogits: logits shapes differ: ${shapeStr(pLogits.shape)} vs ${shapeStr(qLogits.shape)}`);
  }
  return (pLogits.backend.fused?.klDivLogits ?? klDivLogitsComposite)(pLogits, qLogits);
}

/** KL(P ‖ Q) per row from primitives (definition and fallback of fused kernels). */
export function klDivLogitsComposite(pLogits: Tensor, qLogits: Tensor): Tensor {
  const logP = pLogits.logSoftmax(-1);
  const logQ = qLogits.logSoftmax(-1);
  return logP.exp().mul(logP.sub(logQ)).sum(-1);
}

/**
 * Residual-stream steering: h [B, T, D] + mask[b, t] · Σ_k coeffs[b, k] · vectors[b?, k, D].
 * vectors is [K, D] (shared) or [B, K, D] (per sequence); coeffs [B, K]; mask [B, T] of 0/1
 * choosing the positions steered (all, prompt only, generated only).
 */
export function addSteering(h: Tensor, vectors: Tensor, coeffs: Tensor, mask: Tensor): Tensor {
  const [B, T, D] = h.shape as [number, number, number];
  const K = coeffs.shape[1];
  const vOk = (vectors.ndim === 2 && vectors.shape[0] === K && vectors.shape[1] === D) ||
    (vectors.ndim === 3 && vectors.shape[0] === B && vectors.shape[1] === K && vectors.shape[2] === D);
  if (h.ndim !== 3 || coeffs.ndim !== 2 || coeffs.shape[0] !== B || !vOk || mask.shape[0] !== B || mask.shape[1] !== T) {
    throw new Error(`addSteering: shapes h ${shapeStr(h.shape)}, vectors ${shapeStr(vectors.shape)}, coeffs ${shapeStr(coeffs.shape)}, mask ${shapeStr(mask.shape)} do not fit [B,T,D], [K,D]|[B,K,D], [B,K], [B,T]`);
  }
  return (h.backend.fused?.addSteering ?? addSteeringComposite)(h, vectors, coeffs, mask);
}

/** addSteering from primitives (definition and fallback of fused kernels). */
export function addSteeringComposite(h: Tensor, vectors: Tensor, coeffs: Tensor, mask: Tensor): Tensor {
  const delta = coeffs.unsqueeze(-1).mul(vectors).sum(-2); // [B, D]
  return h.add(mask.cast(h.dtype).unsqueeze(-1).mul(delta.unsqueeze(1)));
}
