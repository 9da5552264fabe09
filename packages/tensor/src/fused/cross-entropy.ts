// Cross-entropy of logits against class targets.
//
// A backend may fuse this op into one kernel (Backend.fused); the composite below is the
// definition every fused kernel must match, and the fallback where a backend has none.
import * as ops from '../ops.ts';
import { shapeStr } from '../shape.ts';
import type { Tensor } from '../tensor.ts';

export interface CrossEntropyOptions {
  ignoreIndex?: number;
  reduction?: 'mean' | 'sum' | 'none';
}

/** Cross-entropy of logits [N, C] against int32 class targets [N], as F.cross_entropy. */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const { ignoreIndex = -100, reduction = 'mean' } = opts;
  if (logits.ndim !== 2 || targets.ndim !== 1 || targets.shape[0] !== logits.shape[0]) {
    throw new Error(`crossEntropy: expects logits [N, C] and targets [N], got ${shapeStr(logits.shape)} and ${shapeStr(targets.shape)}`);
  }
  if (targets.dtype !== 'int32') throw new Error(`crossEntropy: targets must be int32, got ${targets.dtype}`);
  const losses = (logits.backend.fused?.crossEntropyLogits ?? crossEntropyComposite)(logits, targets, ignoreIndex);
  if (reduction === 'none') return losses;
  if (reduction === 'sum') return losses.sum();
  const counted = targets.eq(ignoreIndex).mul(-1).add(1).cast(losses.dtype).sum();
  return losses.sum().div(counted);
}

/** Per-row cross-entropy of logits [N, C] (0 for ignored targets) from primitives: definition and fallback of fused kernels. */
export function crossEntropyComposite(logits: Tensor, targets: Tensor, ignoreIndex: number): Tensor {
  const valid = targets.eq(ignoreIndex).mul(-1).add(1); // 1 where counted
  const safe = ops.where(valid, targets, 0);
  const picked = ops.gather(logits.logSoftmax(-1), 1, safe.unsqueeze(1)).squeeze(1);
  return picked.neg().mul(valid.cast(picked.dtype));
}
