// Composite ops: built only from the ops in ops.ts, so every backend gets them (and their
// gradients) for free. The composites a backend may replace by a fused kernel (softmax, rmsNorm,
// attention, KL, …) are in fused/, one file per op.
import * as ops from './ops.ts';
import { normAxes, shapeStr } from './shape.ts';
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
