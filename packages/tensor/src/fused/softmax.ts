// softmax and logSoftmax over an axis.
//
// A backend may fuse this op into one kernel (Backend.fused); the composite below is the
// definition every fused kernel must match, and the fallback where a backend has none.
import { record } from '../autograd.ts';
import * as ops from '../ops.ts';
import { normAxis } from '../shape.ts';
import type { Tensor } from '../tensor.ts';

/** Moves `axis` last so fused last-axis kernels apply, runs fn, and moves it back. */
function alongLastAxis(x: Tensor, axis: number, fn: (t: Tensor) => Tensor): Tensor {
  const a = normAxis('softmax', axis, x.ndim);
  if (a === x.ndim - 1 || x.ndim === 0) return fn(x);
  return fn(x.transpose(a, -1)).transpose(a, -1);
}

/** Softmax along an axis; rows that are entirely −∞ give zeros (torch gives NaN). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return alongLastAxis(x, axis, (t) => (t.backend.fused?.softmax ?? softmaxComposite)(t));
}

/**
 * Softmax over the last axis from primitives: the definition fused kernels must match, and their
 * fallback. Subtracting the row max keeps exp from overflowing; a row that is all −∞ (every key
 * masked) gives zeros instead of torch's NaN, so masked padding positions stay finite.
 */
export function softmaxComposite(t: Tensor): Tensor {
  const out = ops.noGradValue(() => {
    const m = t.max(-1, true);
    const e = t.sub(ops.where(m.eq(-Infinity), 0, m)).exp();
    const s = e.sum(-1, true);
    return e.div(ops.where(s.eq(0), 1, s));
  });
  // d softmax: y ⊙ (g − Σ g⊙y)
  return record(out, 'softmax', [t], (g) => [out.mul(g.sub(g.mul(out).sum(-1, true)))]);
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return alongLastAxis(x, axis, (t) => (t.backend.fused?.logSoftmax ?? logSoftmaxComposite)(t));
}

/** logSoftmax over the last axis from primitives (definition and fallback of fused kernels). */
export function logSoftmaxComposite(t: Tensor): Tensor {
  const out = ops.noGradValue(() => {
    const shifted = t.sub(t.max(-1, true));
    return shifted.sub(shifted.exp().sum(-1, true).log());
  });
  // d log_softmax: g − softmax ⊙ Σ g
  return record(out, 'logSoftmax', [t], (g) => [g.sub(out.exp().mul(g.sum(-1, true)))]);
}
