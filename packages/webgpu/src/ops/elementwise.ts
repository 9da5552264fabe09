// Unary / binary / where / copy / assign / fill on WebGPU: each op is a WGSL expression run by
// the generic strided kernel (kernels/elementwise.ts). Semantics follow the CPU backend
// (packages/tensor/src/cpu/backend.ts): NaN-propagating max/min, JS Math.pow, 0/1 comparisons.
import { type BinaryOp, type DType, type UnaryOp, type View, shapes } from '@kts/tensor';
import { WebGPUError } from '../device.ts';
import { elementwise, type EwOperand, type WType } from '../kernels/elementwise.ts';
import { allocStorage, asStorage, disposeStorage, wtype, type WebGPUStorage } from './storage.ts';

const UNARY_F32: Record<UnaryOp, string> = {
  neg: '-a',
  exp: 'exp(a)',
  log: 'klog(a)',
  sqrt: 'ksqrt(a)',
  rsqrt: '1.0 / ksqrt(a)',
  recip: '1.0 / a',
  abs: 'abs(a)',
  sign: 'ksign(a)',
  tanh: 'ktanh(a)',
  sigmoid: '1.0 / (1.0 + exp(-a))',
  erf: 'kerf(a)',
  sin: 'sin(a)',
  cos: 'cos(a)',
};
const UNARY_I32: Partial<Record<UnaryOp, string>> = {
  neg: '-a',
  abs: 'abs(a)',
  sign: 'sign(a)',
};

const BINARY_F32: Record<BinaryOp, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  pow: 'kpow(a, b)',
  max: 'select(b, a, a > b || isnanf(a))',
  min: 'select(b, a, a < b || isnanf(a))',
  lt: 'select(0.0, 1.0, a < b)',
  le: 'select(0.0, 1.0, a <= b)',
  gt: 'select(0.0, 1.0, a > b)',
  ge: 'select(0.0, 1.0, a >= b)',
  eq: 'select(0.0, 1.0, a == b)',
};
const BINARY_I32: Partial<Record<BinaryOp, string>> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  max: 'max(a, b)',
  min: 'min(a, b)',
  lt: 'select(0, 1, a < b)',
  le: 'select(0, 1, a <= b)',
  gt: 'select(0, 1, a > b)',
  ge: 'select(0, 1, a >= b)',
  eq: 'select(0, 1, a == b)',
};

/** A view as a kernel operand. */
export function operand(v: View): EwOperand {
  const s = asStorage(v.storage);
  return { buffer: s.buffer, type: s.type, offset: v.offset, strides: v.strides };
}

function contiguousOut(s: WebGPUStorage, shape: readonly number[]): EwOperand {
  const strides = new Array<number>(shape.length);
  let st = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = st;
    st *= shape[i]!;
  }
  return { buffer: s.buffer, type: s.type, offset: 0, strides };
}


/** out = expr(inputs) into a new contiguous storage of `dtype`. */
export function map(expr: string, shape: readonly number[], inputs: readonly View[], dtype: DType, label?: string): WebGPUStorage {
  const out = allocStorage(shapes.numel(shape), dtype);
  elementwise(expr, shape, contiguousOut(out, shape), inputs.map(operand), { label });
  return out;
}

/** Conversion expression from `from` to `to` (JS semantics are ToInt32; WGSL saturates). */
function convert(from: WType, to: WType): string {
  return from === to ? 'a' : `${to}(a)`;
}

export function unary(op: UnaryOp, x: View, dtype: DType): WebGPUStorage {
  const t = wtype(dtype);
  const expr = t === 'f32' ? UNARY_F32[op] : UNARY_I32[op];
  if (!expr) throw new WebGPUError(`webgpu: unary ${op} is not defined for int32 (cast to float32 first)`);
  return map(expr, x.shape, [asType(x, dtype)], dtype, op);
}


/** A view of `dtype` (copying/converting when the storage has another dtype). */
function asType(v: View, dtype: DType): View {
  if (asStorage(v.storage).dtype === dtype) return v;
  return { storage: copy(v, dtype), shape: v.shape, strides: shapes.contiguousStrides(v.shape), offset: 0 };
}

export function binary(op: BinaryOp, a: View, b: View, dtype: DType): WebGPUStorage {
  const t = wtype(dtype);
  const expr = t === 'f32' ? BINARY_F32[op] : BINARY_I32[op];
  if (!expr) throw new WebGPUError(`webgpu: binary ${op} is not defined for int32 (cast to float32 first)`);
  return map(expr, a.shape, [asType(a, dtype), asType(b, dtype)], dtype, op);
}

export function where(cond: View, a: View, b: View, dtype: DType): WebGPUStorage {
  const ct = asStorage(cond.storage).type;
  const zero = ct === 'f32' ? '0.0' : '0';
  return map(`select(c, b, a != ${zero})`, cond.shape, [cond, asType(a, dtype), asType(b, dtype)], dtype, 'where');
}

/** Contiguous copy, converting dtype. */
export function copy(x: View, dtype: DType): WebGPUStorage {
  const from = asStorage(x.storage).type;
  return map(convert(from, wtype(dtype)), x.shape, [x], dtype, 'copy');
}

export function full(length: number, value: number, dtype: DType): WebGPUStorage {
  const t = wtype(dtype);
  const out = allocStorage(length, dtype);
  let bits: number;
  if (t === 'i32') bits = value | 0;
  else bits = new Uint32Array(new Float32Array([value]).buffer)[0]!;
  elementwise(t === 'f16' ? 'f16(bitcast<f32>(p.bits))' : 'bitcast<__TO__>(p.bits)', [length], { buffer: out.buffer, type: t, offset: 0, strides: [1] }, [], {
    bits,
    label: 'full',
  });
  return out;
}

/** In place: dst view ← src view (same shape). */
export function assign(dst: View, src: View): void {
  const d = operand(dst);
  let s = operand(src);
  let tmp: WebGPUStorage | null = null;
  if (s.buffer === d.buffer) {
    // Source and destination share a buffer: copy the source out first (it may overlap).
    tmp = copy(src, asStorage(src.storage).dtype);
    s = { buffer: tmp.buffer, type: tmp.type, offset: 0, strides: shapes.contiguousStrides(src.shape) };
  }
  elementwise(convert(s.type, d.type), dst.shape, d, [s], { label: 'assign' });
  if (tmp) {
    // Released after recording: queue order keeps the pending read valid.
    disposeStorage(tmp);
  }
}
