// Fused Tensor-level ops of the WebGPU backend (the `fused` member of webgpuBackend): each op
// takes and returns Tensors on 'webgpu', runs one or a few kernels from /kernels (softmax, rmsnorm, attention-*, …),
// and records its own autograd node whose backward also runs fused kernels.
//
// The composite definitions in packages/tensor/src/{functional,attention}.ts are the spec; the
// fused ops match them (tests: test/webgpu/fused-ops.test.ts) with these documented differences:
//   - no gradient flows to attention masks or steering masks (they select, not learn);
//   - cos/sin gradients of rotaryEmbedding are computed with composite ops (rarely needed).
// Inputs the kernels do not cover (float64 / int32 data, 0-d or empty tensors, head dims > 128,
// rotary inputs of more than 4 dims or cos/sin that broadcast x to a bigger shape) fall back to
// the composites themselves (@kts/tensor's *Composite functions, which never dispatch here).
//
// Tensors reach the kernels as contiguous float32 buffers (t.contiguous() copies only when
// needed); attention takes q/k/v as strided views (d contiguous) so a narrowed KV cache or a
// transposed q is not copied, and masks / cos / sin tables as broadcast views.
import {
  addSteeringComposite, attentionComposite, cat, crossEntropyComposite, fromStorage, klDivLogitsComposite, logSoftmaxComposite, noGrad, record, rmsNormComposite,
  rotaryComposite, shapes, softmaxComposite, sumTo,
  type AttentionOptions, type FusedOps, type Tensor,
} from '@kts/tensor';
import { allocStorage, asStorage } from '../ops/storage.ts';
import { currentBatch } from '../dispatch.ts';
import { attentionBackward, attentionForward, checkAttentionShape, type AttentionShape, type Layout3 } from '../kernels/attention.ts';
import { logSoftmaxBackward, logSoftmaxForward, softmaxBackward, softmaxForward } from '../kernels/softmax.ts';
import { rmsNormBackward, rmsNormForward } from '../kernels/rmsnorm.ts';
import { klBackward, klForward } from '../kernels/kl.ts';
import { crossEntropyBackward, crossEntropyForward } from '../kernels/cross-entropy.ts';
import { steeringBackward, steeringForward, type SteeringShape } from '../kernels/steering.ts';
import { rotaryBackward, rotaryForward, type RotaryShape, type TableLayout } from '../kernels/rotary.ts';
import { adamwUpdate, type AdamWParams } from '../kernels/adamw.ts';

const buf = (t: Tensor): GPUBuffer => asStorage(t.storage).buffer;

/** A new contiguous float32 tensor of `shape` on x's backend, and its buffer. */
function alloc(like: Tensor, shape: readonly number[]): { t: Tensor; b: GPUBuffer } {
  const n = shape.reduce((p, d) => p * d, 1);
  const s = allocStorage(n, 'float32');
  return { t: fromStorage(like.backend, s, [...shape]), b: s.buffer };
}

/** Contiguous float32 view of x (a copy only when x is strided or offset). */
function f32(x: Tensor): Tensor {
  return (x.dtype === 'float32' ? x : x.cast('float32')).contiguous();
}

const isF32 = (...ts: Tensor[]): boolean => ts.every((t) => t.dtype === 'float32');
const { numel, sameShape } = shapes;





// ---- softmax / logSoftmax -------------------------------------------------------------------

function rowsOf(x: Tensor): { rows: number; N: number } {
  const N = x.shape[x.ndim - 1]!;
  return { rows: x.size / N, N };
}

function softmaxLike(x: Tensor, log: boolean): Tensor {
  if (x.ndim === 0 || x.size === 0 || !isF32(x)) return log ? logSoftmaxComposite(x) : softmaxComposite(x);
  const { rows, N } = rowsOf(x);
  const xc = f32(x);
  const y = alloc(x, x.shape);
  (log ? logSoftmaxForward : softmaxForward)(buf(xc), y.b, rows, N);
  return record(y.t, log ? 'logSoftmax' : 'softmax', [x], (g) => {
    const gc = f32(g);
    const dx = alloc(x, x.shape);
    (log ? logSoftmaxBackward : softmaxBackward)(y.b, buf(gc), dx.b, rows, N);
    return [dx.t];
  });
}

// ---- rmsNorm ------------------------------------------------------------------------------------

function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  if (x.ndim === 0 || x.size === 0 || !isF32(x, weight)) return rmsNormComposite(x, weight, eps);
  const { rows, N } = rowsOf(x);
  const xc = f32(x);
  const wc = f32(weight);
  const y = alloc(x, x.shape);
  const rinv = alloc(x, [rows]);
  rmsNormForward(buf(xc), buf(wc), y.b, rinv.b, rows, N, eps);
  return record(y.t, 'rmsNorm', [x, weight], (g) => {
    const gc = f32(g);
    const dx = x.requiresGrad ? alloc(x, x.shape) : null;
    const dw = weight.requiresGrad ? alloc(x, [N]) : null;
    rmsNormBackward(buf(xc), buf(wc), buf(gc), rinv.b, dx?.b ?? null, dw?.b ?? null, rows, N);
    return [dx?.t ?? null, dw?.t ?? null];
  });
}

// ---- rotary -------------------------------------------------------------------------------------

/** HF rotate_half, for the (composite) cos/sin gradients. */
function rotateHalf(x: Tensor): Tensor {
  const half = x.shape[x.ndim - 1]! / 2;
  return cat([x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)], -1);
}

/** Offset and 4-D strides of t broadcast to `shape` (4-D), or null if it does not broadcast there. */
function tableLayout(t: Tensor, shape: readonly number[]): TableLayout | null {
  if (t.ndim > 4) return null;
  const lead = 4 - t.ndim;
  const strides: number[] = [];
  for (let i = 0; i < 4; i++) {
    const j = i - lead;
    if (j < 0) strides.push(0);
    else if (t.shape[j] === shape[i]) strides.push(t.shape[j] === 1 ? 0 : t.strides[j]!);
    else if (t.shape[j] === 1) strides.push(0);
    else return null;
  }
  if (strides.some((s) => s < 0)) return null;
  return { offset: t.offset, strides: strides as unknown as TableLayout['strides'] };
}


function rotaryEmbedding(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  const D = x.shape[x.ndim - 1]!;
  if (x.ndim === 0 || x.ndim > 4 || x.size === 0 || !isF32(x, cos, sin) || D % 2 !== 0) return rotaryComposite(x, cos, sin);
  const dims = [...Array<number>(4 - x.ndim).fill(1), ...x.shape] as [number, number, number, number];
  const cl = tableLayout(cos, dims);
  const sl = tableLayout(sin, dims);
  if (!cl || !sl) return rotaryComposite(x, cos, sin);
  const shape: RotaryShape = { dims, cos: cl, sin: sl };
  const xc = f32(x);
  const out = alloc(x, x.shape);
  rotaryForward(buf(xc), buf(cos), buf(sin), out.b, shape);
  return record(out.t, 'rotaryEmbedding', [x, cos, sin], (g) => {
    const gc = f32(g);
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      const d = alloc(x, x.shape);
      rotaryBackward(buf(gc), buf(cos), buf(sin), d.b, shape);
      dx = d.t;
    }
    const dcos = cos.requiresGrad ? sumTo(gc.mul(x), cos.shape) : null;
    const dsin = sin.requiresGrad ? sumTo(gc.mul(rotateHalf(x)), sin.shape) : null;
    return [dx, dcos, dsin];
  });
}

// ---- attention ----------------------------------------------------------------------------------

/** Layout of a [B, heads, T, D] view with d contiguous, or null (then it is copied). */
function layout3(t: Tensor): Layout3 | null {
  if (t.shape[3]! > 1 && t.strides[3] !== 1) return null;
  if (t.strides.some((s) => s < 0)) return null;
  return { offset: t.offset, strides: [t.strides[0]!, t.strides[1]!, t.strides[2]!] };
}


function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const [B, H, Tq, D] = q.shape as [number, number, number, number];
  const [, Hkv, Tk] = k.shape as [number, number, number, number];
  const mask = opts.mask ?? null;
  if (!isF32(q, k, v) || D > 128 || q.size === 0 || k.size === 0 || B * Hkv > 65535) return attentionComposite(q, k, v, opts);
  const qv = layout3(q) ? q : q.contiguous();
  const kv = layout3(k) ? k : k.contiguous();
  const vv = layout3(v) ? v : v.contiguous();
  let mv: Tensor | null = null;
  let maskLayout: AttentionShape['mask'] = null;
  if (mask) {
    if (mask.ndim > 4) return attentionComposite(q, k, v, opts);
    mv = noGrad(() => (mask.dtype === 'float32' ? mask : mask.cast('float32')).expand([B, H, Tq, Tk]));
    const st = mv.shape.map((d, i) => (d === 1 ? 0 : mv!.strides[i]!));
    if (st.some((s) => s < 0)) return attentionComposite(q, k, v, opts);
    maskLayout = { offset: mv.offset, strides: st as [number, number, number, number] };
  }
  const shape: AttentionShape = {
    B, H, Hkv, Tq, Tk, D, causal: !!opts.causal, scale: opts.scale ?? 1 / Math.sqrt(D),
    q: layout3(qv)!, k: layout3(kv)!, v: layout3(vv)!, mask: maskLayout,
  };
  checkAttentionShape(shape); // validates before allocating
  const o = alloc(q, [B, H, Tq, D]);
  const l = alloc(q, [B, H, Tq]);
  const mb = mv ? buf(mv) : null;
  attentionForward({ q: buf(qv), k: buf(kv), v: buf(vv), mask: mb, o: o.b, l: l.b }, shape);
  return record(o.t, 'attention', [q, k, v], (g) => {
    const gc = f32(g);
    const dq = alloc(q, [B, H, Tq, D]);
    const dk = alloc(q, [B, Hkv, Tk, D]);
    const dv = alloc(q, [B, Hkv, Tk, D]);
    attentionBackward({ q: buf(qv), k: buf(kv), v: buf(vv), mask: mb, o: o.b, l: l.b, dO: buf(gc), dq: dq.b, dk: dk.b, dv: dv.b }, shape);
    return [q.requiresGrad ? dq.t : null, k.requiresGrad ? dk.t : null, v.requiresGrad ? dv.t : null];
  });
}

// ---- KL and cross-entropy -----------------------------------------------------------------------

function klDivLogits(p: Tensor, q: Tensor): Tensor {
  if (p.ndim === 0 || p.size === 0 || !isF32(p, q)) return klDivLogitsComposite(p, q);
  const { rows, N } = rowsOf(p);
  const pc = f32(p);
  const qc = f32(q);
  const lead = p.shape.slice(0, -1);
  const kl = alloc(p, lead);
  const stats = alloc(p, [rows, 2]);
  klForward(buf(pc), buf(qc), kl.b, stats.b, rows, N);
  return record(kl.t, 'klDivLogits', [p, q], (g) => {
    const gc = f32(g);
    const dp = p.requiresGrad ? alloc(p, p.shape) : null;
    const dq = q.requiresGrad ? alloc(p, p.shape) : null;
    klBackward(buf(pc), buf(qc), stats.b, kl.b, buf(gc), dp?.b ?? null, dq?.b ?? null, rows, N);
    return [dp?.t ?? null, dq?.t ?? null];
  });
}

function crossEntropyLogits(logits: Tensor, targets: Tensor, ignoreIndex: number): Tensor {
  const [rows, N] = logits.shape as [number, number];
  if (logits.ndim !== 2 || logits.size === 0 || !isF32(logits) || targets.dtype !== 'int32') return crossEntropyComposite(logits, targets, ignoreIndex);
  const xc = f32(logits);
  const tc = targets.contiguous();
  const loss = alloc(logits, [rows]);
  const lse = alloc(logits, [rows]);
  crossEntropyForward(buf(xc), buf(tc), loss.b, lse.b, rows, N, ignoreIndex);
  return record(loss.t, 'crossEntropyLogits', [logits], (g) => {
    const gc = f32(g);
    const dx = alloc(logits, [rows, N]);
    crossEntropyBackward(buf(xc), buf(tc), lse.b, buf(gc), dx.b, rows, N, ignoreIndex);
    return [dx.t];
  });
}

// ---- steering -----------------------------------------------------------------------------------

function addSteering(h: Tensor, vectors: Tensor, coeffs: Tensor, mask: Tensor): Tensor {
  const [B, T, D] = h.shape as [number, number, number];
  const K = coeffs.shape[1]!;
  if (h.size === 0 || K === 0 || !isF32(h, vectors, coeffs) || B > 65535 || K > 65535) return addSteeringComposite(h, vectors, coeffs, mask);
  const s: SteeringShape = { B, T, D, K, perSequence: vectors.ndim === 3 };
  const hc = f32(h);
  const vc = f32(vectors);
  const cc = f32(coeffs);
  const mc = noGrad(() => f32(mask));
  const out = alloc(h, h.shape);
  steeringForward(buf(hc), buf(vc), buf(cc), buf(mc), out.b, s);
  return record(out.t, 'addSteering', [h, vectors, coeffs], (g) => {
    const needV = vectors.requiresGrad;
    const needC = coeffs.requiresGrad;
    let dv: Tensor | null = null;
    let dc: Tensor | null = null;
    if (needV || needC) {
      const gc = f32(g);
      const dvb = needV ? alloc(h, vectors.shape) : null;
      const dcb = needC ? alloc(h, coeffs.shape) : null;
      steeringBackward(buf(gc), buf(vc), buf(cc), buf(mc), dvb?.b ?? null, dcb?.b ?? null, s);
      dv = dvb?.t ?? null;
      dc = dcb?.t ?? null;
    }
    return [h.requiresGrad ? g : null, dv, dc];
  });
}

/** The FusedOps of the WebGPU backend. */
export const fusedOps: FusedOps = {
  softmax: (x) => softmaxLike(x, false),
  logSoftmax: (x) => softmaxLike(x, true),
  rmsNorm,
  rotaryEmbedding,
  attention,
  klDivLogits,
  crossEntropyLogits,
  addSteering,
  adamw: (p, g, m, v, h) => adamwStep(p, g, m, v, h),
};

// ---- optimizer hook -----------------------------------------------------------------------------

/**
 * One in-place AdamW step on 'webgpu' tensors (torch semantics, as optim.AdamW.step): param,
 * m and v are updated in place (their storages must be contiguous float32 of param's size, m
 * and v zero-initialised before step 1); grad is read. One dispatch.
 */
export function adamwStep(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, h: AdamWParams): void {
  for (const [name, t] of [['param', param], ['m', m], ['v', v]] as const) {
    if (t.dtype !== 'float32' || t.offset !== 0 || t.storage.length !== param.size || !sameShape(t.shape, param.shape)) {
      throw new Error(`adamwStep: ${name} must be a contiguous float32 tensor of shape [${param.shape}]`);
    }
  }
  const gc = noGrad(() => f32(grad));
  if (gc.size !== param.size) throw new Error(`adamwStep: grad of shape [${grad.shape}] does not match param [${param.shape}]`);
  adamwUpdate(buf(param), buf(gc), buf(m), buf(v), numel(param.shape), h, currentBatch());
}
