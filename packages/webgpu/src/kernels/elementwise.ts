/**
 * Generator and dispatcher for kernels/elementwise.wgsl: one strided kernel per
 * (WGSL expression, dtype signature), used for unary/binary/where/copy(cast)/assign/fill.
 *
 *   out[view] = EXPR(a[view], b[view], c[view])
 *
 * Every operand is a strided view {buffer, offset, strides} (elements; stride 0 broadcasts).
 * Dims are collapsed first (adjacent dims every operand walks contiguously are merged, size-1
 * dims dropped) so contiguous or simply-broadcast operands run the nd == 1 fast path. Up to 8
 * dims go to the GPU; more leading dims are looped on the host (one dispatch per slice).
 * Workgroup size 256, 2-D grid (≤ 65535 per dim). Expressions use `a`, `b`, `c`; helper
 * functions (kerf, ktanh, kpow, klog, ksqrt, ksign) are included only when referenced.
 */
import { wgsl } from '@kts/kernels';
import { shapes } from '@kts/tensor';
import { WebGPUError } from '../device.ts';
import { currentBatch, type Batch } from '../dispatch.ts';

export const ELEMENTWISE_WGSL: string = wgsl['elementwise'];

/** Element types; 'f16' (float16 storage) needs the device feature shader-f16. */
export type WType = 'f32' | 'i32' | 'f16';
export const EW_MAX_DIMS = 8;
export const EW_WORKGROUP = 256;

/** A strided operand (element units). */
export interface EwOperand {
  buffer: GPUBuffer;
  type: WType;
  offset: number;
  strides: readonly number[];
}

const HELPERS: Record<string, string> = {
  klog: `fn klog(x: f32) -> f32 {
  if (isnanf(x) || x < 0.0) { return nanf(); }
  if (x == 0.0) { return -inff(); }
  return log(x);
}`,
  ksqrt: `fn ksqrt(x: f32) -> f32 {
  if (isnanf(x) || x < 0.0) { return nanf(); }
  return sqrt(x);
}`,
  ksign: `fn ksign(x: f32) -> f32 {
  if (isnanf(x)) { return x; }
  if (x > 0.0) { return 1.0; }
  if (x < 0.0) { return -1.0; }
  return x;
}`,
  // tanh: odd Taylor series below 0.25 (relative accuracy near 0), else (1 − e^−2|x|)/(1 + e^−2|x|)
  // (no overflow for large |x|, where builtin implementations may return NaN).
  ktanh: `fn ktanh(x: f32) -> f32 {
  if (isnanf(x)) { return x; }
  let ax = abs(x);
  if (ax < 0.25) {
    let x2 = x * x;
    return x * (1.0 + x2 * (-0.33333333333 + x2 * (0.13333333333 + x2 * (-0.053968253968 + x2 * 0.021869488536))));
  }
  let t = exp(-2.0 * ax);
  let r = (1.0 - t) / (1.0 + t);
  return select(r, -r, x < 0.0);
}`,
  // erf: |x| < 1.5: the all-positive series 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(1·3·…·(2n+1)) (as the CPU
  // backend, no cancellation, 24 terms); else Abramowitz–Stegun 7.1.26 (|error| ≤ 1.5e-7, and
  // erf ≥ 0.966 there, so relative ≤ 1.6e-7); ±1 beyond 4 (f32 erf(4) rounds to 1).
  kerf: `fn kerf(x: f32) -> f32 {
  if (isnanf(x)) { return x; }
  let ax = abs(x);
  var r: f32;
  if (ax < 1.5) {
    var term = ax;
    var sum = ax;
    let x2 = 2.0 * ax * ax;
    for (var n = 1; n < 24; n++) {
      term *= x2 / f32(2 * n + 1);
      sum += term;
    }
    r = 1.1283791670955126 * exp(-ax * ax) * sum;
  } else if (ax < 4.0) {
    let t = 1.0 / (1.0 + 0.3275911 * ax);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    r = 1.0 - poly * exp(-ax * ax);
  } else {
    r = 1.0;
  }
  return select(r, -r, x < 0.0);
}`,
  // pow with JavaScript Math.pow semantics: x^0 = 1 (even NaN), NaN otherwise propagates,
  // negative bases with integer exponents get the sign of (−1)^b, non-integer → NaN.
  kpow: `fn kpow(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (isnanf(a) || isnanf(b)) { return nanf(); }
  if (b == 1.0) { return a; }
  if (b == 2.0) { return a * a; }
  if (b == -1.0) { return 1.0 / a; }
  if (b == 0.5 && a >= 0.0) { return sqrt(a); }
  let ax = abs(a);
  var r: f32;
  if (ax == 0.0) {
    r = select(inff(), 0.0, b > 0.0);
  } else {
    r = exp2(b * log2(ax));
  }
  if (a < 0.0 || (a == 0.0 && (bitcast<u32>(a) & 0x80000000u) != 0u)) {
    if (floor(b) != b) { return select(nanf(), r, a == 0.0); }
    let h = b * 0.5;
    if (floor(h) != h) { r = -r; }
  }
  return r;
}`,
};

const NAMES = ['a', 'b', 'c'] as const;
const BUFS = ['A', 'B', 'C'] as const;

/** WGSL source for `expr` over inputs of the given types, writing `out`. */
export function elementwiseSource(expr: string, out: WType, inputs: readonly WType[]): string {
  if (inputs.length > 3) throw new WebGPUError(`elementwise: at most 3 inputs, got ${inputs.length}`);
  const decls = inputs
    .map((t, k) => `@group(0) @binding(${k + 1}) var<storage, read> ${BUFS[k]}: array<${t}>;`)
    .join('\n');
  const loads = inputs.map((_, k) => `  let ${NAMES[k]} = ${BUFS[k]}[i${NAMES[k]}];`).join('\n');
  const helpers = Object.entries(HELPERS)
    .filter(([name]) => expr.includes(name))
    .map(([, src]) => src)
    .join('\n\n');
  const f16 = out === 'f16' || inputs.includes('f16') ? 'enable f16;\n' : '';
  return f16 + ELEMENTWISE_WGSL.replace('__DECLS__', decls)
    .replace('__UB__', String(inputs.length + 1))
    .replace('__HELPERS__', helpers)
    .replace('__LOADS__', loads)
    .replace('__EXPR__', expr)
    .replaceAll('__TO__', out);
}

const sourceCache = new Map<string, string>();
function cachedSource(expr: string, out: WType, inputs: readonly WType[]): string {
  const key = `${expr}\u0000${out}\u0000${inputs.join(',')}`;
  let s = sourceCache.get(key);
  if (!s) sourceCache.set(key, (s = elementwiseSource(expr, out, inputs)));
  return s;
}

/** Shared with the CPU backend: merges dims every operand walks contiguously. */
export const collapseDims = shapes.collapseDims;

/** Uniform block for one dispatch (layout of `Params` in the WGSL). */
function uniforms(n: number, shape: readonly number[], offs: readonly number[], strides: readonly (readonly number[])[], bits: number, rowThreads: number): Uint32Array {
  const u = new Uint32Array(52);
  u[0] = n;
  u[1] = shape.length;
  u[2] = rowThreads;
  u[3] = bits >>> 0;
  for (let k = 0; k < 4; k++) u[4 + k] = offs[k] ?? 0;
  shape.forEach((s, d) => (u[8 + d] = s));
  for (let k = 0; k < 4; k++) {
    const st = strides[k];
    if (st) st.forEach((s, d) => (u[16 + 8 * k + d] = s));
  }
  u[48] = 0x7fc00000;
  u[49] = 0x7f800000;
  return u;
}

/** Grid for n invocations of a 1-D kernel with `wg` invocations per workgroup. */
export function grid1d(n: number, wg: number): { workgroups: [number, number]; rowThreads: number } {
  const groups = Math.max(1, Math.ceil(n / wg));
  const gx = Math.min(groups, 65535);
  const gy = Math.ceil(groups / gx);
  if (gy > 65535) throw new WebGPUError(`kernel grid of ${groups} workgroups exceeds 65535²`);
  return { workgroups: [gx, gy], rowThreads: gx * wg };
}

/**
 * Records out ← expr(inputs) over `shape`. `bits` is the fill value's bit pattern (the
 * expression can read it as `bitcast<TO>(p.bits)`).
 */
export function elementwise(
  expr: string,
  shape: readonly number[],
  out: EwOperand,
  inputs: readonly EwOperand[],
  opts: { bits?: number; label?: string; batch?: Batch } = {},
): void {
  const n = shape.reduce((p, d) => p * d, 1);
  if (n === 0) return;
  for (const x of inputs) {
    if (x.buffer === out.buffer) throw new WebGPUError('elementwise: an input aliases the output buffer (copy it first)');
  }
  const code = cachedSource(expr, out.type, inputs.map((x) => x.type));
  const all = [out, ...inputs];
  const c = collapseDims(shape, all.map((x) => x.strides));
  const batch = opts.batch ?? currentBatch();
  const run = (cshape: number[], offs: number[], strides: number[][]): void => {
    const m = cshape.reduce((p, d) => p * d, 1);
    const g = grid1d(m, EW_WORKGROUP);
    batch.dispatch({
      code,
      buffers: all.map((x) => x.buffer),
      uniforms: uniforms(m, cshape, offs, strides, opts.bits ?? 0, g.rowThreads),
      workgroups: g.workgroups,
      label: opts.label ?? expr,
    });
  };
  const offs0 = all.map((x) => x.offset);
  const lead = c.shape.length - EW_MAX_DIMS;
  if (lead <= 0) {
    run(c.shape, offs0, c.strides);
    return;
  }
  // More than 8 dims after collapsing: loop over the leading dims on the host.
  const leadShape = c.shape.slice(0, lead);
  const inner = c.shape.slice(lead);
  const innerStrides = c.strides.map((s) => s.slice(lead));
  const nLead = leadShape.reduce((p, d) => p * d, 1);
  const idx = new Array<number>(lead).fill(0);
  for (let f = 0; f < nLead; f++) {
    const offs = offs0.map((o, k) => o + idx.reduce((p, i, d) => p + i * c.strides[k]![d]!, 0));
    run(inner, offs, innerStrides);
    for (let d = lead - 1; d >= 0; d--) {
      if (++idx[d]! < leadShape[d]!) break;
      idx[d] = 0;
    }
  }
}
