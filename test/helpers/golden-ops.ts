// The PyTorch op goldens (reference/goldens/ops.json): their format, the op dispatch table, and
// one runner shared by the CPU test (test/tensor/golden-ops.test.ts), the WebGPU one, and the
// browser test's page (test/browser/checks.page.ts) — so nothing here may need Node.
import goldenJson from '../../reference/goldens/ops.json' with { type: 'json' };
import {
  Tensor, tensor, cat, stack, where, gather, indexSelect, embedding, maskedFill,
  triu, tril, causalMask, rmsNorm, rotaryEmbedding, crossEntropy, klDiv,
} from '@kts/tensor';
// ---------------------------------------------------------------------------
// golden file format
// ---------------------------------------------------------------------------
/** Non-finite floats are stored as the strings "Infinity" / "-Infinity" / "NaN". */
type Num = number | string;
type DT = 'float32' | 'int32';
type View =
  | { transpose: [number, number] }
  | { permute: number[] }
  | { slice: [number, number, number, number] }
  | { expand: number[] };

interface Arr { shape: number[]; data: Num[]; dtype?: DT }
interface Input extends Arr { dtype: DT; view: View | null; grad: boolean }
interface Attrs {
  other?: number;                     // binary ops / comparisons with a plain-number operand
  approximate?: 'none' | 'tanh';      // gelu
  axes?: number | number[];           // sum mean max min logsumexp var
  axis?: number;                      // argmax softmax logSoftmax squeeze unsqueeze narrow slice cat stack gather indexSelect
  keepdim?: boolean;
  shape?: number[];                   // reshape view expand
  a?: number; b?: number;             // transpose
  dims?: number[];                    // permute
  start?: number; end?: number; step?: number; length?: number; // narrow slice flatten
  k?: number;                         // triu tril
  value?: Num;                        // maskedFill
  T?: number;                         // causalMask
  dtype?: DT;                         // cast
  eps?: number;                       // rmsNorm
  ignoreIndex?: number;               // crossEntropy
  reduction?: 'mean' | 'sum' | 'none' | 'batchmean'; // crossEntropy klDiv
  logTarget?: boolean;                // klDiv
}
export interface Case {
  name: string;
  op: string;
  attrs: Attrs;
  note?: string;
  inputs: Input[];
  output: Arr;
  weight: Arr | null;
  grads: (Arr | null)[];
  rtol: number;
  atol: number;
}
interface Golden { torch: string; cases: Case[] }

export const golden = goldenJson as Golden;

/** The few assertions the runner needs, without node:assert (it runs in a browser too). */
const assert: {
  ok(value: unknown, message: string): asserts value;
  equal(actual: unknown, expected: unknown, message: string): void;
  deepEqual(actual: unknown, expected: unknown, message: string): void;
} = {
  ok(value, message) {
    if (!value) throw new Error(message);
  },
  equal(actual, expected, message) {
    if (actual !== expected) throw new Error(`${message}: got ${String(actual)}, expected ${String(expected)}`);
  },
  deepEqual(actual, expected, message) {
    const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
    if (a !== e) throw new Error(`${message}: got ${a}, expected ${e}`);
  },
};

// ---------------------------------------------------------------------------
// dispatch: op name in ops.json -> call of the @kts/tensor API
// ---------------------------------------------------------------------------
type Op = (xs: Tensor[], a: Attrs) => Tensor;

/** The second operand: a plain number (attrs.other) or the second input tensor. */
const rhs = (xs: Tensor[], a: Attrs): Tensor | number => a.other ?? xs[1]!;
const axes = (a: Attrs): number | number[] | undefined => a.axes;

/** The dispatch table: op name → a call of the @kts/tensor API, for tensors on `device`. */
export function opsFor(device: string): Record<string, Op> {
  return {
    // elementwise binary (broadcasting) and comparisons
    add: (x, a) => x[0]!.add(rhs(x, a)),
    sub: (x, a) => x[0]!.sub(rhs(x, a)),
    mul: (x, a) => x[0]!.mul(rhs(x, a)),
    div: (x, a) => x[0]!.div(rhs(x, a)),
    pow: (x, a) => x[0]!.pow(rhs(x, a)),
    maximum: (x, a) => x[0]!.maximum(rhs(x, a)),
    minimum: (x, a) => x[0]!.minimum(rhs(x, a)),
    lt: (x, a) => x[0]!.lt(rhs(x, a)),
    gt: (x, a) => x[0]!.gt(rhs(x, a)),
    le: (x, a) => x[0]!.le(rhs(x, a)),
    ge: (x, a) => x[0]!.ge(rhs(x, a)),
    eq: (x, a) => x[0]!.eq(rhs(x, a)),
    // elementwise unary
    neg: ([x]) => x!.neg(),
    exp: ([x]) => x!.exp(),
    log: ([x]) => x!.log(),
    sqrt: ([x]) => x!.sqrt(),
    rsqrt: ([x]) => x!.rsqrt(),
    abs: ([x]) => x!.abs(),
    sigmoid: ([x]) => x!.sigmoid(),
    silu: ([x]) => x!.silu(),
    gelu: ([x], a) => (a.approximate === undefined ? x!.gelu() : x!.gelu(a.approximate)),
    tanh: ([x]) => x!.tanh(),
    relu: ([x]) => x!.relu(),
    square: ([x]) => x!.square(),
    cast: ([x], a) => x!.cast(a.dtype!),
    // matmul
    matmul: ([x, y]) => x!.matmul(y!),
    // reductions
    sum: ([x], a) => x!.sum(axes(a), a.keepdim),
    mean: ([x], a) => x!.mean(axes(a), a.keepdim),
    max: ([x], a) => x!.max(axes(a), a.keepdim),
    min: ([x], a) => x!.min(axes(a), a.keepdim),
    argmax: ([x], a) => x!.argmax(a.axis!, a.keepdim),
    softmax: ([x], a) => x!.softmax(a.axis!),
    logSoftmax: ([x], a) => x!.logSoftmax(a.axis!),
    logsumexp: ([x], a) => x!.logsumexp(axes(a)!, a.keepdim),
    var: ([x], a) => x!.var(axes(a)!, a.keepdim),
    // views / shape
    reshape: ([x], a) => x!.reshape(a.shape!),
    view: ([x], a) => x!.view(a.shape!),
    transpose: ([x], a) => x!.transpose(a.a!, a.b!),
    T: ([x]) => x!.T,
    permute: ([x], a) => x!.permute(...a.dims!),
    contiguous: ([x]) => x!.contiguous(),
    expand: ([x], a) => x!.expand(a.shape!),
    squeeze: ([x], a) => (a.axis === undefined ? x!.squeeze() : x!.squeeze(a.axis)),
    unsqueeze: ([x], a) => x!.unsqueeze(a.axis!),
    narrow: ([x], a) => x!.narrow(a.axis!, a.start!, a.length!),
    slice: ([x], a) => (a.step === undefined
      ? x!.slice(a.axis!, a.start!, a.end!)
      : x!.slice(a.axis!, a.start!, a.end!, a.step)),
    flatten: ([x], a) => x!.flatten(a.start, a.end),
    // joining / indexing
    cat: (xs, a) => cat(xs, a.axis!),
    stack: (xs, a) => stack(xs, a.axis!),
    gather: ([x, index], a) => gather(x!, a.axis!, index!),
    indexSelect: ([x, index], a) => indexSelect(x!, a.axis!, index!),
    embedding: ([weight, ids]) => embedding(weight!, ids!),
    where: ([cond, x, y]) => where(cond!, x!, y!),
    maskedFill: ([x, mask], a) => maskedFill(x!, mask!, Number(a.value)),
    triu: ([x], a) => (a.k === undefined ? triu(x!) : triu(x!, a.k)),
    tril: ([x], a) => (a.k === undefined ? tril(x!) : tril(x!, a.k)),
    causalMask: (_, a) => causalMask(a.T!, { device }),
    // model ops
    rmsNorm: ([x, w], a) => rmsNorm(x!, w!, a.eps!),
    rotaryEmbedding: ([x, cos, sin]) => rotaryEmbedding(x!, cos!, sin!),
    crossEntropy: ([logits, targets], a) =>
      crossEntropy(logits!, targets!, { ignoreIndex: a.ignoreIndex, reduction: a.reduction as 'mean' | 'sum' | 'none' }),
    klDiv: ([input, target], a) => klDiv(input!, target!, { reduction: a.reduction!, logTarget: a.logTarget }),
  };
}

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------
export function build(x: Arr & { dtype?: DT }, requiresGrad = false, device = 'cpu'): Tensor {
  const dtype = x.dtype ?? 'float32';
  const data = dtype === 'int32' ? Int32Array.from(x.data, Number) : Float32Array.from(x.data, Number);
  return tensor(data, x.shape, { dtype, requiresGrad, device });
}

export function applyView(t: Tensor, v: View | null): Tensor {
  if (v === null) return t;
  if ('transpose' in v) return t.transpose(v.transpose[0], v.transpose[1]);
  if ('permute' in v) return t.permute(...v.permute);
  if ('slice' in v) return t.slice(v.slice[0], v.slice[1], v.slice[2], v.slice[3]);
  if ('expand' in v) return t.expand(v.expand);
  throw new Error(`unknown view ${JSON.stringify(v)}`);
}

/** allclose: |got - want| <= atol + rtol*|want|; equal infinities and NaN==NaN pass. */
export function assertClose(what: string, got: ArrayLike<number>, want: Arr, rtol: number, atol: number): void {
  const w = want.data.map(Number);
  assert.equal(got.length, w.length, `${what}: ${got.length} elements, expected ${w.length}`);
  let bad = 0;
  let first = '';
  for (let i = 0; i < w.length; i++) {
    const g = got[i]!;
    const e = w[i]!;
    const ok = Number.isNaN(e) ? Number.isNaN(g)
      : !Number.isFinite(e) ? g === e
      : Math.abs(g - e) <= atol + rtol * Math.abs(e);
    if (!ok && bad++ === 0) first = `[${i}] got ${g}, expected ${e} (|diff| ${Math.abs(g - e).toExponential(2)})`;
  }
  assert.equal(bad, 0, `${what}: ${bad}/${w.length} elements off (rtol ${rtol}, atol ${atol}); first ${first}`);
}

export function assertExact(what: string, got: ArrayLike<number>, want: Arr): void {
  assert.deepEqual(Array.from(got), want.data.map(Number), `${what}: int values differ`);
}

/**
 * Runs one golden case on `device`: output (allclose / exact for int32), then the gradient of
 * loss = sum(out · w) for every input base tensor. Tolerances are the case's, widened to at least
 * `minTol` (the WebGPU backend accumulates in f32).
 */
export async function runGoldenCase(c: Case, device: string, minTol = { rtol: 0, atol: 0 }): Promise<void> {
  const fn = opsFor(device)[c.op];
  assert.ok(fn, `no dispatch entry for op '${c.op}' (add one to opsFor in test/helpers/golden-ops.ts)`);
  const rtol = Math.max(c.rtol, minTol.rtol);
  const atol = Math.max(c.atol, minTol.atol);
  const bases = c.inputs.map((inp) => build(inp, inp.grad, device));
  const args = bases.map((b, i) => applyView(b, c.inputs[i]!.view));
  const out = fn(args, c.attrs);

  const ctx = `${c.name}${c.note ? ` (${c.note})` : ''}`;
  assert.deepEqual(out.shape, c.output.shape, `${ctx}: output shape`);
  const outDtype = c.output.dtype ?? 'float32';
  assert.equal(out.dtype, outDtype, `${ctx}: output dtype`);
  assert.equal(out.device, device, `${ctx}: output device`);
  const got = await out.data();
  if (outDtype === 'int32') assertExact(`${ctx}: output`, got, c.output);
  else assertClose(`${ctx}: output`, got, c.output, rtol, atol);

  if (c.weight === null) return; // not differentiated (comparisons, argmax, int ops, causalMask)
  out.mul(build(c.weight, false, device)).sum().backward();
  for (let i = 0; i < c.inputs.length; i++) {
    const want = c.grads[i];
    if (!want) continue;
    const g = bases[i]!.grad;
    assert.ok(g, `${ctx}: input ${i} has no .grad`);
    assert.deepEqual(g.shape, want.shape, `${ctx}: grad ${i} shape`);
    assert.equal(g.device, device, `${ctx}: grad ${i} device`);
    assertClose(`${ctx}: grad of input ${i}`, await g.data(), want, rtol, atol);
  }
}
