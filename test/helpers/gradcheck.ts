// Finite-difference gradient checking in float64: the ground truth for every backward pass.
import assert from 'node:assert/strict';
import { Generator, type Tensor, tensor } from '@kts/tensor';

/** A float64 tensor of the given shape with values from gen, mapped through `map` (e.g. keep positive). */
export function rnd(gen: Generator, shape: number[], map: (v: number) => number = (v) => v, requiresGrad = true): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = map(gen.normal());
  return tensor(data, shape, { dtype: 'float64', requiresGrad });
}

/**
 * Checks d/dx sum(fn(...xs) · w) from backward() against central differences, for every
 * input that requires grad. w is random, so every output element's gradient matters.
 */
export function gradcheck(name: string, fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], gen: Generator, { eps = 1e-6, rtol = 1e-5, atol = 1e-7 } = {}): void {
  const out = fn(...inputs);
  const wData = new Float64Array(out.size).map(() => gen.normal());
  const w = tensor(wData, [...out.shape], { dtype: 'float64' });
  for (const x of inputs) x.grad = null;
  out.mul(w).sum().backward();
  const loss = (xs: Tensor[]): number => fn(...xs).mul(w).sum().item();
  inputs.forEach((x, k) => {
    if (!x.requiresGrad) return;
    assert.ok(x.grad, `${name}: input ${k} got no gradient`);
    const analytic = x.grad!.toArray();
    const base = x.toArray() as Float64Array;
    for (let i = 0; i < base.length; i++) {
      const plus = Float64Array.from(base);
      const minus = Float64Array.from(base);
      plus[i]! += eps;
      minus[i]! -= eps;
      const swap = (d: Float64Array) => inputs.map((y, j) => (j === k ? tensor(d, [...x.shape], { dtype: 'float64' }) : y.detach()));
      const numeric = (loss(swap(plus)) - loss(swap(minus))) / (2 * eps);
      const a = analytic[i]!;
      const tol = atol + rtol * Math.max(Math.abs(numeric), Math.abs(a), 1);
      if (!(Math.abs(a - numeric) <= tol)) {
        assert.fail(`${name}: input ${k} [${x.shape}] element ${i}: analytic ${a} vs numeric ${numeric}`);
      }
    }
  });
}
