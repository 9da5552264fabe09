// Every differentiable op's backward, against finite differences in float64, on random shapes
// that include size-1 and broadcast dims (fast-check picks shapes and seeds).
import { test } from 'node:test';
import fc from 'fast-check';
import {
  Generator, type Tensor, tensor, cat, stack, where, gather, indexSelect, embedding, maskedFill, triu, tril,
  rmsNorm, rotaryEmbedding, crossEntropy, klDiv, attention, klDivLogits, addSteering,
} from '@kts/tensor';
import { gradcheck, rnd } from '../helpers/gradcheck.ts';

const RUNS = { numRuns: 12 };
const dim = fc.integer({ min: 1, max: 4 });
const shapeArb = fc.array(dim, { minLength: 0, maxLength: 3 });
const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 });

const away = (v: number) => (v >= 0 ? v + 0.3 : v - 0.3); // keeps away from kinks and poles at 0
const positive = (v: number) => Math.abs(v) + 0.3;

const UNARY: [string, (x: Tensor) => Tensor, (v: number) => number][] = [
  ['neg', (x) => x.neg(), (v) => v],
  ['exp', (x) => x.exp(), (v) => v],
  ['log', (x) => x.log(), positive],
  ['sqrt', (x) => x.sqrt(), positive],
  ['rsqrt', (x) => x.rsqrt(), positive],
  ['reciprocal', (x) => x.reciprocal(), away],
  ['abs', (x) => x.abs(), away],
  ['tanh', (x) => x.tanh(), (v) => v],
  ['sigmoid', (x) => x.sigmoid(), (v) => v],
  ['erf', (x) => x.erf(), (v) => v],
  ['sin', (x) => x.sin(), (v) => v],
  ['cos', (x) => x.cos(), (v) => v],
  ['relu', (x) => x.relu(), away],
  ['silu', (x) => x.silu(), (v) => v],
  ['gelu', (x) => x.gelu(), (v) => v],
  ['gelu-tanh', (x) => x.gelu('tanh'), (v) => v],
  ['square', (x) => x.square(), (v) => v],
  ['pow-scalar', (x) => x.pow(2.5), positive],
];

for (const [name, fn, map] of UNARY) {
  test(`gradcheck ${name}`, () => {
    fc.assert(fc.property(shapeArb, seedArb, (shape, seed) => {
      const g = new Generator(seed);
      gradcheck(name, fn, [rnd(g, shape, map)], g);
    }), RUNS);
  });
}

/** Two shapes that broadcast together: b drops leading dims and sets some dims to 1. */
const broadcastPair = fc.tuple(fc.array(dim, { minLength: 1, maxLength: 3 }), fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), fc.integer({ min: 0, max: 2 }), fc.boolean())
  .map(([a, ones, drop, swap]) => {
    const b = a.slice(Math.min(drop, a.length - 1)).map((d, i) => (ones[i] ? 1 : d));
    return swap ? [b, a] : [a, b];
  });

const BINARY: [string, (a: Tensor, b: Tensor) => Tensor, (v: number) => number, (v: number) => number][] = [
  ['add', (a, b) => a.add(b), (v) => v, (v) => v],
  ['sub', (a, b) => a.sub(b), (v) => v, (v) => v],
  ['mul', (a, b) => a.mul(b), (v) => v, (v) => v],
  ['div', (a, b) => a.div(b), (v) => v, away],
  ['pow', (a, b) => a.pow(b), positive, (v) => v],
  ['maximum', (a, b) => a.maximum(b), (v) => v, (v) => v + 0.01],
  ['minimum', (a, b) => a.minimum(b), (v) => v, (v) => v + 0.01],
];

for (const [name, fn, mapA, mapB] of BINARY) {
  test(`gradcheck ${name} with broadcasting`, () => {
    fc.assert(fc.property(broadcastPair, seedArb, ([sa, sb], seed) => {
      const g = new Generator(seed);
      gradcheck(name, fn, [rnd(g, sa!, mapA), rnd(g, sb!, mapB)], g);
    }), RUNS);
  });
}

test('gradcheck matmul: 1-D, 2-D, batched with broadcast batch dims', () => {
  const arb = fc.tuple(dim, dim, dim, fc.array(dim, { maxLength: 2 }), fc.constantFrom('mm', 'bmm', 'bcast', 'vec-mat', 'mat-vec', 'dot'));
  fc.assert(fc.property(arb, seedArb, ([m, k, n, batch, kind], seed) => {
    const g = new Generator(seed);
    const shapes: Record<string, [number[], number[]]> = {
      mm: [[m, k], [k, n]],
      bmm: [[...batch, m, k], [...batch, k, n]],
      bcast: [[...batch.map(() => 1), m, k], [...batch, k, n]],
      'vec-mat': [[k], [...batch, k, n]],
      'mat-vec': [[...batch, m, k], [k]],
      dot: [[k], [k]],
    };
    const [sa, sb] = shapes[kind]!;
    gradcheck(`matmul ${kind}`, (a, b) => a.matmul(b), [rnd(g, sa), rnd(g, sb)], g);
  }), RUNS);
});

test('gradcheck matmul on transposed views', () => {
  fc.assert(fc.property(dim, dim, dim, seedArb, (m, k, n, seed) => {
    const g = new Generator(seed);
    gradcheck('matmul Aᵀ Bᵀ', (a, b) => a.transpose(0, 1).matmul(b.transpose(0, 1)), [rnd(g, [k, m]), rnd(g, [n, k])], g);
  }), RUNS);
});

const axesArb = (nd: number) => fc.subarray([...Array(nd).keys()]).map((axes) => (axes.length ? axes.map((a) => (a % 2 ? a - nd : a)) : undefined));

test('gradcheck reductions over random axes, keepdim or not', () => {
  const arb = fc.array(dim, { minLength: 1, maxLength: 3 }).chain((s) => fc.tuple(fc.constant(s), axesArb(s.length), fc.boolean()));
  fc.assert(fc.property(arb, seedArb, ([shape, axes, keepdim], seed) => {
    const g = new Generator(seed);
    gradcheck('sum', (x) => x.sum(axes, keepdim), [rnd(g, shape)], g);
    gradcheck('mean', (x) => x.mean(axes, keepdim), [rnd(g, shape)], g);
    gradcheck('max', (x) => x.max(axes, keepdim), [rnd(g, shape)], g);
    gradcheck('min', (x) => x.min(axes, keepdim), [rnd(g, shape)], g);
    gradcheck('logsumexp', (x) => x.logsumexp(axes ?? [...shape.keys()], keepdim), [rnd(g, shape)], g);
    if (shape.reduce((p, d) => p * d, 1) > 1 && (axes ?? [0]).some((a) => shape.at(a)! > 1)) {
      gradcheck('var', (x) => x.var(axes, keepdim), [rnd(g, shape)], g);
    }
  }), RUNS);
});

test('gradcheck softmax and logSoftmax along any axis', () => {
  const arb = fc.array(dim, { minLength: 1, maxLength: 3 }).chain((s) => fc.tuple(fc.constant(s), fc.integer({ min: -s.length, max: s.length - 1 })));
  fc.assert(fc.property(arb, seedArb, ([shape, axis], seed) => {
    const g = new Generator(seed);
    gradcheck('softmax', (x) => x.softmax(axis), [rnd(g, shape)], g);
    gradcheck('logSoftmax', (x) => x.logSoftmax(axis), [rnd(g, shape)], g);
  }), RUNS);
});

test('gradcheck view ops: reshape, transpose, permute, expand, squeeze, unsqueeze, narrow, slice, flatten', () => {
  fc.assert(fc.property(fc.tuple(dim, dim, dim), seedArb, ([a, b, c], seed) => {
    const g = new Generator(seed);
    const x = () => rnd(g, [a, b, c]);
    gradcheck('reshape', (t) => t.reshape(-1, a), [x()], g);
    gradcheck('transpose+reshape', (t) => t.transpose(0, 2).reshape(c, -1), [x()], g);
    gradcheck('permute', (t) => t.permute(2, 0, 1), [x()], g);
    gradcheck('expand', (t) => t.unsqueeze(1).expand(a, 3, b, c), [x()], g);
    gradcheck('squeeze', (t) => t.narrow(1, 0, 1).squeeze(1), [x()], g);
    gradcheck('narrow', (t) => t.narrow(2, c - 1, 1), [x()], g);
    gradcheck('slice-step', (t) => t.slice(0, 0, a, 2).slice(2, -c), [x()], g);
    gradcheck('flatten', (t) => t.transpose(0, 1).flatten(1), [x()], g);
    gradcheck('contiguous-of-view', (t) => t.transpose(1, 2).contiguous().mul(t.transpose(1, 2)), [x()], g);
  }), RUNS);
});

test('gradcheck cat and stack', () => {
  fc.assert(fc.property(fc.tuple(dim, dim, dim), fc.integer({ min: -2, max: 1 }), seedArb, ([a, b, c], axis, seed) => {
    const g = new Generator(seed);
    const sa = [a, b];
    const sb = [a, b];
    const ax = ((axis % 2) + 2) % 2;
    sb[ax] = c;
    gradcheck('cat', (x, y) => cat([x, y], axis % 2), [rnd(g, sa), rnd(g, sb)], g);
    gradcheck('stack', (x, y) => stack([x, y], axis), [rnd(g, [a, b]), rnd(g, [a, b])], g);
  }), RUNS);
});

test('gradcheck gather, indexSelect, embedding (repeated indices)', () => {
  fc.assert(fc.property(dim, dim, fc.integer({ min: 1, max: 6 }), seedArb, (v, d, n, seed) => {
    const g = new Generator(seed);
    const ids = tensor(Int32Array.from({ length: n }, () => g.int(v)), [n]);
    gradcheck('indexSelect', (x) => indexSelect(x, 0, ids), [rnd(g, [v, d])], g);
    gradcheck('embedding', (x) => embedding(x, ids.reshape(1, n)), [rnd(g, [v, d])], g);
    const gi = tensor(Int32Array.from({ length: v * n }, () => g.int(d)), [v, n]);
    gradcheck('gather', (x) => gather(x, 1, gi), [rnd(g, [v, d])], g);
  }), RUNS);
});

test('gradcheck where, maskedFill, triu, tril', () => {
  fc.assert(fc.property(broadcastPair, fc.integer({ min: -1, max: 1 }), seedArb, ([sa, sb], k, seed) => {
    const g = new Generator(seed);
    const cond = rnd(g, sa!, (v) => (v > 0 ? 1 : 0), false);
    gradcheck('where', (a, b) => where(cond, a, b), [rnd(g, sa!), rnd(g, sb!)], g);
    gradcheck('maskedFill', (a) => maskedFill(a, cond, -2), [rnd(g, sa!)], g);
    const m = [...sa!, 3].slice(-2);
    gradcheck('triu', (a) => triu(a, k), [rnd(g, m)], g);
    gradcheck('tril', (a) => tril(a, k), [rnd(g, m)], g);
  }), RUNS);
});

test('gradcheck rmsNorm and rotaryEmbedding', () => {
  fc.assert(fc.property(dim, dim, fc.integer({ min: 1, max: 3 }), seedArb, (b, t, halfD, seed) => {
    const g = new Generator(seed);
    const d = 2 * halfD;
    gradcheck('rmsNorm', (x, w) => rmsNorm(x, w, 1e-6), [rnd(g, [b, t, d]), rnd(g, [d])], g);
    const cos = rnd(g, [t, d], (v) => Math.cos(v), false);
    const sin = rnd(g, [t, d], (v) => Math.sin(v), false);
    gradcheck('rotary', (x) => rotaryEmbedding(x, cos, sin), [rnd(g, [b, 2, t, d])], g);
  }), RUNS);
});

test('gradcheck crossEntropy (with ignored targets) and klDiv (all reductions, log targets)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 2, max: 5 }), seedArb, (n, c, seed) => {
    const g = new Generator(seed);
    const targets = tensor(Int32Array.from({ length: n }, (_, i) => (i === 1 ? -100 : g.int(c))), [n]);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      gradcheck(`crossEntropy ${reduction}`, (x) => crossEntropy(x, targets, { reduction }), [rnd(g, [n, c])], g);
    }
    for (const reduction of ['mean', 'sum', 'batchmean', 'none'] as const) {
      gradcheck(`klDiv ${reduction}`, (x, y) => klDiv(x.logSoftmax(-1), y.softmax(-1), { reduction }), [rnd(g, [n, c]), rnd(g, [n, c])], g);
      gradcheck(`klDiv ${reduction} logTarget`, (x, y) => klDiv(x.logSoftmax(-1), y.logSoftmax(-1), { reduction, logTarget: true }), [rnd(g, [n, c]), rnd(g, [n, c])], g);
    }
  }), RUNS);
});

test('gradcheck attention (causal, GQA, padding mask, decode-style Tq < Tk), klDivLogits, addSteering', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 2 }), seedArb,
    (B, Hkv, groups, Tk, extra, seed) => {
      const g = new Generator(seed);
      const H = Hkv * groups;
      const D = 3;
      const Tq = Math.max(1, Tk - extra);
      const pad = tensor(Float64Array.from({ length: B * Tk }, (_, i) => (i % Tk === 0 && Tk > 1 && i > 0 ? -Infinity : 0)), [B, 1, 1, Tk], { dtype: 'float64' });
      gradcheck('attention', (q, k, v) => attention(q, k, v, { causal: true, mask: pad }), [rnd(g, [B, H, Tq, D]), rnd(g, [B, Hkv, Tk, D]), rnd(g, [B, Hkv, Tk, D])], g);
      gradcheck('klDivLogits', (p, q) => klDivLogits(p, q), [rnd(g, [B, Tq, 5]), rnd(g, [B, Tq, 5])], g);
      const mask = tensor(Float64Array.from({ length: B * Tq }, () => (g.random() > 0.3 ? 1 : 0)), [B, Tq], { dtype: 'float64' });
      gradcheck('addSteering shared', (h, v, c) => addSteering(h, v, c, mask), [rnd(g, [B, Tq, D]), rnd(g, [2, D]), rnd(g, [B, 2])], g);
      gradcheck('addSteering per-seq', (h, v, c) => addSteering(h, v, c, mask), [rnd(g, [B, Tq, D]), rnd(g, [B, 2, D]), rnd(g, [B, 2])], g);
    }), RUNS);
});
