// tidy(): temporaries made inside go back to the backend when the scope ends (outside autograd),
// what the scope returns or keep()s survives, and a released tensor fails loudly when used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cat, Generator, keep, noGrad, randn, tensor, tidy } from '@kts/tensor';
import { wasmRuntime } from '../../packages/tensor/src/cpu/wasm/runtime.ts';

const released = /used after its storage was released/;

test('noGrad: temporaries are released, the result (and views of it) survive with their values', () => {
  const x = randn([40, 50], { generator: new Generator(1) });
  let tmp = x;
  const expected = noGrad(() => x.mul(2).exp().sum(-1)).toArray();
  const out = noGrad(() => tidy(() => {
    tmp = x.mul(2);
    return { sums: tmp.exp().sum(-1).reshape([4, 10]), rows: [tmp.narrow(0, 0, 1)] };
  }));
  assert.deepEqual(Array.from(out.sums.toArray()), Array.from(expected));
  assert.equal(out.rows[0]!.shape[1], 50, 'a view returned inside an array keeps its storage');
  assert.equal(out.rows[0]!.toArray()[3], x.toArray()[3]! * 2);
  assert.ok(tmp !== x);
  assert.deepEqual(x.toArray().length, 2000, 'inputs made before the scope are untouched');
  // exp() of tmp was a temporary: gone. tmp itself is reachable through the returned view.
  assert.doesNotThrow(() => tmp.toArray());
});

test('a temporary that is not returned throws when used after the scope', () => {
  let tmp = randn([3]);
  noGrad(() => tidy(() => {
    tmp = tmp.add(1);
    return tmp.sum();
  }));
  assert.throws(() => tmp.toArray(), released);
  assert.throws(() => tmp.add(1), released);
});

test('nested scopes: the inner result belongs to the outer scope; keep() outlives both', () => {
  let inner = randn([2]);
  let kept = randn([2]);
  const r = noGrad(() => tidy(() => {
    const y = tidy(() => (inner = randn([64]).mul(3)));
    kept = keep(y.add(1));
    assert.doesNotThrow(() => inner.toArray(), 'alive until the outer scope ends');
    return y.sum();
  }));
  assert.throws(() => inner.toArray(), released);
  assert.equal(kept.toArray().length, 64);
  assert.equal(r.toArray().length, 1);
});

test('with grad on nothing is released, and backward runs through the scope', () => {
  const w = randn([5, 5], { generator: new Generator(2) }).requiresGrad_();
  let hidden = w;
  const loss = tidy(() => {
    hidden = w.mul(w);
    return hidden.exp().sum();
  });
  loss.backward();
  assert.doesNotThrow(() => hidden.toArray());
  const wv = w.toArray();
  const g = w.grad!.toArray();
  for (let i = 0; i < 25; i++) assert.ok(Math.abs(g[i]! - 2 * wv[i]! * Math.exp(wv[i]! * wv[i]!)) < 1e-4 * (1 + Math.abs(g[i]!)));
});

test('an async function is refused', () => {
  assert.throws(() => tidy(async () => tensor([1])), /tidy: fn returned a Promise/);
});

test('released blocks are reused at once: a loop of scopes does not grow the CPU heap', () => {
  const heap = wasmRuntime()!.heap;
  const x = randn([256, 256]);
  const step = (): void => void noGrad(() => tidy(() => x.mul(2).add(1).exp().sum()));
  for (let i = 0; i < 5; i++) step();
  const before = { ...heap.stats };
  for (let i = 0; i < 200; i++) step(); // 200 × 3 × 256 KiB = 150 MiB of temporaries (the sum is too small for the heap)
  const after = heap.stats;
  assert.equal(after.allocated - before.allocated, 600);
  assert.ok(after.reused - before.reused >= 590, `reused ${after.reused - before.reused} of 600`);
  assert.ok(after.bytesInUse - before.bytesInUse < 1 << 20, `in use grew by ${after.bytesInUse - before.bytesInUse} bytes`);
});

test('backward hands each intermediate gradient back once nothing needs it, with exact results through aliasing views', () => {
  const a = randn([64, 64], { generator: new Generator(3) }).requiresGrad_();
  // cat's backward returns two views of one gradient; x + x returns the same tensor twice
  const y = cat([a, a.mul(3)]).reshape([2, 64 * 64]);
  const loss = y.add(y).exp().mul(0).add(y).sum();
  loss.backward();
  for (const v of a.grad!.toArray()) assert.equal(v, 4);
  const heap = wasmRuntime()!.heap;
  const w = randn([256, 256], { generator: new Generator(4) }).requiresGrad_();
  let h = w;
  for (let i = 0; i < 12; i++) h = h.mul(1.01).add(0.1);
  const out = h.sum();
  const before = { ...heap.stats };
  out.backward(); // synchronous: without early release no block could come back before it ends
  const reused = heap.stats.reused - before.reused;
  assert.ok(reused >= 8, `blocks reused during backward: ${reused}`);
  const expected = 1.01 ** 12;
  for (const v of w.grad!.toArray()) assert.ok(Math.abs(v - expected) < 1e-5);
});
