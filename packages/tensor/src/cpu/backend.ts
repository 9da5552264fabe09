// The CPU backend: typed arrays and the primitive ops of backend.ts. float32 work goes to the
// WebAssembly SIMD kernels (wasm/, kernels/*.wat) where they cover it; the plain-TypeScript loops
// here are the reference, the fallback, and everything with KTS_CPU_KERNELS=js.
import type { Backend, BinaryOp, DType, ReduceOp, Storage, TypedArray, UnaryOp, View } from '../backend.ts';
import { contiguousStrides, isContiguous, numel, shapeStr, type Shape } from '../shape.ts';
import { assignStrided, elementwise, type StridedInput } from './elementwise.ts';
import { matmulStrided, type FloatArray } from './matmul.ts';
import { allocOutput } from './alloc.ts';
import { CpuStorage } from './storage.ts';
import { allocFloat, matmulParallel } from '#cpu-threads';
import { fusedOps } from './fused.ts';
import { elementwiseWasm, type ElementwiseOp } from './wasm/elementwise.ts';
import { matmulWasm } from './wasm/matmul.ts';
import { reduceWasm } from './wasm/reduce.ts';
import { wasmRuntime } from './wasm/runtime.ts';

export { CpuStorage };

/** Float arrays come on the WebAssembly heap or SharedArrayBuffers so kernels and workers can use them (alloc.ts). */
export function allocTyped(dtype: DType, n: number): TypedArray {
  if (dtype === 'int32') return new Int32Array(n);
  if (dtype === 'float16') throw new Error('the cpu backend does not store float16 (a WebGPU storage type for weights); use float32');
  return allocFloat(dtype, n);
}


const UNARY: Record<UnaryOp, string> = {
  neg: '-a',
  exp: 'Math.exp(a)',
  log: 'Math.log(a)',
  sqrt: 'Math.sqrt(a)',
  rsqrt: '1 / Math.sqrt(a)',
  recip: '1 / a',
  abs: 'Math.abs(a)',
  sign: 'Math.sign(a)',
  tanh: 'Math.tanh(a)',
  sigmoid: '1 / (1 + Math.exp(-a))',
  erf: 'erf(a)',
  sin: 'Math.sin(a)',
  cos: 'Math.cos(a)',
};

// max/min propagate NaN like torch.maximum/minimum.
const BINARY: Record<BinaryOp, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  pow: 'Math.pow(a, b)',
  max: '(a > b || a !== a) ? a : b',
  min: '(a < b || a !== a) ? a : b',
  lt: 'a < b ? 1 : 0',
  le: 'a <= b ? 1 : 0',
  gt: 'a > b ? 1 : 0',
  ge: 'a >= b ? 1 : 0',
  eq: 'a === b ? 1 : 0',
};

function input(v: View): StridedInput {
  return { data: (v.storage as CpuStorage).data, offset: v.offset, strides: v.strides };
}

function map(expr: string, shape: Shape, inputs: View[], dtype: DType): CpuStorage {
  const out = allocTyped(dtype, numel(shape));
  elementwise(expr, out, shape, inputs.map(input));
  return new CpuStorage(dtype, out);
}

/** An elementwise op on the kernels when they cover it (float32 in and out), else the TypeScript loop. */
function mapOp(e: ElementwiseOp, expr: string, shape: Shape, inputs: View[], dtype: DType): CpuStorage {
  const rt = dtype === 'float32' ? wasmRuntime() : null;
  const data = inputs.map((v) => (v.storage as CpuStorage).data);
  if (rt && data.every((d) => d instanceof Float32Array)) {
    const out = elementwiseWasm(rt, e, shape, inputs.map((v, k) => ({ data: data[k] as Float32Array, offset: v.offset, shape: v.shape, strides: v.strides })));
    if (out) return new CpuStorage(dtype, out);
  }
  return map(expr, shape, inputs, dtype);
}

/** The view's elements as a contiguous typed array, copying only when needed. */
function contiguousData(v: View): TypedArray {
  const d = (v.storage as CpuStorage).data;
  const n = numel(v.shape);
  if (isContiguous(v.shape, v.strides)) return v.offset === 0 && d.length === n ? d : d.subarray(v.offset, v.offset + n);
  return map('a', v.shape, [v], v.storage.dtype).data;
}

function reduce(op: ReduceOp, x: View, axes: readonly number[], dtype: DType): CpuStorage {
  const rt = dtype === 'float32' ? wasmRuntime() : null;
  const fast = rt && reduceWasm(rt, op, x, axes);
  if (fast) return new CpuStorage(dtype, fast);
  // Move reduced axes last, so each output element reduces one contiguous run of R values.
  const keep = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const order = [...keep, ...axes];
  const perm: View = { storage: x.storage, offset: x.offset, shape: order.map((i) => x.shape[i]!), strides: order.map((i) => x.strides[i]!) };
  const data = contiguousData(perm);
  const R = axes.reduce((p, a) => p * x.shape[a]!, 1);
  const nOut = keep.reduce((p, a) => p * x.shape[a]!, 1);
  const out = allocTyped(dtype, nOut);
  if (R === 0 && op !== 'sum') throw new Error(`${op}: cannot reduce over an empty dimension of shape ${shapeStr(x.shape)}`);
  for (let o = 0; o < nOut; o++) {
    const base = o * R;
    if (op === 'sum') {
      let s = 0; // accumulate in double precision
      for (let r = 0; r < R; r++) s += data[base + r]!;
      out[o] = s;
    } else if (op === 'max' || op === 'min') {
      let best = data[base]!;
      for (let r = 1; r < R; r++) {
        const v = data[base + r]!;
        if (v !== v) { best = v; break; }
        if (op === 'max' ? v > best : v < best) best = v;
      }
      out[o] = best;
    } else {
      let best = data[base]!;
      let bi = 0;
      for (let r = 1; r < R; r++) {
        const v = data[base + r]!;
        if (best !== best) break;
        if (v !== v || (op === 'argmax' ? v > best : v < best)) { best = v; bi = r; }
      }
      out[o] = bi;
    }
  }
  return new CpuStorage(dtype, out);
}

function matmul(a: View, b: View, dtype: DType): CpuStorage {
  const nd = a.shape.length;
  const M = a.shape[nd - 2]!;
  const K = a.shape[nd - 1]!;
  const N = b.shape[nd - 1]!;
  const batchShape = a.shape.slice(0, nd - 2);
  const nb = numel(batchShape);
  const A = (a.storage as CpuStorage).data as Float32Array | Float64Array;
  const B = (b.storage as CpuStorage).data as Float32Array | Float64Array;
  const rt = dtype === 'float32' && A instanceof Float32Array && B instanceof Float32Array ? wasmRuntime() : null;
  const out = rt ? allocOutput(nb * M * N) : allocTyped(dtype, nb * M * N);
  const C = out as Float32Array | Float64Array;
  const items: [number, number, number][] = [];
  const idx = new Array<number>(batchShape.length).fill(0);
  for (let bi = 0; bi < nb; bi++) {
    let ao = a.offset;
    let bo = b.offset;
    for (let d = 0; d < batchShape.length; d++) {
      ao += idx[d]! * a.strides[d]!;
      bo += idx[d]! * b.strides[d]!;
    }
    items.push([ao, bo, bi * M * N]);
    for (let d = batchShape.length - 1; d >= 0; d--) {
      if (++idx[d]! < batchShape[d]!) break;
      idx[d] = 0;
    }
  }
  const [ars, acs, brs, bcs] = [a.strides[nd - 2]!, a.strides[nd - 1]!, b.strides[nd - 2]!, b.strides[nd - 1]!];
  if (rt && K === 0) {
    out.fill(0);
    return new CpuStorage(dtype, out);
  }
  const operand = (v: View, data: Float32Array | Float64Array) => ({ data: data as Float32Array, offset: v.offset, shape: v.shape, strides: v.strides });
  if (rt && C instanceof Float32Array && M * N > 0 && matmulWasm(rt, { a: operand(a, A), b: operand(b, B), items, M, N, K }, C)) {
    return new CpuStorage(dtype, out);
  }
  matmulTypeScript(A, ars, acs, B, brs, bcs, C, items, M, N, K);
  return new CpuStorage(dtype, out);
}

/**
 * The TypeScript matmul (KTS_CPU_KERNELS=js, float64, or a heap too full for the kernels): over
 * the threads when that pays, else matmulStrided per batch entry. Layout as matmulParallel's.
 */
export function matmulTypeScript(
  A: FloatArray, ars: number, acs: number, B: FloatArray, brs: number, bcs: number,
  C: FloatArray, items: readonly (readonly [number, number, number])[], M: number, N: number, K: number,
): void {
  if (matmulParallel(A, ars, acs, B, brs, bcs, C, items, M, N, K)) return;
  for (const [ao, bo, co] of items) matmulStrided(A, ao, ars, acs, B, bo, brs, bcs, C, co, M, N, K);
}

/** Visits every position of `shape`, giving the multi-index (reused array) and the flat position. */
function forEachIndex(shape: Shape, fn: (idx: number[], flat: number) => void): void {
  const n = numel(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let f = 0; f < n; f++) {
    fn(idx, f);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
}

function checkIndex(op: string, i: number, size: number, axis: number): void {
  if (!(i >= 0 && i < size)) throw new Error(`${op}: index ${i} is out of range for dim ${axis} of size ${size}`);
}

function gather(x: View, axis: number, index: View, dtype: DType): CpuStorage {
  const X = (x.storage as CpuStorage).data;
  const I = contiguousData(index);
  const out = allocTyped(dtype, numel(index.shape));
  const size = x.shape[axis]!;
  forEachIndex(index.shape, (idx, f) => {
    const i = I[f]!;
    checkIndex('gather', i, size, axis);
    let off = x.offset;
    for (let d = 0; d < idx.length; d++) off += (d === axis ? i : idx[d]!) * x.strides[d]!;
    out[f] = X[off]!;
  });
  return new CpuStorage(dtype, out);
}

function scatterAdd(shape: Shape, axis: number, index: View, src: View, dtype: DType): CpuStorage {
  const I = contiguousData(index);
  const S = contiguousData(src);
  const out = allocTyped(dtype, numel(shape));
  const strides = contiguousStrides(shape);
  const size = shape[axis]!;
  forEachIndex(index.shape, (idx, f) => {
    const i = I[f]!;
    checkIndex('scatterAdd', i, size, axis);
    let off = 0;
    for (let d = 0; d < idx.length; d++) off += (d === axis ? i : idx[d]!) * strides[d]!;
    out[off]! += S[f]!;
  });
  return new CpuStorage(dtype, out);
}

export const cpuBackend: Backend = {
  name: 'cpu',
  dtypes: ['float32', 'float64', 'int32'],
  fromArray: (data, dtype) => new CpuStorage(dtype, data),
  hostArray: allocFloat,
  full: (n, value, dtype) => new CpuStorage(dtype, allocTyped(dtype, n).fill(value)),
  read: async (v, dtype) => {
    const out = cpuBackend.readSync!(v, dtype);
    await wasmRuntime()?.heap.settle(); // an await point where heap blocks of dead tensors come back
    return out;
  },
  readSync: (v, dtype) => {
    // the caller keeps this array: an ordinary one, not a block of the kernels' heap
    const out = dtype === 'int32' ? new Int32Array(numel(v.shape)) : dtype === 'float32' ? new Float32Array(numel(v.shape)) : new Float64Array(numel(v.shape));
    elementwise('a', out, v.shape, [input(v)]);
    return out;
  },
  copy: (x, dtype) => mapOp({ kind: 'unary', op: 'copy' }, 'a', x.shape, [x], dtype),
  unary: (op, x, dtype) => mapOp({ kind: 'unary', op }, UNARY[op], x.shape, [x], dtype),
  binary: (op, a, b, dtype) => mapOp({ kind: 'binary', op }, BINARY[op], a.shape, [a, b], dtype),
  where: (c, a, b, dtype) => mapOp({ kind: 'where' }, 'a !== 0 ? b : c', c.shape, [c, a, b], dtype),
  reduce,
  matmul,
  gather,
  scatterAdd,
  assign: (dst, src) => assignStrided(input(dst), input(src), dst.shape),
  /** The kernels' fused ops while they are on (KTS_CPU_KERNELS=js: none, the composites run). */
  get fused() {
    return wasmRuntime() ? fusedOps : undefined;
  },
  /** Returns a heap block now (the front end promises the storage is no longer used). */
  dispose: (s) => {
    const d = (s as CpuStorage).release();
    if (d instanceof Float32Array) wasmRuntime()?.heap.dispose(d);
  },
};
