// Residual-stream steering: adding scaled vectors to hidden states.
//
// A backend may fuse this op into one kernel (Backend.fused); the composite below is the
// definition every fused kernel must match, and the fallback where a backend has none.
import { shapeStr } from '../shape.ts';
import type { Tensor } from '../tensor.ts';

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
