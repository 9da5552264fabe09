/**
 * The WebGPU backend against the CPU backend, primitive by primitive (fast-check on random
 * shapes: sizes 1, primes, non-multiples of the workgroup sizes, long rows; random non-zero
 * inputs; strided views). Output storages are poisoned with NaN before every op
 * (webgpuDebug.poison), so an element a kernel fails to write shows up as NaN.
 * In CI (CI=true) a missing adapter fails (initWebGPU → getDevice throws).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type Tensor, type TypedArray, BINARY_OPS, UNARY_OPS, cat, gather, scatterAdd, tensor, toDeviceAsync, where, zeros, full,
  getBackend, noGrad,
} from '@kts/tensor';
import {
  initWebGPU, shutdownWebGPU, webgpuDebug, webgpuBackend, WebGPUStorage, poolStats, adapterInfo, hasFeature,
} from '@kts/webgpu';

// ---- helpers -------------------------------------------------------------------------------

let seed = 1;
function rand(): number {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
}
/** Non-zero values ±[lo, hi). */
function values(n: number, lo = 0.25, hi = 2): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const m = lo + (hi - lo) * rand();
    a[i] = rand() < 0.5 ? -m : m;
  }
  return a;
}
function ints(n: number, lo: number, hi: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + Math.floor(rand() * (hi - lo));
  return a;
}
const numel = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);

/** A CPU tensor and its WebGPU copy. */
function pair(data: TypedArray, shape: number[]): [Tensor, Tensor] {
  const c = tensor(data, shape, { dtype: data instanceof Int32Array ? 'int32' : 'float32' });
  return [c, c.to('webgpu')];
}

type ViewKind = 'none' | 'transpose' | 'slice' | 'expand';
/** The same view on both tensors; returns the views and the base shape they need. */
function baseShapeFor(kind: ViewKind, shape: number[]): number[] {
  if (kind === 'transpose' && shape.length >= 2) {
    const s = [...shape];
    [s[s.length - 1], s[s.length - 2]] = [s[s.length - 2]!, s[s.length - 1]!];
    return s;
  }
  if (kind === 'slice') return shape.map((d, i) => (i === 0 ? 2 * d + 1 : d));
  if (kind === 'expand') return shape.map((d, i) => (i === 0 ? 1 : d));
  return shape;
}
function applyView(kind: ViewKind, t: Tensor, shape: number[]): Tensor {
  if (kind === 'transpose' && shape.length >= 2) return t.transpose(-1, -2);
  if (kind === 'slice') return t.slice(0, 1, undefined, 2);
  if (kind === 'expand') return t.expand(shape);
  return t;
}
function viewPair(kind: ViewKind, shape: number[], data?: (n: number) => TypedArray): [Tensor, Tensor] {
  const bs = baseShapeFor(kind, shape);
  const [c, g] = pair((data ?? values)(numel(bs)), bs);
  return [applyView(kind, c, shape), applyView(kind, g, shape)];
}

function assertClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, rtol = 1e-5, atol = 1e-6): void {
  assert.equal(got.length, want.length, `${what}: length ${got.length} vs ${want.length}`);
  let bad = 0;
  let first = '';
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const e = want[i]!;
    const ok = Number.isNaN(e) ? Number.isNaN(g) : !Number.isFinite(e) ? g === e : Math.abs(g - e) <= atol + rtol * Math.abs(e);
    if (!ok && bad++ === 0) first = `[${i}] got ${g}, expected ${e}`;
  }
  assert.equal(bad, 0, `${what}: ${bad}/${want.length} elements off (rtol ${rtol}, atol ${atol}); first ${first}`);
}

async function check(what: string, gpu: Tensor, cpu: Tensor, rtol?: number, atol?: number): Promise<void> {
  assert.equal(gpu.device, 'webgpu', `${what}: result not on webgpu`);
  assert.deepEqual(gpu.shape, cpu.shape, `${what}: shape`);
  assert.equal(gpu.dtype, cpu.dtype, `${what}: dtype`);
  const g = await gpu.data();
  if (cpu.dtype === 'int32') assert.deepEqual(Array.from(g), Array.from(cpu.toArray()), `${what}: int values`);
  else assertClose(what, g, cpu.toArray(), rtol, atol);
}

// Few distinct shapes per run: llvmpipe compiles each pipeline once, shapes are uniforms.
const SIZES = [1, 2, 3, 5, 7, 13, 64, 67, 257];
const dimArb = fc.constantFrom(...SIZES);
const shapeArb = (maxDims: number, maxNumel = 20000) =>
  fc.array(dimArb, { minLength: 1, maxLength: maxDims }).filter((s) => numel(s) <= maxNumel);
const viewArb = fc.constantFrom<ViewKind>('none', 'transpose', 'slice', 'expand');
const seedArb = fc.integer({ min: 1, max: 2 ** 31 - 1 });

const UNARY_TOL: Record<string, [number, number]> = {
  exp: [2e-6, 1e-6], log: [2e-6, 1e-6], erf: [2e-6, 1e-6], tanh: [2e-6, 1e-6], sigmoid: [2e-6, 1e-6],
  sin: [1e-5, 1e-6], cos: [1e-5, 1e-6], sqrt: [1e-6, 0], rsqrt: [2e-6, 0],
};

// ---- tests ---------------------------------------------------------------------------------

describe('webgpu backend vs cpu', () => {
  before(async () => {
    const desc = await initWebGPU();
    assert.ok(desc.length > 0);
    webgpuDebug.poison = true;
  });
  after(() => shutdownWebGPU());

  it('initWebGPU registers the backend and describes the adapter', () => {
    assert.equal(getBackend('webgpu'), webgpuBackend);
    assert.deepEqual(webgpuBackend.dtypes, hasFeature('shader-f16') ? ['float32', 'int32', 'float16'] : ['float32', 'int32']);
    const info = adapterInfo();
    assert.ok(info.backend === 'default' || info.backend === 'opengles');
  });

  it('fromArray / full / read round-trip, strided reads, int32', async () => {
    const [c, g] = pair(values(35), [5, 7]);
    assert.ok(g.storage instanceof WebGPUStorage);
    await check('round trip', g, c, 0, 0);
    await check('transposed read', g.T, c.T, 0, 0);
    await check('sliced read', g.slice(1, 1, 6, 3), c.slice(1, 1, 6, 3), 0, 0);
    await check('expanded read', g.slice(0, 2, 3).expand(4, 7), c.slice(0, 2, 3).expand(4, 7), 0, 0);
    await check('full', full([3, 67], -2.5, { device: 'webgpu' }), full([3, 67], -2.5), 0, 0);
    await check('full int', full([5], 7, { device: 'webgpu', dtype: 'int32' }), full([5], 7, { dtype: 'int32' }));
    await check('full NaN', full([5], NaN, { device: 'webgpu' }), full([5], NaN), 0, 0);
    await check('zeros 0-d', zeros([], { device: 'webgpu' }), zeros([]), 0, 0);
    assert.deepEqual(Array.from(await zeros([0, 3], { device: 'webgpu' }).data()), []);
    const [ci, gi] = pair(ints(12, -100, 100), [3, 4]);
    await check('int transposed', gi.T, ci.T);
  });

  it('reads are async: toArray/item/to(cpu) throw clear errors, toDeviceAsync works', async () => {
    const g = tensor([1, 2, 3]).to('webgpu');
    assert.throws(() => g.toArray(), /reads asynchronously; use 'await t\.data\(\)'/);
    assert.throws(() => g.sum().item(), /await t\.data\(\)/);
    assert.throws(() => g.to('cpu'), /toDeviceAsync/);
    const back = await toDeviceAsync(g.mul(2), 'cpu');
    assert.equal(back.device, 'cpu');
    assert.deepEqual(Array.from(back.toArray()), [2, 4, 6]);
    assert.equal(await g.sum().itemAsync(), 6);
  });

  it('unary ops (f32) on strided views', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...UNARY_OPS), shapeArb(4), viewArb, seedArb, async (op, shape, view, s) => {
        seed = s;
        const [c, g] = viewPair(view, shape);
        const [rtol, atol] = UNARY_TOL[op] ?? [1e-6, 0];
        await check(`${op} ${view} [${shape}]`, noGrad(() => g[op === 'recip' ? 'reciprocal' : op]()), c[op === 'recip' ? 'reciprocal' : op](), rtol, atol);
      }),
      { numRuns: 40 },
    );
  });

  it('unary special values: erf over a fine grid, tanh near 0 and large, log/sqrt of ≤ 0, sign', async () => {
    const xs = new Float32Array(4001);
    for (let i = 0; i < xs.length; i++) xs[i] = -6 + (12 * i) / 4000;
    const [c, g] = pair(xs, [xs.length]);
    await check('erf grid', g.erf(), c.erf(), 5e-7, 2e-7);
    await check('tanh grid', g.tanh(), c.tanh(), 1e-6, 1e-7);
    const sp = Float32Array.from([0, -0, -1, 1e-30, 1e-6, -1e-6, 1e-3, 50, -50, 100, -100, Infinity, -Infinity, NaN]);
    const [cs, gs] = pair(sp, [sp.length]);
    for (const op of ['log', 'sqrt', 'rsqrt', 'exp', 'tanh', 'sigmoid', 'erf', 'sign', 'abs', 'neg'] as const) {
      await check(`${op} special`, gs[op](), cs[op](), 2e-6, 1e-30);
    }
  });

  it('int32 unary (neg/abs/sign) and casts both ways', async () => {
    const [c, g] = pair(ints(67, -50, 50), [67]);
    for (const op of ['neg', 'abs', 'sign'] as const) await check(`int ${op}`, g[op](), c[op]());
    const [cf, gf] = pair(Float32Array.from([-2.7, -0.5, 0, 0.5, 2.7, 1e6, -123.9]), [7]);
    await check('f32→i32 (truncates)', gf.cast('int32'), cf.cast('int32'));
    await check('i32→f32', g.slice(0, 1, 67, 2).cast('float32'), c.slice(0, 1, 67, 2).cast('float32'));
  });

  it('binary ops (f32) on broadcast and strided operands', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...BINARY_OPS), shapeArb(3, 5000), viewArb, fc.boolean(), seedArb, async (op, shape, view, bcast, s) => {
        seed = s;
        const [ca, ga] = viewPair(view, shape);
        // b: same shape, or broadcast along the first dim(s).
        const bShape = bcast ? shape.slice(1) : shape;
        const [cb, gb] = pair(values(numel(bShape)), bShape.length ? bShape : [1]);
        const ct = (x: Tensor) => (op === 'pow' ? x.abs() : x); // positive bases (negative: below)
        await check(`${op} ${view} bcast=${bcast} [${shape}]`, binaryOf(op, ct(ga), gb), binaryOf(op, ct(ca), cb), 1e-5, 1e-6);
      }),
      { numRuns: 40 },
    );
  });

  it('pow with negative bases and integer / fractional exponents (JS Math.pow semantics)', async () => {
    const a = Float32Array.from([-2, -2, -2, -2, -1.5, -1.5, 0, 0, 0, -0, 1, 1, 2, 3, NaN, 2, -3, -0.5]);
    const b = Float32Array.from([2, 3, -3, 0.5, 4, 5, 2, -1, 0, 3, NaN, 0, -2, 1.5, 0, NaN, 7, -2]);
    const [ca, ga] = pair(a, [a.length]);
    const [cb, gb] = pair(b, [b.length]);
    await check('pow special', ga.pow(gb), ca.pow(cb), 1e-6, 0);
  });

  it('max/min propagate NaN; comparisons with NaN and ±∞', async () => {
    const a = Float32Array.from([1, NaN, 2, NaN, -Infinity, Infinity, 3, -0]);
    const b = Float32Array.from([NaN, 1, 2, NaN, 1, 1, -3, 0]);
    const [ca, ga] = pair(a, [8]);
    const [cb, gb] = pair(b, [8]);
    for (const op of ['max', 'min', 'lt', 'le', 'gt', 'ge', 'eq', 'add', 'mul'] as const) {
      await check(`${op} NaN`, binaryOf(op, ga, gb), binaryOf(op, ca, cb), 0, 0);
    }
  });

  it('int32 binary ops and where (int and float conditions)', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(3, 3000), seedArb, async (shape, s) => {
        seed = s;
        const n = numel(shape);
        const [ca, ga] = pair(ints(n, -20, 20), shape);
        const [cb, gb] = pair(ints(n, -20, 20), shape);
        for (const op of ['add', 'sub', 'mul', 'max', 'min', 'lt', 'le', 'gt', 'ge', 'eq'] as const) {
          await check(`int ${op}`, binaryOf(op, ga, gb), binaryOf(op, ca, cb));
        }
        await check('int div → float', ga.div(gb), ca.div(cb), 1e-6, 0);
        const [cx, gx] = pair(values(n), shape);
        await check('where int cond', where(ga.gt(gb), gx, ga.cast('float32')), where(ca.gt(cb), cx, ca.cast('float32')), 0, 0);
        await check('where float cond, scalars', where(gx.gt(0).cast('float32'), gx, -1), where(cx.gt(0).cast('float32'), cx, -1), 0, 0);
        await check('where int values', where(gx.gt(0), ga, gb), where(cx.gt(0), ca, cb));
      }),
      { numRuns: 8 },
    );
  });

  it('reductions over random axis sets (sum/max/min) and argmax/argmin, strided inputs', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(4), viewArb, fc.array(fc.nat(3)), seedArb, async (shape, view, axesRaw, s) => {
        seed = s;
        const [c, g] = viewPair(view, shape);
        const axes = [...new Set(axesRaw.filter((a) => a < shape.length))];
        const ax = axes.length === 0 ? undefined : axes;
        const R = ax ? ax.reduce((p, a) => p * shape[a]!, 1) : numel(shape);
        await check(`sum ${view} [${shape}] axes ${axes}`, g.sum(ax, true), c.sum(ax, true), 1e-5, 1e-5 * Math.sqrt(R));
        await check(`max ${view} [${shape}] axes ${axes}`, g.max(ax), c.max(ax), 0, 0);
        await check(`min ${view} [${shape}] axes ${axes}`, g.min(ax, true), c.min(ax, true), 0, 0);
        const a = axes[0] ?? shape.length - 1;
        await check(`argmax axis ${a}`, g.argmax(a), c.argmax(a));
        await check(`argmin axis ${a}`, g.argmin(a, true), c.argmin(a, true));
        const [ci, gi] = pair(ints(numel(shape), -1000, 1000), shape);
        await check('int sum', gi.sum(ax), ci.sum(ax));
        await check('int max', gi.max(ax), ci.max(ax));
      }),
      { numRuns: 30 },
    );
  });

  it('long rows (multi-pass), ties (first index), NaN, ±∞ in reductions', async () => {
    for (const [rows, R] of [[1, 100003], [3, 40961], [2, 4097], [5000, 3], [1100, 300]] as const) {
      seed = R;
      const [c, g] = pair(values(rows * R), [rows, R]);
      await check(`sum [${rows},${R}]`, g.sum(1), c.sum(1), 1e-5, 2e-6 * R);
      await check(`max [${rows},${R}]`, g.max(1), c.max(1), 0, 0);
      await check(`argmin [${rows},${R}]`, g.argmin(1), c.argmin(1));
      await check(`sum axis 0 [${rows},${R}]`, g.sum(0), c.sum(0), 1e-5, 2e-6 * rows);
    }
    // Ties: the first index wins; NaN: the first NaN wins (values and indices), as the CPU.
    const n = 9000;
    const t = new Float32Array(n).fill(1);
    t[5000] = 3; t[7000] = 3; t[8999] = 3; t[100] = -2; t[6000] = -2;
    const [ct, gt] = pair(t, [1, n]);
    await check('argmax ties', gt.argmax(1), ct.argmax(1));
    await check('argmin ties', gt.argmin(1), ct.argmin(1));
    t[6500] = NaN; t[8000] = NaN;
    const [cn, gn] = pair(t, [1, n]);
    for (const op of ['argmax', 'argmin'] as const) await check(`${op} NaN`, gn[op](1), cn[op](1));
    await check('max NaN', gn.max(1), cn.max(1), 0, 0);
    await check('sum NaN', gn.sum(1), cn.sum(1), 0, 0);
    const inf = Float32Array.from([-Infinity, -Infinity, -Infinity, 1, Infinity, 2]);
    const [ci, gi] = pair(inf, [2, 3]);
    await check('max -inf', gi.max(1), ci.max(1), 0, 0);
    await check('argmax -inf', gi.argmax(1), ci.argmax(1));
    assert.throws(() => zeros([2, 0], { device: 'webgpu' }).max(1), /empty dimension/);
    await check('sum over empty', zeros([2, 0], { device: 'webgpu' }).sum(1), zeros([2, 0]).sum(1), 0, 0);
  });

  it('matmul: any strides (transposed views → NT or copy), broadcast batch dims, odd sizes', async () => {
    const mk = fc.constantFrom(1, 2, 3, 5, 8, 17, 33, 64);
    await fc.assert(
      fc.asyncProperty(
        mk, mk, mk,
        fc.constantFrom<number[]>([], [3], [2, 3], [2, 1, 3]),
        fc.boolean(), fc.boolean(), fc.constantFrom('none', 'a', 'b'), seedArb,
        async (M, K, N, batch, ta, tb, bcast, s) => {
          seed = s;
          const aBatch = bcast === 'a' ? batch.map(() => 1) : batch;
          const bBatch = bcast === 'b' ? batch.slice(1) : batch;
          const [ca0, ga0] = pair(values(numel(aBatch) * M * K), ta ? [...aBatch, K, M] : [...aBatch, M, K]);
          const [cb0, gb0] = pair(values(numel(bBatch) * K * N), tb ? [...bBatch, N, K] : [...bBatch, K, N]);
          const v = (t: Tensor, tr: boolean) => (tr ? t.transpose(-1, -2) : t);
          await check(
            `matmul ${M}x${K}x${N} batch [${batch}] ta=${ta} tb=${tb} bcast=${bcast}`,
            v(ga0, ta).matmul(v(gb0, tb)), v(ca0, ta).matmul(v(cb0, tb)), 1e-4, 1e-5 * K,
          );
        },
      ),
      { numRuns: 30 },
    );
    // Sliced (non-contiguous rows) operands, 1-D operands, K = 0.
    seed = 7;
    const [ca, ga] = pair(values(9 * 10), [9, 10]);
    const [cb, gb] = pair(values(10 * 12), [10, 12]);
    await check('sliced', ga.slice(0, 0, 9, 2).matmul(gb.slice(1, 1, 12, 3)), ca.slice(0, 0, 9, 2).matmul(cb.slice(1, 1, 12, 3)), 1e-4, 1e-4);
    await check('vec·mat', ga.slice(0, 0, 1).squeeze(0).matmul(gb), ca.slice(0, 0, 1).squeeze(0).matmul(cb), 1e-4, 1e-4);
    await check('mat·vec', ga.matmul(gb.slice(1, 0, 1).squeeze(1)), ca.matmul(cb.slice(1, 0, 1).squeeze(1)), 1e-4, 1e-4);
    await check('K = 0', zeros([3, 0], { device: 'webgpu' }).matmul(zeros([0, 4], { device: 'webgpu' })), zeros([3, 0]).matmul(zeros([0, 4])), 0, 0);
  });

  it('gather / scatterAdd on random shapes, axes, strided indices; collisions', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(3, 4000), fc.nat(2), seedArb, async (shape, axisRaw, s) => {
        seed = s;
        const axis = axisRaw % shape.length;
        const [cx, gx] = pair(values(numel(shape)), shape);
        const iShape = shape.map((d, i) => (i === axis ? 1 + (s % 5) : Math.max(1, d - (s % 2))));
        const [ci, gi] = pair(ints(numel(iShape), 0, shape[axis]!), iShape);
        await check(`gather axis ${axis} [${shape}] idx [${iShape}]`, gather(gx, axis, gi), gather(cx, axis, ci), 0, 0);
        const [cs, gs] = pair(values(numel(iShape)), iShape);
        await check(`scatterAdd axis ${axis}`, scatterAdd(shape, axis, gi, gs), scatterAdd(shape, axis, ci, cs), 1e-5, 1e-6);
        const [cxi, gxi] = pair(ints(numel(shape), -9, 9), shape);
        const [csi, gsi] = pair(ints(numel(iShape), -9, 9), iShape);
        await check('gather int', gather(gxi, axis, gi), gather(cxi, axis, ci));
        await check('scatterAdd int', scatterAdd(shape, axis, gi, gsi), scatterAdd(shape, axis, ci, csi));
      }),
      { numRuns: 15 },
    );
    // Heavy collisions (embedding backward of repeated ids), expanded (stride-0) index.
    seed = 3;
    const V = 11, D = 67, T = 500;
    const ids = ints(T, 0, 4);
    const [cidx, gidx] = pair(ids, [T, 1]);
    const [csrc, gsrc] = pair(values(T * D), [T, D]);
    await check('scatterAdd collisions', scatterAdd([V, D], 0, gidx.expand(T, D), gsrc), scatterAdd([V, D], 0, cidx.expand(T, D), csrc), 1e-5, 1e-5);
    const [cw, gw] = pair(values(V * D), [V, D]);
    await check('gather expanded index', gather(gw, 0, gidx.expand(T, D)), gather(cw, 0, cidx.expand(T, D)), 0, 0);
  });

  it('out-of-range indices are reported at the next read', async () => {
    const x = tensor([1, 2, 3, 4], [2, 2]).to('webgpu');
    const idx = tensor(Int32Array.from([0, 5]), [2, 1], { dtype: 'int32' }).to('webgpu');
    const y = gather(x, 1, idx);
    await assert.rejects(y.data(), /index was out of range/);
    // The flag is cleared: later reads work.
    assert.deepEqual(Array.from(await x.data()), [1, 2, 3, 4]);
  });

  it('assign (strided in-place write), cat, slice backward, aliasing source', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(3, 4000), seedArb, async (shape, s) => {
        seed = s;
        const big = shape.map((d) => 2 * d + 1);
        const [cd, gd] = pair(values(numel(big)), big);
        const dstC = cd.slice(0, 1, undefined, 2);
        const dstG = gd.slice(0, 1, undefined, 2);
        const [cs, gs] = viewPair(shape.length >= 2 ? 'transpose' : 'none', dstC.shape as number[]);
        cd.backend.assign(dstC, cs);
        gd.backend.assign(dstG, gs);
        await check('assign', gd, cd, 0, 0);
      }),
      { numRuns: 10 },
    );
    seed = 11;
    const [ca, ga] = pair(values(12), [3, 4]);
    const [cb, gb] = pair(values(8), [2, 4]);
    await check('cat', cat([ga, gb.T.T, ga], 0), cat([ca, cb, ca], 0), 0, 0);
    await check('cat axis 1', cat([ga.T, ga.T], 1), cat([ca.T, ca.T], 1), 0, 0);
    // Overlapping source and destination in one buffer.
    const [co, go] = pair(values(10), [10]);
    co.backend.assign(co.slice(0, 1, 10), co.slice(0, 0, 9).contiguous(true));
    go.backend.assign(go.slice(0, 1, 10), go.slice(0, 0, 9));
    await check('assign aliasing', go, co, 0, 0);
    // Autograd through slice (assign into zeros) and cat.
    const cx = tensor(values(20), [4, 5], { requiresGrad: true });
    const gx = cx.detach().to('webgpu').requiresGrad_();
    const f = (x: Tensor) => cat([x.slice(1, 1, 4), x.slice(1, 0, 3)], 0).mul(x.slice(1, 0, 3).sum()).exp().sum();
    f(cx).backward();
    f(gx).backward();
    await check('slice/cat grad', gx.grad!, cx.grad!, 1e-5, 1e-6);
  });

  it('dispose returns buffers to the pool; use after dispose and oversize tensors fail clearly', async () => {
    const before = poolStats().bytesInUse;
    const t = zeros([1000], { device: 'webgpu' });
    await t.data(); // flushes (releases the batch's uniform arena)
    assert.ok(poolStats().bytesInUse > before);
    t.dispose();
    t.dispose(); // idempotent
    assert.equal(poolStats().bytesInUse, before);
    await assert.rejects(t.data(), /after dispose/);
    const max = adapterInfo().limits.maxStorageBufferBindingSize!;
    assert.throws(() => zeros([Math.floor(max / 4) + 64], { device: 'webgpu' }), /maxStorageBufferBindingSize/);
    assert.throws(() => tensor([1, 2], [2], { dtype: 'float64', device: 'webgpu' }), /does not support float64/);
  });

  it('after the device is destroyed, ops fail with a clear error', () => {
    const t = tensor([1, 2]).to('webgpu');
    shutdownWebGPU();
    assert.throws(() => t.add(1), /no device|destroyed|lost/);
  });
});

function binaryOf(op: string, a: Tensor, b: Tensor): Tensor {
  switch (op) {
    case 'add': return a.add(b);
    case 'sub': return a.sub(b);
    case 'mul': return a.mul(b);
    case 'div': return a.div(b);
    case 'pow': return a.pow(b);
    case 'max': return a.maximum(b);
    case 'min': return a.minimum(b);
    case 'lt': return a.lt(b);
    case 'le': return a.le(b);
    case 'gt': return a.gt(b);
    case 'ge': return a.ge(b);
    case 'eq': return a.eq(b);
  }
  throw new Error(op);
}
