// Composite ops: built only from the ops in ops.ts, so every backend gets them (and their
// gradients) for free. A backend with a fused kernel for one of them is used when present.
import { record } from './autograd.ts';
import * as ops from './ops.ts';
import { normAxes, normAxis, shapeStr } from './shape.ts';
import type { Tensor, TensorLike } from './tensor.ts';

export function relu(x: Tensor): Tensor {
  return ops.where(x.gt(0), x, 0);
}

export function silu(x: Tensor): Tensor {
  return x.mul(x.sigmoid());
}

/** GELU: exact (erf) by default, or the tanh approximation. */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  if (approximate === 'tanh') {
    const inner = x.add(x.mul(x).mul(x).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
    return x.mul(0.5).mul(inner.tanh().add(1));
  }
  return x.mul(0.5).mul(x.mul(Math.SQRT1_2).erf().add(1));
}

function countOf(x: Tensor, axes: number[]): number {
  return axes.reduce((p, a) => p * x.shape[a]!, 1);
}

export function mean(x: Tensor, axesIn?: number | number[], keepdim = false): Tensor {
  const axes = normAxes('mean', axesIn, x.ndim);
  return x.cast(x.dtype === 'int32' ? 'float32' : x.dtype).sum(axes, keepdim).div(countOf(x, axes));
}

/** Variance; unbiased (divides by n − 1) by default, as torch.var. */
export function variance(x: Tensor, axesIn?: number | number[], keepdim = false, unbiased = true): Tensor {
  const axes = normAxes('var', axesIn, x.ndim);
  const d = x.sub(x.mean(axes, true));
  return d.mul(d).sum(axes, keepdim).div(countOf(x, axes) - (unbiased ? 1 : 0));
}

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

export function logsumexp(x: Tensor, axesIn: number | number[] = -1, keepdim = false): Tensor {
  const axes = normAxes('logsumexp', axesIn, x.ndim);
  // The shift is a constant for autograd; rows that are all −∞ shift by 0 to avoid ∞ − ∞.
  const m = ops.noGradValue(() => {
    const mx = x.max(axes, true);
    return ops.where(mx.abs().eq(Infinity), 0, mx);
  });
  const out = x.sub(m).exp().sum(axes, true).log().add(m);
  return keepdim ? out : out.reshape(x.shape.filter((_, i) => !axes.includes(i)));
}

/** HF LlamaRMSNorm: normalise in float32 (or float64), scale by weight. */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-6): Tensor {
  const d = x.shape[x.ndim - 1];
  if (weight.ndim !== 1 || weight.shape[0] !== d) {
    throw new Error(`rmsNorm: weight of shape ${shapeStr(weight.shape)} does not match the last dim of input ${shapeStr(x.shape)}`);
  }
  return (x.backend.fused?.rmsNorm ?? rmsNormComposite)(x, weight, eps);
}

/** rmsNorm from primitives (definition and fallback of fused kernels). */
export function rmsNormComposite(x: Tensor, weight: Tensor, eps: number): Tensor {
  const xf = x.cast(x.dtype === 'float64' ? 'float64' : 'float32');
  const variance = xf.mul(xf).mean(-1, true);
  return weight.mul(xf.mul(variance.add(eps).rsqrt()).cast(x.dtype));
}

/** HF rotary embedding: x·cos + rotate_half(x)·sin, rotate_half(x) = cat(−x₂, x₁) of the halves. */
export function rotaryEmbedding(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  const d = x.shape[x.ndim - 1]!;
  if (d % 2 !== 0) throw new Error(`rotaryEmbedding: head dim must be even, got input shape ${shapeStr(x.shape)}`);
  return (x.backend.fused?.rotaryEmbedding ?? rotaryComposite)(x, cos, sin);
}

/** rotate_half rotary embedding from primitives (definition and fallback of fused kernels). */
export function rotaryComposite(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  const half = x.shape[x.ndim - 1]! / 2;
  const x1 = x.narrow(-1, 0, half);
  const x2 = x.narrow(-1, half, half);
  const rotated = ops.cat([x2.neg(), x1], -1);
  return x.mul(cos).add(rotated.mul(sin));
}

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

export interface KlDivOptions {
  reduction?: 'mean' | 'sum' | 'batchmean' | 'none';
  logTarget?: boolean;
}

/**
 * F.kl_div(input, target): input holds log-probabilities; pointwise target·(log target − input),
 * with 0·log 0 = 0. Note torch's 'mean' divides by the element count; 'batchmean' by the batch size
 * (dim 0), which is the mathematically correct KL per sample.
 */
export function klDiv(input: Tensor, target: Tensor, opts: KlDivOptions = {}): Tensor {
  const { reduction = 'mean', logTarget = false } = opts;
  let pointwise: Tensor;
  if (logTarget) {
    pointwise = target.exp().mul(target.sub(input));
  } else {
    const pos = target.gt(0);
    const xlogy = ops.where(pos, target.mul(ops.where(pos, target, 1).log()), 0);
    pointwise = xlogy.sub(target.mul(input));
  }
  switch (reduction) {
    case 'none': return pointwise;
    case 'sum': return pointwise.sum();
    case 'mean': return pointwise.mean();
    case 'batchmean': return pointwise.sum().div(input.ndim === 0 ? 1 : input.shape[0]!);
  }
}

/** Keeps elements with (col − row) ≥ k (triu) or ≤ k (tril) of the last two dims. */
function triangle(x: Tensor, k: number, upper: boolean): Tensor {
  if (x.ndim < 2) throw new Error(`${upper ? 'triu' : 'tril'}: expects at least 2 dims, got ${shapeStr(x.shape)}`);
  const [r, c] = x.shape.slice(-2) as [number, number];
  const rows = ops.arange(0, r, 1, { dtype: 'int32', device: x.device }).reshape([r, 1]);
  const cols = ops.arange(0, c, 1, { dtype: 'int32', device: x.device }).reshape([1, c]);
  const diff = cols.sub(rows);
  const keep = upper ? diff.ge(k) : diff.le(k);
  return ops.where(keep, x, 0);
}

export const triu = (x: Tensor, k = 0): Tensor => triangle(x, k, true);
export const tril = (x: Tensor, k = 0): Tensor => triangle(x, k, false);

/** Additive causal mask [T, T]: 0 where key ≤ query, −∞ above the diagonal. */
export function causalMask(T: number, opts: ops.CreateOptions = {}): Tensor {
  const ones = ops.full([T, T], 1, { ...opts, dtype: 'int32' });
  return ops.where(triu(ones, 1), -Infinity, ops.full([T, T], 0, { ...opts, dtype: opts.dtype ?? 'float32' }));
}

export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  return ops.where(mask, value, x);
}

/** Rows of weight [V, D] for int32 ids of any shape → [...ids.shape, D]; backward scatter-adds. */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  if (weight.ndim !== 2) throw new Error(`embedding: weight must be [vocab, dim], got ${shapeStr(weight.shape)}`);
  return ops.indexSelect(weight, 0, ids.reshape([-1])).reshape([...ids.shape, weight.shape[1]!]);
}

export type { TensorLike };
