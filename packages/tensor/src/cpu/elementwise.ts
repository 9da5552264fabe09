// Strided elementwise loops for the CPU backend.
//
// Each op's scalar expression is compiled once into a specialised JS loop with `new Function`
// (the same idea as tinygrad's codegen), so the hot loop has no per-element dispatch and V8
// can optimise it. Dims are collapsed first, so contiguous or simply-broadcast inputs run
// as one long inner loop.
import type { TypedArray } from '../backend.ts';
import { collapseDims } from '../shape.ts';

export interface StridedInput {
  data: TypedArray;
  offset: number;
  strides: readonly number[];
}

type Kernel = (out: TypedArray, shape: number[], strides: number[][], offs: number[], ...arrays: TypedArray[]) => void;

const kernels = new Map<string, Kernel>();

function compile(nIn: number, expr: string): Kernel {
  const names = ['a', 'b', 'c'].slice(0, nIn);
  const ks = names.map((_, k) => k);
  const src = `
    return function kernel(out, shape, strides, offs, ${ks.map((k) => `A${k}`).join(', ')}) {
      const nd = shape.length, n = out.length;
      if (n === 0) return;
      const inner = shape[nd - 1];
      ${ks.map((k) => `const s${k} = strides[${k}][nd - 1], st${k} = strides[${k}]; let i${k} = offs[${k}];`).join('\n')}
      const idx = new Int32Array(nd);
      for (let o = 0; o < n; o += inner) {
        for (let j = 0, ${ks.map((k) => `p${k} = i${k}`).join(', ')}; j < inner; j++, ${ks.map((k) => `p${k} += s${k}`).join(', ')}) {
          ${names.map((nm, k) => `const ${nm} = A${k}[p${k}];`).join(' ')}
          out[o + j] = ${expr};
        }
        for (let d = nd - 2; d >= 0; d--) {
          ${ks.map((k) => `i${k} += st${k}[d];`).join(' ')}
          if (++idx[d] < shape[d]) break;
          idx[d] = 0;
          ${ks.map((k) => `i${k} -= st${k}[d] * shape[d];`).join(' ')}
        }
      }
    };`;
  return new Function('erf', src)(erf) as Kernel;
}

/** out[i] = expr(inputs at i), for inputs already broadcast to `shape`. */
export function elementwise(expr: string, out: TypedArray, shape: readonly number[], inputs: StridedInput[]): void {
  const key = `${inputs.length}:${expr}`;
  let k = kernels.get(key);
  if (!k) {
    k = compile(inputs.length, expr);
    kernels.set(key, k);
  }
  const c = collapseDims(shape, inputs.map((x) => x.strides));
  k(out, c.shape, c.strides, inputs.map((x) => x.offset), ...inputs.map((x) => x.data));
}

/** Strided in-place write: dst view ← src view (same shape). */
export function assignStrided(dst: StridedInput, src: StridedInput, shape: readonly number[]): void {
  const c = collapseDims(shape, [dst.strides, src.strides]);
  const nd = c.shape.length;
  const total = c.shape.reduce((p, d) => p * d, 1);
  const [ds, ss] = c.strides as [number[], number[]];
  const inner = c.shape[nd - 1]!;
  const idx = new Int32Array(nd);
  let di = dst.offset;
  let si = src.offset;
  for (let o = 0; o < total; o += inner) {
    for (let j = 0; j < inner; j++) dst.data[di + j * ds[nd - 1]!] = src.data[si + j * ss[nd - 1]!]!;
    for (let d = nd - 2; d >= 0; d--) {
      di += ds[d]!;
      si += ss[d]!;
      if (++idx[d]! < c.shape[d]!) break;
      idx[d] = 0;
      di -= ds[d]! * c.shape[d]!;
      si -= ss[d]! * c.shape[d]!;
    }
  }
}

/**
 * erf to double precision: the all-positive series
 * erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)) has no cancellation;
 * beyond |x| = 6, erf is ±1 to double precision.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  let term = ax;
  let sum = ax;
  const x2 = 2 * ax * ax;
  for (let n = 1; n < 200; n++) {
    term *= x2 / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
}
