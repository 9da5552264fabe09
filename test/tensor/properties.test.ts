// Algebraic properties and autograd semantics, on random shapes (fast-check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Generator, type Tensor, tensor, noGrad, randn, manualSeed, ones, zeros, arange, full, cat } from '@kts/tensor';
import { rnd } from '../helpers/gradcheck.ts';

const dim = fc.integer({ min: 1, max: 6 });
const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 });

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths differ`);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i]! - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)))) assert.fail(`${what}: element ${i}: ${a[i]} vs ${b[i]}`);
  }
}

/** Element at a multi-index of a tensor, by its strides: the definition views must agree with. */
function at(t: Tensor, idx: number[]): number {
  const base = (t.storage as unknown as { data: Float64Array }).data;
  return base[t.offset + idx.reduce((p, v, d) => p + v * t.strides[d]!, 0)]!;
}

test('views agree with copying: permute, slice with step, expand, then contiguous', () => {
  fc.assert(fc.property(fc.tuple(dim, dim, dim), seedArb, ([a, b, c], seed) => {
    const g = new Generator(seed);
    const x = rnd(g, [a, b, c], undefined, false);
    const xs = x.toArray();
    const v = x.permute(2, 0, 1).slice(1, 0, a, 2).unsqueeze(0).expand(2, -1, -1, -1);
    const copied = v.contiguous(true).toArray();
    let k = 0;
    for (let r = 0; r < 2; r++) for (let i = 0; i < c; i++) for (let j = 0; j < Math.ceil(a / 2); j++) for (let l = 0; l < b; l++) {
      assert.equal(copied[k++], xs[(2 * j) * b * c + l * c + i]);
    }
    // A view and a reshape-of-a-copy read the same elements.
    const flat = x.transpose(0, 2).reshape(-1).toArray();
    k = 0;
    for (let i = 0; i < c; i++) for (let j = 0; j < b; j++) for (let l = 0; l < a; l++) assert.equal(flat[k++], at(x, [l, j, i]));
  }));
});

test('view() refuses what would need a copy, reshape() copies', () => {
  const x = arange(0, 6).reshape(2, 3);
  assert.throws(() => x.transpose(0, 1).view(6), /cannot be viewed as \[6\]; use reshape/);
  assert.deepEqual([...x.transpose(0, 1).reshape(6).toArray()], [0, 3, 1, 4, 2, 5]);
});

test('matmul is associative within tolerance (float32, odd sizes)', () => {
  fc.assert(fc.property(fc.tuple(dim, dim, dim, dim), seedArb, ([m, k, n, p], seed) => {
    const g = new Generator(seed);
    const mk = (s: number[]) => rnd(g, s, undefined, false).float();
    const [a, b, c] = [mk([m, k]), mk([k, n]), mk([n, p])];
    close(a.matmul(b).matmul(c).toArray(), a.matmul(b.matmul(c)).toArray(), 1e-4, 'associativity');
  }));
});

test('softmax rows sum to 1 and logSoftmax = log(softmax), even for large logits', () => {
  fc.assert(fc.property(fc.tuple(dim, dim), seedArb, fc.constantFrom(1, 100, 1e4), ([r, c], seed, scale) => {
    const g = new Generator(seed);
    const x = rnd(g, [r, c], (v) => v * scale, false).float();
    const s = x.softmax(-1);
    close(s.sum(-1).toArray(), new Float32Array(r).fill(1), 1e-6, 'row sums');
    const ls = x.logSoftmax(-1).toArray();
    assert.ok(ls.every(Number.isFinite), 'logSoftmax stays finite for large logits');
    close(Float32Array.from(ls, Math.exp), s.toArray(), 1e-5, 'exp(logSoftmax) = softmax');
  }));
});

test('broadcasting follows NumPy rules and names both shapes on error', () => {
  const a = ones([3, 1, 5]);
  const b = ones([4, 1]);
  assert.deepEqual(a.add(b).shape, [3, 4, 5]);
  assert.deepEqual(a.add(full([], 2)).shape, [3, 1, 5]);
  assert.throws(() => ones([2, 3]).mul(ones([4])), /mul: shapes \[2, 3\] and \[4\] cannot be broadcast/);
  assert.throws(() => ones([2, 3]).matmul(ones([4, 5])), /matmul: inner dimensions differ: \[2, 3\] @ \[4, 5\]/);
});

test('autograd: accumulation, broadcast reduction, detach, noGrad, and clear errors', () => {
  const x = tensor([1, 2, 3], { requiresGrad: true });
  x.mul(2).sum().backward();
  x.mul(x).sum().backward(); // accumulates: 2 + 2x
  assert.deepEqual([...x.grad!.toArray()], [4, 6, 8]);
  const b = tensor([[1], [2]], { requiresGrad: true });
  b.add(ones([2, 3])).sum().backward();
  assert.deepEqual(b.grad!.shape, [2, 1]);
  assert.deepEqual([...b.grad!.toArray()], [3, 3]);
  assert.equal(x.detach().mul(3).requiresGrad, false);
  assert.equal(noGrad(() => x.mul(3)).requiresGrad, false);
  assert.throws(() => x.mul(2).backward(), /only for a scalar output; got shape \[3\]/);
  assert.throws(() => zeros([2]).sum().backward(), /does not require grad/);
  const y = x.mul(2);
  y.backward(tensor([1, 0, 1]));
  assert.equal(x.grad!.toArray()[1], 6);
  assert.throws(() => x.mul(2).backward(tensor([1, 2])), /gradient of shape \[2\] does not match output shape \[3\]/);
});

test('a gradient reaching a tensor along several paths is summed (diamond graph)', () => {
  const x = tensor([0.5, -1.5], { dtype: 'float64', requiresGrad: true });
  const a = x.exp();
  a.mul(a).add(a.sin()).sum().backward();
  const ex = [Math.exp(0.5), Math.exp(-1.5)];
  close(x.grad!.toArray(), ex.map((e) => 2 * e * e + Math.cos(e) * e), 1e-12, 'diamond');
});

test('seeded generators reproduce, and different seeds differ', () => {
  manualSeed(42);
  const a = randn([100]).toArray();
  manualSeed(42);
  const b = randn([100]).toArray();
  assert.deepEqual([...a], [...b]);
  const c = randn([100], { generator: new Generator(43) }).toArray();
  assert.notDeepEqual([...a], [...c]);
  const mean = Array.from(a).reduce((p, v) => p + v, 0) / 100;
  assert.ok(Math.abs(mean) < 0.35, `normal samples have mean ≈ 0 (got ${mean})`);
});

test('cat joins along an axis and checks the other dims', () => {
  const x = arange(0, 4).reshape(2, 2);
  assert.deepEqual(cat([x, x.add(10)], 1).tolist(), [[0, 1, 10, 11], [2, 3, 12, 13]]);
  assert.throws(() => cat([ones([2, 2]), ones([3, 3])], 0), /cat: shapes \[2, 2\], \[3, 3\] differ outside axis 0/);
});
