// Fused Tensor-level ops of the CPU backend (its `fused` member) on the WebAssembly kernels:
// softmax/logSoftmax (kernels/softmax.wat), rmsNorm (rmsnorm.wat), rotaryEmbedding (rotary.wat),
// klDivLogits (kl.wat), crossEntropyLogits (cross-entropy.wat) and the AdamW step (adamw.wat).
// Each records its own autograd node whose backward also runs a kernel.
//
// The composites in ../fused/*.ts define what each computes; they are
// the reference the tests compare against (test/tensor/cpu-wasm-fused.test.ts) and the fallback:
// with KTS_CPU_KERNELS=js, for float64 data, 0-d or empty tensors, inputs the kernels do not
// cover (rotary tables that broadcast x to a bigger shape), or a heap that cannot hold the
// operands, the composite runs. Steering uses its composite (its ops run on the kernels). As on
// WebGPU, no gradient flows to attention masks, and the cos/sin gradients of rotary are composed
// from ops.
import type { AdamWParams, AttentionOptions, FusedOps } from '../backend.ts';
import { noGrad, record } from '../autograd.ts';
import { adamwComposite } from '../fused/adamw.ts';
import { attentionComposite, repeatKv } from '../fused/attention.ts';
import { crossEntropyComposite } from '../fused/cross-entropy.ts';
import { klDivLogitsComposite } from '../fused/kl.ts';
import { rmsNormComposite } from '../fused/rmsnorm.ts';
import { rotaryComposite } from '../fused/rotary.ts';
import { logSoftmaxComposite, softmaxComposite } from '../fused/softmax.ts';
import * as ops from '../ops.ts';
import type { Tensor } from '../tensor.ts';
import { allocOutput } from './alloc.ts';
import { CpuStorage } from './storage.ts';
import { runRows, runSplit } from './wasm/launch.ts';
import { rotaryWasm } from './wasm/rotary.ts';
import { attentionBackward, attentionForward, operand4, type AttentionPlan } from './wasm/attention.ts';
import { wasmRuntime, type WasmRuntime } from './wasm/runtime.ts';

/** Row kernels below this many elements run on one thread. */
const ROWS_PARALLEL_MIN = 1 << 14;

/** The contiguous float32 data of t (a copy only when t is strided, offset or another dtype). */
function f32data(t: Tensor): Float32Array {
  const c = noGrad(() => (t.dtype === 'float32' ? t : t.cast('float32')).contiguous());
  const d = (c.storage as CpuStorage).data;
  if (!(d instanceof Float32Array)) throw new Error('fused: expected float32 data');
  return d;
}

/** A new float32 tensor of `shape` over `data`. */
function wrap(like: Tensor, data: Float32Array, shape: readonly number[]): Tensor {
  return ops.fromStorage(like.backend, new CpuStorage('float32', data), shape);
}

/** The kernels when they can take these tensors (float32, non-empty, not 0-d), else null. */
function kernelsFor(...ts: Tensor[]): WasmRuntime | null {
  if (ts.some((t) => t.dtype !== 'float32' || t.size === 0 || t.ndim === 0)) return null;
  return wasmRuntime();
}

const rowsOf = (x: Tensor): { rows: number; n: number } => ({ rows: x.size / x.shape[x.ndim - 1]!, n: x.shape[x.ndim - 1]! });

// ---- softmax / logSoftmax ---------------------------------------------------------------------

function softmaxLike(x: Tensor, log: boolean): Tensor {
  const composite = log ? logSoftmaxComposite : softmaxComposite;
  const rt = kernelsFor(x);
  if (!rt) return composite(x);
  const { rows, n } = rowsOf(x);
  const xd = f32data(x);
  const y = allocOutput(x.size);
  if (!runRows(rt, 'softmax', log ? 'log_softmax' : 'softmax', [{ data: xd, perRow: n }, { data: y, perRow: n, out: true }], rows, n, [], ROWS_PARALLEL_MIN)) return composite(x);
  const out = wrap(x, y, x.shape);
  return record(out, log ? 'logSoftmax' : 'softmax', [x], (g) => {
    const gd = f32data(g);
    const dx = allocOutput(x.size);
    const args = [{ data: y, perRow: n }, { data: gd, perRow: n }, { data: dx, perRow: n, out: true }];
    if (!runRows(rt, 'softmax', log ? 'log_softmax_bwd' : 'softmax_bwd', args, rows, n, [], ROWS_PARALLEL_MIN)) {
      // the heap is full: the composite's backward formula on the saved output
      return [log ? g.sub(out.exp().mul(g.sum(-1, true))) : out.mul(g.sub(g.mul(out).sum(-1, true)))];
    }
    return [wrap(x, dx, x.shape)];
  });
}

// ---- rmsNorm ----------------------------------------------------------------------------------

function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  const rt = kernelsFor(x, weight);
  if (!rt) return rmsNormComposite(x, weight, eps);
  const { rows, n } = rowsOf(x);
  const xd = f32data(x);
  const wd = f32data(weight);
  const y = allocOutput(x.size);
  const rinv = new Float32Array(rows);
  const args = [{ data: xd, perRow: n }, { data: wd, perRow: 0 }, { data: y, perRow: n, out: true }, { data: rinv, perRow: 1, out: true }];
  if (!runRows(rt, 'rmsnorm', 'rmsnorm', args, rows, n, [eps], ROWS_PARALLEL_MIN)) return rmsNormComposite(x, weight, eps);
  return record(wrap(x, y, x.shape), 'rmsNorm', [x, weight], (g) => {
    const gd = f32data(g);
    let dx: Tensor | null = null;
    let dw: Tensor | null = null;
    if (x.requiresGrad) {
      const d = allocOutput(x.size);
      const a = [{ data: xd, perRow: n }, { data: wd, perRow: 0 }, { data: gd, perRow: n }, { data: rinv, perRow: 1 }, { data: d, perRow: n, out: true }];
      dx = runRows(rt, 'rmsnorm', 'rmsnorm_dx', a, rows, n, [], ROWS_PARALLEL_MIN) ? wrap(x, d, x.shape) : null;
    }
    if (weight.requiresGrad) {
      // dw[j] = Σ_rows g·x·r: threads take column ranges (multiples of 4), so each sum runs over
      // the rows in the same order whatever the thread count
      const d = new Float32Array(n);
      const a = [{ data: xd, perRow: 0 }, { data: gd, perRow: 0 }, { data: rinv, perRow: 0 }, { data: d, perRow: 0, out: true }];
      dw = runSplit(rt, 'rmsnorm', 'rmsnorm_dw', a, n, (ptrs, j0, j1) => [...ptrs, rows, n, j0, j1], ROWS_PARALLEL_MIN, rows * n, 4) ? wrap(x, d, [n]) : null;
    }
    if ((x.requiresGrad && !dx) || (weight.requiresGrad && !dw)) {
      // the heap is full: the same gradients composed from ops
      const r = wrap(x, rinv, [...x.shape.slice(0, -1), 1]);
      const xg = wrap(x, xd, x.shape);
      const wg = weight.mul(g);
      dx ??= x.requiresGrad ? wg.mul(r).sub(xg.mul(r.mul(r).mul(r).mul(wg.mul(xg).sum(-1, true)).div(n))) : null;
      dw ??= weight.requiresGrad ? ops.sumTo(g.mul(xg).mul(r), [n]) : null;
    }
    return [dx, dw];
  });
}

// ---- rotary -----------------------------------------------------------------------------------

function rotaryEmbedding(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  const rt = kernelsFor(x, cos, sin);
  const run = rt && ((t: Tensor, inverse: boolean) => rotaryWasm(rt, t, cos, sin, inverse));
  const y = run ? run(x, false) : null;
  if (!run || !y) return rotaryComposite(x, cos, sin);
  return record(wrap(x, y, x.shape), 'rotaryEmbedding', [x, cos, sin], (g) => {
    const dx = x.requiresGrad ? run(g, true) : null;
    const half = x.shape[x.ndim - 1]! / 2;
    const rotateHalf = (t: Tensor): Tensor => ops.cat([t.narrow(-1, half, half).neg(), t.narrow(-1, 0, half)], -1);
    return [
      x.requiresGrad ? (dx ? wrap(x, dx, x.shape) : rotaryComposite(g, cos, sin.neg())) : null,
      cos.requiresGrad ? ops.sumTo(g.mul(x), cos.shape) : null,
      sin.requiresGrad ? ops.sumTo(g.mul(rotateHalf(x)), sin.shape) : null,
    ];
  });
}

// ---- attention ----------------------------------------------------------------------------------

function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const rt = kernelsFor(q, k, v);
  const [B, H, Tq, D] = q.shape as [number, number, number, number];
  const [, Hkv, Tk] = k.shape as [number, number, number, number];
  const mask = opts.mask ?? null;
  if (!rt || (mask && (mask.ndim > 4 || mask.dtype === 'float64'))) return attentionComposite(q, k, v, opts);
  const view = (t: Tensor) => operand4(t) ?? operand4(t.contiguous());
  let maskOp = null;
  if (mask) {
    const m = noGrad(() => (mask.dtype === 'float32' ? mask : mask.cast('float32')).expand([B, H, Tq, Tk]));
    maskOp = { data: (m.storage as CpuStorage).data as Float32Array, offset: m.offset, shape: m.shape, strides: m.shape.map((d, i) => (d === 1 ? 0 : m.strides[i]!)) };
  }
  const plan: AttentionPlan = { B, H, Hkv, Tq, Tk, D, causal: !!opts.causal, scale: opts.scale ?? 1 / Math.sqrt(D), q: view(q)!, k: view(k)!, v: view(v)!, mask: maskOp };
  const fwd = attentionForward(rt, plan);
  if (!fwd) return attentionComposite(q, k, v, opts);
  return record(wrap(q, fwd.o, [B, H, Tq, D]), 'attention', [q, k, v], (g) => {
    const bwd = attentionBackward(rt, plan, fwd.o, fwd.l, f32data(g));
    if (!bwd) return attentionGradComposed(q, k, v, opts, g); // the heap is full
    return [q.requiresGrad ? wrap(q, bwd.dq, q.shape) : null, k.requiresGrad ? wrap(q, bwd.dk, k.shape) : null, v.requiresGrad ? wrap(q, bwd.dv, v.shape) : null];
  });
}

/** The attention gradients composed from ops (FlashAttention's formulas on the full score matrix). */
function attentionGradComposed(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions, g: Tensor): (Tensor | null)[] {
  const [B, H, Tq, D] = q.shape as [number, number, number, number];
  const [, Hkv, Tk] = k.shape as [number, number, number, number];
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const [kk, vv] = [repeatKv(k, H / Hkv), repeatKv(v, H / Hkv)];
  let s = q.matmul(kk.transpose(-1, -2)).mul(scale);
  if (opts.causal) {
    const qi = ops.arange(0, Tq, 1, { dtype: 'int32' }).reshape([Tq, 1]);
    const kj = ops.arange(0, Tk, 1, { dtype: 'int32' }).reshape([1, Tk]);
    s = ops.where(kj.sub(qi).gt(Tk - Tq), -Infinity, s);
  }
  if (opts.mask) s = s.add(opts.mask);
  const P = softmaxComposite(s);
  const dP = g.matmul(vv.transpose(-1, -2));
  const dS = P.mul(dP.sub(dP.mul(P).sum(-1, true))).mul(scale);
  const perKv = (t: Tensor): Tensor => t.reshape([B, Hkv, H / Hkv, Tk, D]).sum(2);
  return [
    q.requiresGrad ? dS.matmul(kk) : null,
    k.requiresGrad ? perKv(dS.transpose(-1, -2).matmul(q)) : null,
    v.requiresGrad ? perKv(P.transpose(-1, -2).matmul(g)) : null,
  ];
}

// ---- KL and cross-entropy ---------------------------------------------------------------------

function klDivLogits(p: Tensor, q: Tensor): Tensor {
  const rt = kernelsFor(p, q);
  if (!rt) return klDivLogitsComposite(p, q);
  const { rows, n } = rowsOf(p);
  const pd = f32data(p);
  const qd = f32data(q);
  const kl = new Float32Array(rows);
  const stats = new Float32Array(rows * 4);
  const args = [{ data: pd, perRow: n }, { data: qd, perRow: n }, { data: kl, perRow: 1, out: true }, { data: stats, perRow: 4, out: true }];
  if (!runRows(rt, 'kl', 'kl', args, rows, n, [], ROWS_PARALLEL_MIN)) return klDivLogitsComposite(p, q);
  return record(wrap(p, kl, p.shape.slice(0, -1)), 'klDivLogits', [p, q], (g) => {
    const gd = f32data(g);
    const dp = p.requiresGrad ? allocOutput(p.size) : null;
    const dq = q.requiresGrad ? allocOutput(p.size) : null;
    const a = [
      { data: pd, perRow: n }, { data: qd, perRow: n }, { data: stats, perRow: 4 }, { data: kl, perRow: 1 }, { data: gd, perRow: 1 },
      { data: dp, perRow: n, out: true }, { data: dq, perRow: n, out: true },
    ];
    if (!runRows(rt, 'kl', 'kl_bwd', a, rows, n, [], ROWS_PARALLEL_MIN)) {
      // the heap is full: dp = g·P⊙((logP − logQ) − KL), dq = g·(Q − P) composed from ops
      const lp = logSoftmaxComposite(p);
      const lq = logSoftmaxComposite(q);
      const P = lp.exp();
      const gk = g.unsqueeze(-1);
      return [p.requiresGrad ? gk.mul(P).mul(lp.sub(lq).sub(wrap(p, kl, [...p.shape.slice(0, -1), 1]))) : null, q.requiresGrad ? gk.mul(lq.exp().sub(P)) : null];
    }
    return [dp && wrap(p, dp, p.shape), dq && wrap(p, dq, p.shape)];
  });
}

function crossEntropyLogits(logits: Tensor, targets: Tensor, ignoreIndex: number): Tensor {
  const rt = logits.ndim === 2 && targets.dtype === 'int32' ? kernelsFor(logits) : null;
  if (!rt) return crossEntropyComposite(logits, targets, ignoreIndex);
  const [rows, n] = logits.shape as [number, number];
  const t = (targets.contiguous().storage as CpuStorage).data;
  if (!(t instanceof Int32Array)) return crossEntropyComposite(logits, targets, ignoreIndex);
  for (const ti of t) {
    if (ti !== ignoreIndex && !(ti >= 0 && ti < n)) throw new Error(`gather: index ${ti} is out of range for dim 1 of size ${n}`);
  }
  const xd = f32data(logits);
  const loss = new Float32Array(rows);
  const stats = new Float32Array(rows * 2);
  const args = [{ data: xd, perRow: n }, { data: t, perRow: 1 }, { data: loss, perRow: 1, out: true }, { data: stats, perRow: 2, out: true }];
  if (!runRows(rt, 'cross-entropy', 'ce', args, rows, n, [ignoreIndex], ROWS_PARALLEL_MIN)) return crossEntropyComposite(logits, targets, ignoreIndex);
  return record(wrap(logits, loss, [rows]), 'crossEntropyLogits', [logits], (g) => {
    const gd = f32data(g);
    const dx = allocOutput(logits.size);
    const a = [{ data: xd, perRow: n }, { data: t, perRow: 1 }, { data: stats, perRow: 2 }, { data: gd, perRow: 1 }, { data: dx, perRow: n, out: true }];
    if (!runRows(rt, 'cross-entropy', 'ce_bwd', a, rows, n, [ignoreIndex], ROWS_PARALLEL_MIN)) {
      // the heap is full: g·(softmax − onehot), zero for ignored rows, composed from ops
      const valid = targets.eq(ignoreIndex).mul(-1).add(1);
      const onehot = ops.arange(0, n, 1, { dtype: 'int32' }).reshape([1, n]).eq(ops.where(valid, targets, 0).reshape([rows, 1]));
      return [softmaxComposite(logits).sub(onehot).mul(g.mul(valid).reshape([rows, 1]))];
    }
    return [wrap(logits, dx, logits.shape)];
  });
}

// ---- AdamW ------------------------------------------------------------------------------------

/**
 * One in-place AdamW step (optim.AdamW semantics) on the kernel when param, m and v live on the
 * heap (they are updated in place there); otherwise the composite of ../fused/adamw.ts.
 */
function adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, h: AdamWParams): void {
  const rt = kernelsFor(param, m, v);
  const onHeap = (t: Tensor): Float32Array | null => {
    const d = (t.storage as CpuStorage).data;
    return rt && d instanceof Float32Array && rt.heap.owns(d) && t.offset === 0 && d.length === param.size ? d : null;
  };
  const [pd, md, vd] = [onHeap(param), onHeap(m), onHeap(v)];
  if (rt && pd && md && vd) {
    const gd = f32data(noGrad(() => grad));
    const arrays = [{ data: pd, perRow: 1 }, { data: gd, perRow: 1 }, { data: md, perRow: 1 }, { data: vd, perRow: 1 }];
    const bc1 = 1 - h.beta1 ** h.step;
    const bc2 = 1 - h.beta2 ** h.step;
    const extra = [h.beta1, h.beta2, 1 - h.lr * h.weightDecay, h.lr / bc1, Math.sqrt(bc2), h.eps];
    if (runSplit(rt, 'adamw', 'adamw', arrays, param.size, (ptrs, s, e) => [...ptrs, e - s, ...extra], 1 << 16, param.size, 4)) return;
  }
  adamwComposite(param, grad, m, v, h);
}

/** The FusedOps of the CPU backend (each falls back to its composite when the kernels are off). */
export const fusedOps: Partial<FusedOps> = {
  softmax: (x) => softmaxLike(x, false),
  logSoftmax: (x) => softmaxLike(x, true),
  rmsNorm,
  rotaryEmbedding,
  attention,
  klDivLogits,
  crossEntropyLogits,
  adamw,
};
