// The WebAssembly elementwise and reduction kernels (kernels/elementwise.wat, kernels/reduce.wat;
// launchers packages/tensor/src/cpu/wasm/{elementwise,reduce}.ts) against the TypeScript loops
// (KTS_CPU_KERNELS=js), which compute in double and round once.
//   - exact (same bits, NaN for NaN): add sub mul div max min, comparisons, neg abs sign sqrt
//     recip, where, copy — single correctly rounded float32 operations;
//   - 4 ulp: exp log sigmoid rsqrt (Cephes polynomials; rsqrt rounds twice);
//   - sums: double accumulation in both, rounded once: equal within 1 ulp (the order differs).
// Inputs are random normals (never all zeros) with NaN, ±∞ and ±0 planted; layouts: contiguous,
// row/column/scalar broadcast, windows of wider tensors, 4-D with non-collapsible outer dims, odd
// lengths (not multiples of 4), and a transposed input (which the TypeScript loop takes).
// Large cases must give the same bits on 1, 2 and 3 threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuKernels, cpuThreadStats, Generator, noGrad, randn, setCpuKernels, tensor, where, type Tensor } from '@kts/tensor';
import { assertSameBitsOnThreads } from './cpu-threads-helper.ts';
import { skipWithoutWasm } from '../helpers/wasm.ts';

const skip = skipWithoutWasm();

/** fn under the kernels (checked to have run there unless `mayFallBack`) and under the TypeScript loops. */
function both(fn: () => Tensor, mayFallBack = false): [Float32Array, Float32Array] {
  setCpuKernels('wasm');
  const before = cpuThreadStats().kernelCalls;
  const w = noGrad(fn).toArray() as Float32Array;
  if (!mayFallBack) assert.ok(cpuThreadStats().kernelCalls > before, 'ran on the WebAssembly kernels');
  setCpuKernels('js');
  const j = noGrad(fn).toArray() as Float32Array;
  setCpuKernels('wasm');
  return [w, j];
}

const ULP = 2 ** -23;
function agree(name: string, w: Float32Array, j: Float32Array, ulps: number): void {
  assert.equal(w.length, j.length, name);
  for (let i = 0; i < w.length; i++) {
    const a = w[i]!, b = j[i]!;
    if (Number.isNaN(b) || !Number.isFinite(b) || ulps === 0) {
      assert.ok(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)) || (ulps > 0 && a === b), `${name}[${i}]: ${a} vs ${b}`);
    } else {
      assert.ok(Math.abs(a - b) <= ulps * ULP * Math.max(Math.abs(b), 2 ** -126), `${name}[${i}]: ${a} vs ${b}`);
    }
  }
}

/** Random normals with NaN, ±∞ and ±0 planted at fixed positions. */
function values(g: Generator, shape: number[], positive = false): Tensor {
  const t = randn(shape, { generator: g });
  const d = t.toArray() as Float32Array;
  if (positive) for (let i = 0; i < d.length; i++) d[i] = Math.abs(d[i]!) + 1e-3;
  const specials = [NaN, Infinity, -Infinity, 0, -0, -1.5];
  specials.forEach((v, k) => { if (d.length > 7 * k + 3) d[7 * k + 3] = v; });
  return tensor(d, shape);
}

const BINARY = ['add', 'sub', 'mul', 'div', 'max', 'min', 'lt', 'le', 'gt', 'ge', 'eq'] as const;

test('wasm binary ops equal the TypeScript loop bit for bit, for every broadcast and window layout', { skip }, () => {
  const g = new Generator(21);
  const a = values(g, [37, 53]);
  const layouts: [string, Tensor, Tensor][] = [
    ['contiguous', a, values(g, [37, 53])],
    ['row broadcast', a, values(g, [53])],
    ['column broadcast', a, values(g, [37, 1])],
    ['scalar', a, tensor(2.5)],
    ['scalar first', tensor(-0.75), a],
    ['window of a wider tensor', values(g, [37, 60]).narrow(1, 3, 53), values(g, [40, 53]).narrow(0, 2, 37)],
    ['4-D, outer dims not collapsible', values(g, [5, 3, 7, 9]).transpose(0, 1), values(g, [3, 1, 7, 9])],
  ];
  for (const [name, x, y] of layouts) {
    for (const op of BINARY) {
      const [w, j] = both(() => (op === 'max' ? x.maximum(y) : op === 'min' ? x.minimum(y) : x[op](y)));
      agree(`${op} ${name}`, w, j, 0);
    }
  }
  // an input whose innermost stride is neither 0 nor 1: the TypeScript loop runs it
  const t = values(g, [53, 37]).transpose(0, 1);
  const [w, j] = both(() => a.add(t), true);
  agree('add transposed', w, j, 0);
});

test('wasm unary ops, where and copy match the TypeScript loop (exact, or within 4 ulp for exp/log/sigmoid/rsqrt)', { skip }, () => {
  const g = new Generator(22);
  for (const shape of [[37, 53], [4099], [3, 5, 7]]) {
    const x = values(g, shape);
    const pos = values(g, shape, true);
    const wider = values(g, [...shape.slice(0, -1), shape.at(-1)! + 2]);
    const row = values(g, shape.slice(-1));
    const exact: [string, () => Tensor][] = [
      ['neg', () => x.neg()], ['abs', () => x.abs()], ['sign', () => x.sign()], ['sqrt', () => pos.sqrt()], ['sqrt of negatives', () => x.sqrt()],
      ['recip', () => x.reciprocal()], ['copy (contiguous of a window)', () => wider.narrow(-1, 1, shape.at(-1)!).contiguous()],
      ['where', () => where(x.gt(0), x, pos)], ['where broadcast', () => where(row.gt(0), 1.5, x)],
    ];
    for (const [name, fn] of exact) agree(`${name} ${shape}`, ...both(fn), 0);
    const approx: [string, () => Tensor][] = [
      ['exp', () => x.exp()], ['exp large', () => x.mul(40).exp()], ['log', () => pos.log()], ['log of all', () => x.log()],
      ['log tiny', () => pos.mul(1e-39).log()], ['sigmoid', () => x.mul(8).sigmoid()], ['rsqrt', () => pos.rsqrt()],
    ];
    for (const [name, fn] of approx) agree(`${name} ${shape}`, ...both(fn), 4);
  }
});

test('wasm reductions (sum, max, min over rows, columns, everything) match the TypeScript reduce', { skip }, () => {
  const g = new Generator(23);
  const x = values(g, [37, 53]);
  const finite = randn([37, 53], { generator: g });
  const cube = randn([9, 5, 7], { generator: g });
  const wide = randn([37, 60], { generator: g });
  const cases: [string, () => Tensor, number][] = [
    ['sum last axis', () => finite.sum(-1), 1], ['sum axis 0', () => finite.sum(0), 1], ['sum all', () => finite.sum(), 1],
    ['sum 3-D axis 0 (columns)', () => cube.sum(0), 1], ['sum of a window', () => wide.narrow(1, 2, 53).sum(-1), 1],
    ['sum with NaN/∞', () => x.sum(-1), 0], ['max', () => x.max(-1), 0], ['min', () => x.min(-1), 0], ['max finite', () => finite.max(-1), 0],
    ['min all', () => finite.min(), 0],
  ];
  for (const [name, fn, ulps] of cases) agree(name, ...both(fn), ulps);
  // a middle axis is not one run in either layout: the TypeScript reduce takes it
  const box = randn([4, 6, 5], { generator: g });
  agree('sum middle axis', ...both(() => box.sum(1), true), 1);
});

test('wasm elementwise ops and reductions give the same bits on 1, 2 and 3 threads', { skip }, () => {
  setCpuKernels('wasm');
  const g = new Generator(24);
  const a = values(g, [301, 517]);
  const b = values(g, [517]);
  const one = values(g, [1, 200003]);
  const fns: [string, () => Tensor][] = [
    ['mul broadcast', () => a.mul(b)], ['exp', () => a.exp()], ['one long row', () => one.sigmoid()], ['where', () => where(a.gt(0), a, b)],
    ['sum rows', () => a.sum(-1)], ['sum columns', () => a.sum(0)], ['max rows', () => a.max(-1)],
  ];
  assertSameBitsOnThreads(fns.map(([name, fn]) => [name, () => [noGrad(fn).toArray()]]));
});

