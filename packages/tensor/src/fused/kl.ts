// KL divergence between two sets of logits, per row (the KTS loss and side-effect metric).
//
// A backend may fuse this op into one kernel (Backend.fused); the composite below is the
// definition every fused kernel must match, and the fallback where a backend has none.
import { shapeStr } from '../shape.ts';
import type { Tensor } from '../tensor.ts';

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
