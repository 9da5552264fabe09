/**
 * The Tensor-level fused ops of the WebGPU backend (packages/webgpu/src/fused/index.ts) against
 * the composite definitions running on the CPU in float64: forward output and the gradient of
 * loss = Σ out ∘ w (w random) for every differentiable input.
 *
 * Inputs are random in ±[0.5, 1.5) (never zero), including strided views (transposed q, a
 * narrowed KV cache, broadcast masks and rotary tables, a transposed softmax input). Each case
 * also checks that the fused node was recorded (so the kernels, not a fallback, ran).
 * Tolerance: |gpu − cpu| ≤ 2e-5·max(1, max|cpu|) + 2e-4·|cpu| per element (f32 kernels vs
 * float64 composites). Everything runs on both kernel families ('gpu' forced here too).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  addSteering, attention, crossEntropy, klDivLogits, logSoftmax, rmsNorm, rotaryEmbedding, softmax, tensor,
  type Tensor,
} from '@kts/tensor';
import { initWebGPU, setKernelFamily, shutdownWebGPU } from '@kts/webgpu';
import { adamwStep } from '../../packages/webgpu/src/fused/index.ts';
import { adamwReference } from '@kts/webgpu/kernels';
import { assertClose, FAMILIES, maxAbs, Rng } from './helpers.ts';

interface In {
  data: Float32Array | Int32Array;
  shape: number[];
  grad?: boolean;
  /** Applied to the leaf on both devices before the op (e.g. a transpose or a slice). */
  view?: (t: Tensor) => Tensor;
}

const ATOL = 2e-5;
const RTOL = 2e-4;

function leaf(i: In, device: 'cpu' | 'webgpu'): Tensor {
  const int = i.data instanceof Int32Array;
  const dtype = int ? 'int32' : device === 'cpu' ? 'float64' : 'float32';
  const data = int ? i.data : device === 'cpu' ? Float64Array.from(i.data) : i.data;
  return tensor(data, i.shape, { dtype, device, requiresGrad: !!i.grad && !int });
}

async function check(
  name: string, fn: (...xs: Tensor[]) => Tensor, inputs: In[], seed: number, fusedOp: string | null,
): Promise<void> {
  const cpu = inputs.map((i) => leaf(i, 'cpu'));
  const gpu = inputs.map((i) => leaf(i, 'webgpu'));
  const view = (ts: Tensor[]) => ts.map((t, k) => inputs[k]!.view?.(t) ?? t);
  const outC = fn(...view(cpu));
  const outG = fn(...view(gpu));
  if (fusedOp) assert.equal(outG.node?.op ?? null, inputs.some((i) => i.grad) ? fusedOp : null, `${name}: fused node`);
  assert.deepEqual(outG.shape, outC.shape, `${name}: shape`);
  const rng = new Rng(seed);
  const w = rng.array(outC.size);
  const ref = outC.toArray();
  const tol = { atol: ATOL * Math.max(1, maxAbs(ref)), rtol: RTOL };
  assertClose(`${name} out`, await outG.data(), ref, tol);
  if (!inputs.some((i) => i.grad)) return;
  outC.mul(tensor(Float64Array.from(w), [...outC.shape], { dtype: 'float64' })).sum().backward();
  outG.mul(tensor(w, [...outG.shape], { device: 'webgpu' })).sum().backward();
  for (let k = 0; k < inputs.length; k++) {
    if (!inputs[k]!.grad) continue;
    const gc = cpu[k]!.grad!.toArray();
    assert.ok(gpu[k]!.grad, `${name}: input ${k} got no gradient on webgpu`);
    assertClose(`${name} grad ${k}`, await gpu[k]!.grad!.data(), gc, { atol: ATOL * Math.max(1, maxAbs(gc)), rtol: RTOL });
  }
}

for (const family of FAMILIES) describe(`webgpu fusedOps vs CPU float64 composites (forward and gradients), ${family} kernels`, () => {
  before(async () => {
    await initWebGPU();
    setKernelFamily(family);
  });
  after(() => {
    setKernelFamily(null);
    shutdownWebGPU();
  });

  it('softmax / logSoftmax (last axis, a transposed input, an all −∞ row)', async () => {
    const rng = new Rng(1);
    const x = rng.array(3 * 5 * 37, 0.5, 3);
    await check('softmax', (t) => softmax(t, -1), [{ data: x, shape: [3, 5, 37], grad: true }], 2, 'softmax');
    await check('logSoftmax', (t) => logSoftmax(t, -1), [{ data: x, shape: [15, 37], grad: true }], 3, 'logSoftmax');
    await check('softmax axis 1', (t) => softmax(t, 1), [{ data: x, shape: [3, 5, 37], grad: true }], 4, null);
    const y = rng.array(4 * 8);
    y.fill(-Infinity, 8, 16);
    await check('softmax −∞ row', (t) => softmax(t, -1), [{ data: y, shape: [4, 8], grad: true }], 5, 'softmax');
  });

  it('rmsNorm (x and weight gradients)', async () => {
    const rng = new Rng(2);
    await check('rmsNorm', (x, w) => rmsNorm(x, w, 1e-5), [
      { data: rng.array(2 * 7 * 48), shape: [2, 7, 48], grad: true },
      { data: rng.array(48), shape: [48], grad: true },
    ], 6, 'rmsNorm');
    await check('rmsNorm odd', (x, w) => rmsNorm(x, w, 1e-6), [
      { data: rng.array(5 * 13), shape: [5, 13], grad: true },
      { data: rng.array(13), shape: [13], grad: false },
    ], 7, 'rmsNorm');
  });

  it('rotaryEmbedding on a transposed [B,H,T,D] view with [B,1,T,D] and [T,D] tables', async () => {
    const rng = new Rng(3);
    const [B, T, H, D] = [2, 5, 3, 8];
    const tr = (t: Tensor) => t.transpose(1, 2); // [B,T,H,D] → [B,H,T,D] (as the Llama model)
    await check('rotary B1TD', (x, c, s) => rotaryEmbedding(x, c, s), [
      { data: rng.array(B * T * H * D), shape: [B, T, H, D], grad: true, view: tr },
      { data: rng.array(B * T * D), shape: [B, 1, T, D] },
      { data: rng.array(B * T * D), shape: [B, 1, T, D] },
    ], 8, 'rotaryEmbedding');
    await check('rotary TD + table grads', (x, c, s) => rotaryEmbedding(x, c, s), [
      { data: rng.array(B * H * T * D), shape: [B, H, T, D], grad: true },
      { data: rng.array(T * D), shape: [T, D], grad: true },
      { data: rng.array(T * D), shape: [T, D], grad: true },
    ], 9, 'rotaryEmbedding');
  });

  it('attention: causal GQA prefill with a padding mask, transposed q, narrowed KV cache', async () => {
    const rng = new Rng(4);
    const [B, H, Hkv, T, D] = [2, 4, 2, 6, 16];
    const Tmax = 9;
    const mask = new Float32Array(B * T).fill(0);
    mask[T] = -Infinity; // second sequence: first key padded
    await check('attention', (q, k, v, m) => attention(q, k, v, { causal: true, mask: m }), [
      { data: rng.array(B * T * H * D), shape: [B, T, H, D], grad: true, view: (t) => t.transpose(1, 2) },
      { data: rng.array(B * Hkv * Tmax * D), shape: [B, Hkv, Tmax, D], grad: true, view: (t) => t.narrow(2, 0, T) },
      { data: rng.array(B * Hkv * Tmax * D), shape: [B, Hkv, Tmax, D], grad: true, view: (t) => t.narrow(2, 1, T) },
      { data: mask, shape: [B, 1, 1, T] },
    ], 10, 'attention');
  });

  it('attention property: random shapes, decode (Tq < Tk), masks [Tq,Tk], scale', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          B: fc.integer({ min: 1, max: 2 }), Hkv: fc.integer({ min: 1, max: 2 }), rep: fc.constantFrom(1, 2),
          Tq: fc.integer({ min: 1, max: 6 }), extra: fc.integer({ min: 0, max: 5 }), D: fc.constantFrom(4, 6),
          causal: fc.boolean(), mask: fc.boolean(), scale: fc.constantFrom(undefined, 0.7), seed: fc.integer({ min: 1, max: 1 << 30 }),
        }),
        async (r) => {
          const rng = new Rng(r.seed);
          const H = r.Hkv * r.rep;
          const Tk = r.Tq + r.extra;
          const m = new Float32Array(r.Tq * Tk).map(() => (rng.next() < 0.15 ? -Infinity : rng.nonZero()));
          const inputs: In[] = [
            { data: rng.array(r.B * H * r.Tq * r.D), shape: [r.B, H, r.Tq, r.D], grad: true },
            { data: rng.array(r.B * r.Hkv * Tk * r.D), shape: [r.B, r.Hkv, Tk, r.D], grad: true },
            { data: rng.array(r.B * r.Hkv * Tk * r.D), shape: [r.B, r.Hkv, Tk, r.D], grad: true },
            { data: m, shape: [r.Tq, Tk] },
          ];
          await check('attention prop', (q, k, v, mk) => attention(q, k, v, { causal: r.causal, mask: r.mask ? mk : null, scale: r.scale }), inputs, r.seed, 'attention');
        },
      ),
      { numRuns: 10 },
    );
  });

  it('klDivLogits (both logit sets require grad; and a detached target)', async () => {
    const rng = new Rng(5);
    const p = rng.array(2 * 3 * 50, 0.5, 3), q = rng.array(2 * 3 * 50, 0.5, 3);
    await check('kl', (a, b) => klDivLogits(a, b), [
      { data: p, shape: [2, 3, 50], grad: true }, { data: q, shape: [2, 3, 50], grad: true },
    ], 11, 'klDivLogits');
    await check('kl detached q', (a, b) => klDivLogits(a, b), [
      { data: p, shape: [6, 50], grad: true }, { data: q, shape: [6, 50] },
    ], 12, 'klDivLogits');
  });

  it('crossEntropy (reduction none / mean) with an ignore index', async () => {
    const rng = new Rng(6);
    const t = Int32Array.from([3, -100, 0, 12, 7]);
    await check('ce none', (x, tt) => crossEntropy(x, tt, { reduction: 'none' }), [
      { data: rng.array(5 * 13, 0.5, 3), shape: [5, 13], grad: true }, { data: t, shape: [5] },
    ], 13, 'crossEntropyLogits');
    await check('ce mean', (x, tt) => crossEntropy(x, tt), [
      { data: rng.array(5 * 16, 0.5, 3), shape: [5, 16], grad: true }, { data: t, shape: [5] },
    ], 14, null);
  });

  it('addSteering: shared and per-sequence vectors, int and float masks', async () => {
    const rng = new Rng(7);
    const [B, T, D, K] = [2, 5, 12, 3];
    const mask = Int32Array.from({ length: B * T }, (_, i) => (i % 3 === 0 ? 0 : 1));
    await check('steer shared', (h, v, c, m) => addSteering(h, v, c, m), [
      { data: rng.array(B * T * D), shape: [B, T, D], grad: true },
      { data: rng.array(K * D), shape: [K, D], grad: true },
      { data: rng.array(B * K), shape: [B, K], grad: true },
      { data: mask, shape: [B, T] },
    ], 15, 'addSteering');
    await check('steer per-seq', (h, v, c, m) => addSteering(h, v, c, m), [
      { data: rng.array(B * T * 7), shape: [B, T, 7], grad: false },
      { data: rng.array(B * K * 7), shape: [B, K, 7], grad: true },
      { data: rng.array(B * K), shape: [B, K], grad: true },
      { data: Float32Array.from(mask), shape: [B, T] },
    ], 16, 'addSteering');
  });

  it('adamwStep updates param, m, v in place like the float64 reference', async () => {
    const rng = new Rng(8);
    const n = 37;
    const p0 = rng.array(n), g = rng.array(n);
    const p = tensor(p0, [n], { device: 'webgpu' });
    const m = tensor(new Float32Array(n), [n], { device: 'webgpu' });
    const v = tensor(new Float32Array(n), [n], { device: 'webgpu' });
    const hp = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: 1 };
    adamwStep(p, tensor(g, [n], { device: 'webgpu' }), m, v, hp);
    const r = adamwReference(p0, g, new Float32Array(n), new Float32Array(n), hp);
    assertClose('param', await p.data(), r.param, { atol: 1e-6, rtol: 1e-5 });
    assertClose('m', await m.data(), r.m, { atol: 1e-6, rtol: 1e-5 });
    assertClose('v', await v.data(), r.v, { atol: 1e-6, rtol: 1e-5 });
  });
});
