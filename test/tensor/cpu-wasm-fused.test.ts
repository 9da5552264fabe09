/**
 * The CPU backend's fused ops on the WebAssembly kernels (packages/tensor/src/cpu/fused.ts:
 * kernels/softmax.wat, rmsnorm.wat, rotary.wat, kl.wat, cross-entropy.wat, adamw.wat) against the
 * composite definitions run in float64 (which the kernels never take): forward output and the
 * gradient of Σ out ∘ w (w random) for every differentiable input. Inputs are ±[0.5, 1.5)
 * (never zero); odd row lengths (not multiples of 4), a strided rotary input with broadcast tables,
 * and rows holding NaN, ±∞ and all −∞. Each case checks that the fused node was recorded, i.e.
 * that the kernel ran. Tolerance: |wasm − ref| ≤ 2e-5·max(1, max|ref|) + 2e-4·|ref|.
 * Also: the same bits on 1, 2 and 3 threads, the AdamW step, and the composed fallbacks when the
 * heap is full.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  attention, cpuKernels, cpuThreadStats, crossEntropy, Generator, klDivLogits, logSoftmax, noGrad, optim, rmsNorm, rotaryEmbedding, setCpuKernels,
  softmax, tensor, type Tensor,
} from '@kts/tensor';
import { assertSameBitsOnThreads } from './cpu-threads-helper.ts';
import { wasmRuntime } from '../../packages/tensor/src/cpu/wasm/runtime.ts';
import { skipWithoutWasm } from '../helpers/wasm.ts';

const skip = skipWithoutWasm();

/** n values ±[0.5, 1.5)·scale. */
function nonZero(g: Generator, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (g.random() < 0.5 ? -1 : 1) * (0.5 + g.random()) * scale);
}

function clearGrads(...ts: Tensor[]): void {
  for (const t of ts) t.grad = null;
}

interface In {
  data: Float32Array | Int32Array;
  shape: number[];
  grad?: boolean;
  view?: (t: Tensor) => Tensor;
}

function close(what: string, got: ArrayLike<number>, ref: ArrayLike<number>): void {
  let scale = 1;
  for (let i = 0; i < ref.length; i++) if (Number.isFinite(ref[i]!)) scale = Math.max(scale, Math.abs(ref[i]!));
  assert.equal(got.length, ref.length, `${what}: length`);
  for (let i = 0; i < ref.length; i++) {
    const [a, b] = [got[i]!, ref[i]!];
    if (!Number.isFinite(b)) assert.ok(a === b || (Number.isNaN(a) && Number.isNaN(b)), `${what}[${i}] = ${a}, expected ${b}`);
    else assert.ok(Math.abs(a - b) <= 2e-5 * scale + 2e-4 * Math.abs(b), `${what}[${i}] = ${a}, expected ${b}`);
  }
}

/** fn on float32 leaves (kernels) vs on float64 leaves (composites): output and gradients. */
function check(name: string, fn: (...xs: Tensor[]) => Tensor, inputs: In[], seed: number, fusedOp: string | null): void {
  setCpuKernels('wasm');
  const leaves = (dtype: 'float32' | 'float64') => inputs.map((i) => {
    if (i.data instanceof Int32Array) return tensor(i.data, i.shape);
    return tensor(dtype === 'float64' ? Float64Array.from(i.data) : i.data, i.shape, { dtype, requiresGrad: !!i.grad });
  });
  const [f32, f64] = [leaves('float32'), leaves('float64')];
  const view = (ts: Tensor[]) => ts.map((t, k) => inputs[k]!.view?.(t) ?? t);
  const before = cpuThreadStats().kernelCalls;
  const out = fn(...view(f32));
  assert.ok(cpuThreadStats().kernelCalls > before, `${name}: ran on the WebAssembly kernels`);
  const ref = fn(...view(f64));
  if (fusedOp && inputs.some((i) => i.grad)) assert.equal(out.node?.op, fusedOp, `${name}: the fused op recorded its node`);
  close(`${name} out`, out.toArray(), ref.toArray());
  if (!inputs.some((i) => i.grad)) return;
  const w = Array.from(nonZero(new Generator(seed), out.size));
  out.mul(tensor(Float32Array.from(w), [...out.shape])).sum().backward();
  ref.mul(tensor(Float64Array.from(w), [...ref.shape], { dtype: 'float64' })).sum().backward();
  inputs.forEach((i, k) => {
    if (i.grad) close(`${name} grad ${k}`, f32[k]!.grad!.toArray(), f64[k]!.grad!.toArray());
  });
}

test('wasm softmax / logSoftmax forward and backward vs float64 composites (odd rows, a −∞ row, NaN/∞ rows)', { skip }, () => {
  const g = new Generator(31);
  const x = nonZero(g, 3 * 5 * 37, 3);
  check('softmax', (t) => softmax(t, -1), [{ data: x, shape: [15, 37], grad: true }], 1, 'softmax');
  check('logSoftmax', (t) => logSoftmax(t, -1), [{ data: x, shape: [3, 5, 37], grad: true }], 2, 'logSoftmax');
  check('softmax wide', (t) => softmax(t, -1), [{ data: nonZero(g, 2 * 1001, 4), shape: [2, 1001], grad: true }], 3, 'softmax');
  const y = nonZero(g, 4 * 9);
  y.fill(-Infinity, 9, 18); // an all −∞ row: zeros from softmax
  y[20] = -Infinity;
  check('softmax −∞', (t) => softmax(t, -1), [{ data: y, shape: [4, 9], grad: true }], 4, 'softmax');
  const z = nonZero(g, 4 * 9);
  z[2] = NaN;
  z[12] = Infinity;
  check('softmax NaN/∞ rows', (t) => softmax(t, -1), [{ data: z, shape: [4, 9] }], 5, 'softmax');
  check('logSoftmax NaN/∞ rows', (t) => logSoftmax(t, -1), [{ data: z, shape: [4, 9] }], 6, 'logSoftmax');
});

test('wasm rmsNorm forward and backward (x and weight) vs float64 composite', { skip }, () => {
  const g = new Generator(32);
  check('rmsNorm', (x, w) => rmsNorm(x, w, 1e-5), [
    { data: nonZero(g, 2 * 7 * 48), shape: [2, 7, 48], grad: true }, { data: nonZero(g, 48), shape: [48], grad: true },
  ], 7, 'rmsNorm');
  check('rmsNorm odd', (x, w) => rmsNorm(x, w, 1e-6), [
    { data: nonZero(g, 5 * 13), shape: [5, 13], grad: true }, { data: nonZero(g, 13), shape: [13], grad: true },
  ], 8, 'rmsNorm');
});

test('wasm rotaryEmbedding on a transposed [B,H,T,D] view with broadcast tables vs float64 composite', { skip }, () => {
  const g = new Generator(33);
  const [B, T, H, D] = [2, 5, 3, 12];
  check('rotary', (x, c, s) => rotaryEmbedding(x, c, s), [
    { data: nonZero(g, B * T * H * D), shape: [B, T, H, D], grad: true, view: (t) => t.transpose(1, 2) },
    { data: nonZero(g, T * D), shape: [1, 1, T, D] },
    { data: nonZero(g, T * D), shape: [1, 1, T, D] },
  ], 9, 'rotaryEmbedding');
  check('rotary D=10 + table grads', (x, c, s) => rotaryEmbedding(x, c, s), [
    { data: nonZero(g, B * H * T * 10), shape: [B, H, T, 10], grad: true },
    { data: nonZero(g, B * T * 10), shape: [B, 1, T, 10], grad: true },
    { data: nonZero(g, T * 10), shape: [T, 10], grad: true },
  ], 10, 'rotaryEmbedding');
});

test('wasm klDivLogits and crossEntropy forward and backward vs float64 composites', { skip }, () => {
  const g = new Generator(34);
  const p = nonZero(g, 6 * 53, 3), q = nonZero(g, 6 * 53, 3);
  check('kl', (a, b) => klDivLogits(a, b), [{ data: p, shape: [2, 3, 53], grad: true }, { data: q, shape: [2, 3, 53], grad: true }], 11, 'klDivLogits');
  check('kl detached q', (a, b) => klDivLogits(a, b), [{ data: p, shape: [6, 53], grad: true }, { data: q, shape: [6, 53] }], 12, 'klDivLogits');
  const pn = Float32Array.from(p);
  pn[3] = NaN;
  pn[60] = Infinity;
  check('kl NaN/∞ rows', (a, b) => klDivLogits(a, b), [{ data: pn, shape: [6, 53] }, { data: q, shape: [6, 53] }], 13, 'klDivLogits');
  const t = Int32Array.from([3, -100, 0, 12, 7]);
  check('ce', (x, tt) => crossEntropy(x, tt, { reduction: 'none' }), [{ data: nonZero(g, 5 * 13, 3), shape: [5, 13], grad: true }, { data: t, shape: [5] }], 14, 'crossEntropyLogits');
  check('ce mean', (x, tt) => crossEntropy(x, tt), [{ data: nonZero(g, 5 * 16, 3), shape: [5, 16], grad: true }, { data: t, shape: [5] }], 15, null);
  assert.throws(() => crossEntropy(tensor(nonZero(g, 2 * 5), [2, 5]), tensor(Int32Array.from([1, 5]), [2])), /out of range/);
});

test('wasm attention forward and backward vs float64 composite: causal GQA, padding mask, transposed q, narrowed KV cache, decode', { skip }, () => {
  const g = new Generator(38);
  const [B, H, Hkv, T, D] = [2, 4, 2, 6, 13];
  const Tmax = 9;
  const mask = new Float32Array(B * T).fill(0);
  mask[T] = -Infinity; // second sequence: first key padded
  check('attention prefill', (q, k, v, m) => attention(q, k, v, { causal: true, mask: m }), [
    { data: nonZero(g, B * T * H * D), shape: [B, T, H, D], grad: true, view: (t) => t.transpose(1, 2) },
    { data: nonZero(g, B * Hkv * Tmax * D), shape: [B, Hkv, Tmax, D], grad: true, view: (t) => t.narrow(2, 0, T) },
    { data: nonZero(g, B * Tmax * Hkv * D), shape: [B, Tmax, Hkv, D], grad: true, view: (t) => t.transpose(1, 2).narrow(2, 1, T) },
    { data: mask, shape: [B, 1, 1, T] },
  ], 16, 'attention');
  // decode: 2 queries against 7 keys (causal aligns them at the end), a [Tq, Tk] mask with −∞, a scale
  const m2 = nonZero(g, 2 * 7);
  m2[3] = -Infinity;
  check('attention decode', (q, k, v, m) => attention(q, k, v, { causal: true, mask: m, scale: 0.7 }), [
    { data: nonZero(g, 1 * 4 * 2 * 8), shape: [1, 4, 2, 8], grad: true },
    { data: nonZero(g, 1 * 1 * 7 * 8), shape: [1, 1, 7, 8], grad: true },
    { data: nonZero(g, 1 * 1 * 7 * 8), shape: [1, 1, 7, 8], grad: true },
    { data: m2, shape: [2, 7] },
  ], 17, 'attention');
  // a query row whose keys are all masked: zeros, as the composite
  const m3 = new Float32Array(3 * 3).fill(0);
  m3.fill(-Infinity, 3, 6);
  check('attention all-masked row', (q, k, v, m) => attention(q, k, v, { mask: m }), [
    { data: nonZero(g, 3 * 5), shape: [1, 1, 3, 5], grad: true }, { data: nonZero(g, 3 * 5), shape: [1, 1, 3, 5], grad: true },
    { data: nonZero(g, 3 * 5), shape: [1, 1, 3, 5], grad: true }, { data: m3, shape: [3, 3] },
  ], 18, 'attention');
});

test('wasm AdamW step equals optim.AdamW composed from ops (TypeScript loops)', { skip }, () => {
  const g = new Generator(35);
  const n = 4099; // on the heap (≥ HEAP_MIN), odd length
  const p0 = nonZero(g, n);
  const grads = [nonZero(g, n), nonZero(g, n)];
  const run = (kernels: 'wasm' | 'js'): Float32Array => {
    setCpuKernels(kernels);
    const p = tensor(p0, [n], { requiresGrad: true });
    const opt = new optim.AdamW([p], { lr: 0.01, weightDecay: 0.1 });
    for (const gr of grads) {
      p.grad = tensor(gr, [n]);
      opt.step();
    }
    setCpuKernels('wasm');
    return p.toArray() as Float32Array;
  };
  close('adamw', run('wasm'), run('js'));
});

test('wasm fused ops give the same bits on 1, 2 and 3 threads', { skip }, () => {
  setCpuKernels('wasm');
  const g = new Generator(36);
  const x = tensor(nonZero(g, 67 * 1001, 3), [67, 1001], { requiresGrad: true });
  const q = tensor(nonZero(g, 67 * 1001, 3), [67, 1001]);
  const w = tensor(nonZero(g, 1001), [1001], { requiresGrad: true });
  const t = tensor(Int32Array.from({ length: 67 }, (_, i) => (i * 37) % 1001), [67]);
  const fns: [string, () => Tensor][] = [
    ['softmax', () => softmax(x, -1)], ['logSoftmax', () => logSoftmax(x, -1)], ['kl', () => klDivLogits(x, q)],
    ['ce', () => crossEntropy(x, t, { reduction: 'none' })], ['rmsNorm', () => rmsNorm(x, w, 1e-5)],
    ['attention', () => attention(x.narrow(1, 0, 960).reshape([67, 4, 15, 16]).transpose(1, 2), q.narrow(1, 0, 480).reshape([67, 2, 15, 16]).transpose(1, 2), q.narrow(1, 480, 480).reshape([67, 2, 15, 16]).transpose(1, 2), { causal: true })],
  ];
  assertSameBitsOnThreads(fns.map(([name, fn]) => [name, () => {
    clearGrads(x, w);
    const out = fn();
    out.mul(out.detach().add(0.5)).sum().backward();
    return [out.toArray(), x.grad!.toArray(), ...(w.grad ? [w.grad.toArray()] : [])];
  }]));
});

test('with the heap full, fused ops and matmuls fall back (composites, TypeScript loops) and stay correct', { skip }, () => {
  const rt = wasmRuntime()!;
  const g = new Generator(37);
  const x = tensor(nonZero(g, 9 * 2001), [9, 2001], { requiresGrad: true });
  const ref = (() => {
    setCpuKernels('js');
    const out = noGrad(() => klDivLogits(x, x.mul(0.5)).add(softmax(x, -1).sum(-1)));
    setCpuKernels('wasm');
    return out.toArray();
  })();
  const reset = rt.scratch.reset;
  try {
    rt.scratch.reset = () => false; // as when the heap cannot take the copies a call needs
    const before = cpuThreadStats().kernelCalls;
    const out = noGrad(() => klDivLogits(x, x.mul(0.5)).add(softmax(x, -1).sum(-1)));
    close('full heap', out.toArray(), ref);
    assert.equal(cpuThreadStats().kernelCalls, before, 'no kernel could run');
  } finally {
    rt.scratch.reset = reset;
  }
  // Forward on the kernel, backward with the heap full: the gradients composed from ops.
  const w = tensor(nonZero(g, 2001), [2001], { requiresGrad: true });
  const q = tensor(nonZero(g, 9 * 2001), [9, 2001]);
  const t = tensor(Int32Array.from([5, -100, 7, 0, 2000, 3, 9, 11, 13]), [9]);
  const ops: [string, () => Tensor][] = [
    ['rmsNorm', () => rmsNorm(x, w, 1e-5)], ['softmax', () => softmax(x, -1)], ['logSoftmax', () => logSoftmax(x, -1)],
    ['kl', () => klDivLogits(x, q)], ['ce', () => crossEntropy(x, t, { reduction: 'none' })],
    ['attention', () => attention(x.narrow(1, 0, 96).reshape([1, 9, 2, 48]).transpose(1, 2), q.narrow(1, 0, 48).reshape([1, 9, 1, 48]).transpose(1, 2), q.narrow(1, 48, 48).reshape([1, 9, 1, 48]).transpose(1, 2), { causal: true })],
  ];
  for (const [name, fn] of ops) {
    const grads = [false, true].map((full) => {
      clearGrads(x, w);
      const y = fn();
      assert.ok(y.node, `${name}: recorded`);
      try {
        if (full) rt.scratch.reset = () => false;
        y.mul(y.detach().add(1)).sum().backward();
      } finally {
        rt.scratch.reset = reset;
      }
      return [x.grad!.toArray(), ...(w.grad ? [w.grad.toArray()] : [])];
    });
    grads[0]!.forEach((gk, k) => close(`${name} grad ${k}: composed vs kernel`, grads[1]![k]!, gk));
  }
});
