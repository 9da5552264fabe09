// Differentiable ops that map (almost) one-to-one onto backend primitives, with their backward
// passes written in terms of other ops. Composite ops live in functional.ts.
import { noGrad, record } from './autograd.ts';
import {
  type Backend, type BinaryOp, type DType, type TypedArray, type UnaryOp,
  defaultBackend, getBackend,
} from './backend.ts';
import {
  broadcastShapes, contiguousStrides, inferShape, isContiguous, normAxes, normAxis, numel, shapeStr,
  viewStrides, type Shape,
} from './shape.ts';
import { Tensor, type TensorLike } from './tensor.ts';

export interface CreateOptions {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
}

function backendOf(opts?: CreateOptions): Backend {
  return opts?.device ? getBackend(opts.device) : defaultBackend();
}

function checkDtype(b: Backend, dtype: DType): void {
  if (!b.dtypes.includes(dtype)) throw new Error(`the ${b.name} backend does not support ${dtype} (supports ${b.dtypes.join(', ')})`);
}

function finish(t: Tensor, opts?: CreateOptions): Tensor {
  if (opts?.requiresGrad) t.requiresGrad_(true);
  return t;
}

/** Wraps a fresh contiguous storage in a tensor. */
export function fromStorage(b: Backend, storage: Tensor['storage'], shape: Shape): Tensor {
  return new Tensor(storage, [...shape], b);
}

/** A float array the target backend can adopt without a copy (Backend.hostArray). */
export function hostArray(dtype: 'float32' | 'float64', n: number, opts?: CreateOptions): Float32Array | Float64Array {
  return backendOf(opts).hostArray?.(dtype, n) ?? (dtype === 'float64' ? new Float64Array(n) : new Float32Array(n));
}

export function fromTyped(data: TypedArray, shape: Shape, opts?: CreateOptions): Tensor {
  const b = backendOf(opts);
  const dtype = opts?.dtype ?? (data instanceof Float64Array ? 'float64' : data instanceof Int32Array ? 'int32' : 'float32');
  checkDtype(b, dtype);
  if (data.length !== numel(shape)) throw new Error(`tensor: ${data.length} values do not fill shape ${shapeStr(shape)}`);
  // float16 travels as float32 values; the backend converts on upload.
  const typed = dtype === 'int32' ? Int32Array.from(data) : hostArray(dtype === 'float64' ? 'float64' : 'float32', data.length, opts);
  if (dtype !== 'int32') typed.set(data);
  return finish(fromStorage(b, b.fromArray(typed, dtype), shape), opts);
}

/** Like fromTyped, but takes ownership of `data` (no copy): for freshly made arrays only. */
export function adopt(data: Float32Array | Float64Array | Int32Array, shape: Shape, opts?: CreateOptions): Tensor {
  const b = backendOf(opts);
  const dtype = data instanceof Float64Array ? 'float64' : data instanceof Int32Array ? 'int32' : 'float32';
  if (opts?.dtype && opts.dtype !== dtype) return fromTyped(data, shape, opts);
  checkDtype(b, dtype);
  if (data.length !== numel(shape)) throw new Error(`tensor: ${data.length} values do not fill shape ${shapeStr(shape)}`);
  return finish(fromStorage(b, b.fromArray(data, dtype), shape), opts);
}

export function full(shape: Shape, value: number, opts?: CreateOptions): Tensor {
  const b = backendOf(opts);
  const dtype = opts?.dtype ?? 'float32';
  checkDtype(b, dtype);
  return finish(fromStorage(b, b.full(numel(shape), value, dtype), shape), opts);
}

/** A scalar operand as a 0-d tensor on `like`'s backend (int tensors with a fractional scalar become float). */
function lift(x: TensorLike, like: Tensor): Tensor {
  if (x instanceof Tensor) return x;
  const dtype = like.dtype === 'int32' && !Number.isInteger(x) ? 'float32' : like.dtype;
  return fromStorage(like.backend, like.backend.full(1, x, dtype), []);
}

function sameDevice(op: string, ...ts: Tensor[]): void {
  const d = ts[0]!.device;
  for (const t of ts) {
    if (t.device !== d) throw new Error(`${op}: tensors are on different devices (${ts.map((x) => x.device).join(', ')}); move them with .to()`);
  }
}

export function promote(...dtypes: DType[]): DType {
  if (dtypes.includes('float64')) return 'float64';
  if (dtypes.includes('float32')) return 'float32';
  if (dtypes.includes('float16')) return 'float16';
  return 'int32';
}

const floatOf = (t: Tensor): DType => (t.dtype === 'int32' ? 'float32' : t.dtype);

/** A stride-0 view of t broadcast to `shape` (no copy, no graph node: callers record their own). */
function broadcastView(t: Tensor, shape: Shape): Tensor {
  const nd = shape.length;
  const strides = shape.map((d, i) => {
    const j = i - (nd - t.ndim);
    if (j < 0) return 0;
    return t.shape[j] === d ? t.strides[j]! : 0;
  });
  return new Tensor(t.storage, [...shape], t.backend, strides, t.offset);
}

/** Sums a broadcast gradient back down to `shape`. */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (g.ndim === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  return sum(g, axes, true).reshape([...shape]);
}

// ---- dtype and device ------------------------------------------------------------------------

export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  checkDtype(x.backend, dtype);
  const out = fromStorage(x.backend, x.backend.copy(x, dtype), x.shape);
  if (dtype === 'int32') return out;
  return record(out, 'cast', [x], (g) => [x.dtype === 'int32' ? null : cast(g, x.dtype)]);
}

export function contiguous(x: Tensor, force = false): Tensor {
  if (!force && x.offset === 0 && isContiguous(x.shape, x.strides) && x.storage.length === x.size) return x;
  const out = fromStorage(x.backend, x.backend.copy(x, x.dtype), x.shape);
  return record(out, 'contiguous', [x], (g) => [g]);
}

export function toDevice(x: Tensor, b: Backend): Tensor {
  if (x.backend === b) return x;
  checkDtype(b, x.dtype);
  if (!x.backend.readSync) {
    throw new Error(`to('${b.name}'): reading from ${x.device} is asynchronous; use 'await toDeviceAsync(t, "${b.name}")'`);
  }
  const out = fromStorage(b, b.fromArray(x.backend.readSync(x, x.dtype), x.dtype), x.shape);
  return record(out, 'to', [x], (g) => [toDevice(g, x.backend)]);
}

/** Moves a tensor between any two backends (reads back asynchronously when needed). */
export async function toDeviceAsync(x: Tensor, device: string): Promise<Tensor> {
  const b = getBackend(device);
  if (x.backend === b) return x;
  const out = fromStorage(b, b.fromArray(await x.data(), x.dtype), x.shape);
  return record(out, 'to', [x], (g) => [toDevice(g, x.backend)]);
}

// ---- elementwise -----------------------------------------------------------------------------

const COMPARISONS = new Set<BinaryOp>(['lt', 'le', 'gt', 'ge', 'eq']);

export function binary(op: BinaryOp, aIn: TensorLike, bIn: TensorLike): Tensor {
  const a0 = aIn instanceof Tensor ? aIn : lift(aIn, bIn as Tensor);
  const b0 = lift(bIn, a0);
  sameDevice(op, a0, b0);
  let dtype = promote(a0.dtype, b0.dtype);
  if ((op === 'div' || op === 'pow') && dtype === 'int32') dtype = 'float32'; // true division, as torch
  const a = cast(a0, dtype);
  const b = cast(b0, dtype);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const be = a.backend;
  const out = fromStorage(be, be.binary(op, broadcastView(a, shape), broadcastView(b, shape), dtype), shape);
  if (COMPARISONS.has(op) || dtype === 'int32') return out;
  return record(out, op, [a, b], (g) => {
    const ga = a.requiresGrad;
    const gb = b.requiresGrad;
    switch (op) {
      case 'add':
        return [ga ? sumTo(g, a.shape) : null, gb ? sumTo(g, b.shape) : null];
      case 'sub':
        return [ga ? sumTo(g, a.shape) : null, gb ? sumTo(g.neg(), b.shape) : null];
      case 'mul':
        return [ga ? sumTo(g.mul(b), a.shape) : null, gb ? sumTo(g.mul(a), b.shape) : null];
      case 'div':
        return [ga ? sumTo(g.div(b), a.shape) : null, gb ? sumTo(g.mul(out).div(b).neg(), b.shape) : null];
      case 'pow':
        return [
          ga ? sumTo(g.mul(b).mul(a.pow(b.sub(1))), a.shape) : null,
          gb ? sumTo(g.mul(out).mul(a.log()), b.shape) : null,
        ];
      case 'max':
      case 'min': {
        // Ties share the gradient equally, as torch.maximum does.
        const winA = op === 'max' ? a.gt(b) : a.lt(b);
        const tie = a.eq(b).mul(0.5);
        const wa = winA.add(tie);
        return [ga ? sumTo(g.mul(wa), a.shape) : null, gb ? sumTo(g.mul(wa.neg().add(1)), b.shape) : null];
      }
      default:
        throw new Error(`binary: no gradient for ${op}`);
    }
  });
}

export function unary(op: UnaryOp, x0: Tensor): Tensor {
  const x = op === 'neg' || op === 'abs' || op === 'sign' ? x0 : cast(x0, floatOf(x0));
  const out = fromStorage(x.backend, x.backend.unary(op, x, x.dtype), x.shape);
  if (x.dtype === 'int32') return out;
  return record(out, op, [x], (g) => {
    switch (op) {
      case 'neg': return [g.neg()];
      case 'exp': return [g.mul(out)];
      case 'log': return [g.div(x)];
      case 'sqrt': return [g.div(out.mul(2))];
      case 'rsqrt': return [g.mul(out.mul(out).mul(out)).mul(-0.5)];
      case 'recip': return [g.mul(out.mul(out)).neg()];
      case 'abs': return [g.mul(x.sign())];
      case 'sign': return [g.mul(0)];
      case 'tanh': return [g.mul(out.mul(out).neg().add(1))];
      case 'sigmoid': return [g.mul(out.mul(out.neg().add(1)))];
      case 'erf': return [g.mul(x.mul(x).neg().exp().mul(2 / Math.sqrt(Math.PI)))];
      case 'sin': return [g.mul(x.cos())];
      case 'cos': return [g.mul(x.sin()).neg()];
    }
  });
}

export function where(cond: Tensor, aIn: TensorLike, bIn: TensorLike): Tensor {
  // Scalars take the dtype of the tensor operand(s); with none, float32. An int tensor meeting a
  // fractional scalar becomes float32 (as lift does).
  const tensors = [aIn, bIn].filter((v): v is Tensor => v instanceof Tensor);
  let dtype: DType = tensors.length ? promote(...tensors.map((t) => t.dtype)) : 'float32';
  if (dtype === 'int32' && [aIn, bIn].some((v) => typeof v === 'number' && !Number.isInteger(v))) dtype = 'float32';
  const like = tensors[0] ?? cast(cond, dtype === 'int32' ? 'float32' : dtype);
  const a = cast(lift(aIn, like), dtype);
  const b = cast(lift(bIn, like), dtype);
  sameDevice('where', cond, a, b);
  const shape = broadcastShapes('where', cond.shape, a.shape, b.shape);
  const be = a.backend;
  const out = fromStorage(be, be.where(broadcastView(cond, shape), broadcastView(a, shape), broadcastView(b, shape), dtype), shape);
  if (dtype === 'int32') return out;
  return record(out, 'where', [a, b], (g) => [
    a.requiresGrad ? sumTo(where(cond, g, 0), a.shape) : null,
    b.requiresGrad ? sumTo(where(cond, 0, g), b.shape) : null,
  ]);
}

// ---- reductions ------------------------------------------------------------------------------

function keepdimShape(shape: Shape, axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}
function dropAxes(shape: Shape, axes: number[]): number[] {
  return shape.filter((_, i) => !axes.includes(i));
}

export function sum(x: Tensor, axesIn?: number | number[], keepdim = false): Tensor {
  const axes = normAxes('sum', axesIn, x.ndim);
  const kshape = keepdimShape(x.shape, axes);
  let out = fromStorage(x.backend, x.backend.reduce('sum', x, axes, x.dtype), kshape);
  if (x.dtype !== 'int32') out = record(out, 'sum', [x], (g) => [g.expand([...x.shape])]);
  return keepdim ? out : out.reshape(dropAxes(x.shape, axes));
}

export function maxMin(op: 'max' | 'min', x: Tensor, axesIn?: number | number[], keepdim = false): Tensor {
  const axes = normAxes(op, axesIn, x.ndim);
  const kshape = keepdimShape(x.shape, axes);
  let out = fromStorage(x.backend, x.backend.reduce(op, x, axes, x.dtype), kshape);
  if (x.dtype !== 'int32') {
    out = record(out, op, [x], (g) => {
      // The gradient goes to the extreme element(s); ties share it equally.
      const hit = x.eq(out.detach());
      const count = sum(hit, axes, true);
      return [hit.div(count).mul(g)];
    });
  }
  return keepdim ? out : out.reshape(dropAxes(x.shape, axes));
}

export function argMaxMin(op: 'argmax' | 'argmin', x: Tensor, axis?: number, keepdim = false): Tensor {
  if (axis === undefined) return argMaxMin(op, x.reshape([-1]), 0, false);
  const a = normAxis(op, axis, x.ndim);
  const out = fromStorage(x.backend, x.backend.reduce(op, x, [a], 'int32'), keepdimShape(x.shape, [a]));
  return keepdim ? out : out.reshape(dropAxes(x.shape, [a]));
}

// ---- matmul ----------------------------------------------------------------------------------

export function matmul(a: Tensor, b: Tensor): Tensor {
  sameDevice('matmul', a, b);
  if (a.ndim === 0 || b.ndim === 0) throw new Error(`matmul: both operands need at least 1 dim, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  if (a.dtype === 'int32' || b.dtype === 'int32') throw new Error('matmul: integer tensors are not supported; cast to float first');
  // 1-D operands become matrices, and the added dims are removed from the result (torch semantics).
  const a2 = a.ndim === 1 ? a.unsqueeze(0) : a;
  const b2 = b.ndim === 1 ? b.unsqueeze(1) : b;
  const K = a2.shape[a2.ndim - 1]!;
  if (b2.shape[b2.ndim - 2] !== K) {
    throw new Error(`matmul: inner dimensions differ: ${shapeStr(a.shape)} @ ${shapeStr(b.shape)} (${K} vs ${b2.shape[b2.ndim - 2]})`);
  }
  const batch = broadcastShapes('matmul (batch dims)', a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  // A float16 B (a weight) stays float16: the backend multiplies it with float32 accumulation.
  const dtype = promote(a.dtype, b.dtype === 'float16' ? 'float32' : b.dtype);
  const ae = cast(a2, dtype).expand([...batch, ...a2.shape.slice(-2)]);
  const bee = (b.dtype === 'float16' && dtype === 'float32' ? b2 : cast(b2, dtype)).expand([...batch, ...b2.shape.slice(-2)]);
  let out = matmulCore(ae, bee);
  if (a.ndim === 1) out = out.squeeze(-2);
  if (b.ndim === 1) out = out.squeeze(-1);
  return out;
}

/** [..., M, K] @ [..., K, N] with identical batch dims. */
function matmulCore(a: Tensor, b: Tensor): Tensor {
  const shape = [...a.shape.slice(0, -1), b.shape[b.ndim - 1]!];
  const out = fromStorage(a.backend, a.backend.matmul(a, b, a.dtype), shape);
  return record(out, 'matmul', [a, b], (g) => [
    a.requiresGrad ? matmulCore(g, b.transpose(-1, -2)) : null,
    b.requiresGrad ? matmulCore(a.transpose(-1, -2), g) : null,
  ]);
}

// ---- views -----------------------------------------------------------------------------------

function viewOf(x: Tensor, shape: Shape, strides: readonly number[], offset: number): Tensor {
  return new Tensor(x.storage, [...shape], x.backend, [...strides], offset);
}

export function view(x: Tensor, shapeIn: number[]): Tensor {
  const shape = inferShape('view', x.shape, shapeIn);
  const strides = viewStrides(x.shape, x.strides, shape);
  if (!strides) {
    throw new Error(`view: a tensor of shape ${shapeStr(x.shape)} and strides ${shapeStr(x.strides)} cannot be viewed as ${shapeStr(shape)}; use reshape (copies)`);
  }
  return record(viewOf(x, shape, strides, x.offset), 'view', [x], (g) => [g.reshape([...x.shape])]);
}

export function reshape(x: Tensor, shapeIn: number[]): Tensor {
  const shape = inferShape('reshape', x.shape, shapeIn);
  if (viewStrides(x.shape, x.strides, shape)) return view(x, shape);
  return view(contiguous(x), shape);
}

export function permute(x: Tensor, dimsIn: number[]): Tensor {
  const dims = dimsIn.map((d) => normAxis('permute', d, x.ndim));
  if (dims.length !== x.ndim || new Set(dims).size !== dims.length) {
    throw new Error(`permute: [${dimsIn}] is not a permutation of the ${x.ndim} dims of ${shapeStr(x.shape)}`);
  }
  const out = viewOf(x, dims.map((d) => x.shape[d]!), dims.map((d) => x.strides[d]!), x.offset);
  const inverse = dims.map((_, i) => dims.indexOf(i));
  return record(out, 'permute', [x], (g) => [permute(g, inverse)]);
}

export function transpose(x: Tensor, a: number, b: number): Tensor {
  const dims = [...x.shape.keys()];
  const i = normAxis('transpose', a, x.ndim);
  const j = normAxis('transpose', b, x.ndim);
  [dims[i], dims[j]] = [dims[j]!, dims[i]!];
  return permute(x, dims);
}

export function expand(x: Tensor, shapeIn: number[]): Tensor {
  const lead = shapeIn.length - x.ndim;
  if (lead < 0) throw new Error(`expand: cannot expand ${shapeStr(x.shape)} to fewer dims ${shapeStr(shapeIn)}`);
  const shape = shapeIn.map((d, i) => (d === -1 ? x.shape[i - lead]! : d));
  shape.forEach((d, i) => {
    const j = i - lead;
    if (j >= 0 && x.shape[j] !== d && x.shape[j] !== 1) {
      throw new Error(`expand: cannot expand ${shapeStr(x.shape)} to ${shapeStr(shapeIn)} (dim ${i}: ${x.shape[j]} → ${d})`);
    }
  });
  if (lead === 0 && shape.every((d, i) => d === x.shape[i])) return x;
  return record(broadcastView(x, shape), 'expand', [x], (g) => [sumTo(g, x.shape)]);
}

export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const a = normAxis('squeeze', axis, x.ndim);
  if (x.shape[a] !== 1) return x; // torch leaves non-1 dims alone
  return reshape(x, x.shape.filter((_, i) => i !== a));
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normAxis('unsqueeze', axis < 0 ? axis + x.ndim + 1 : axis, x.ndim + 1);
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

export function flatten(x: Tensor, start = 0, end = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normAxis('flatten', start, x.ndim);
  const e = normAxis('flatten', end, x.ndim);
  return reshape(x, [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

/** Python-style slice along one axis (negative start/end count from the end; clamped). */
export function slice(x: Tensor, axis: number, start: number, end?: number, step = 1): Tensor {
  const a = normAxis('slice', axis, x.ndim);
  const n = x.shape[a]!;
  if (!Number.isInteger(step) || step <= 0) throw new Error(`slice: step must be a positive integer, got ${step}`);
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
  const s = clamp(start);
  const e = Math.max(clamp(end ?? n), s);
  const len = Math.ceil((e - s) / step);
  const shape = [...x.shape];
  shape[a] = len;
  const strides = [...x.strides];
  strides[a] = x.strides[a]! * step;
  const out = viewOf(x, shape, strides, x.offset + s * x.strides[a]!);
  return record(out, 'slice', [x], (g) => {
    // Scatter the gradient back into a zero tensor of the input's shape.
    const gz = zerosLike(x);
    const target = viewOf(gz, shape, [...contiguousStrides(x.shape)].map((st, i) => (i === a ? st * step : st)), s * contiguousStrides(x.shape)[a]!);
    x.backend.assign(target, g);
    return [gz];
  });
}

export function zerosLike(x: Tensor): Tensor {
  return fromStorage(x.backend, x.backend.full(x.size, 0, x.dtype), x.shape);
}

// ---- joining ---------------------------------------------------------------------------------

export function cat(ts: Tensor[], axis = 0): Tensor {
  if (ts.length === 0) throw new Error('cat: expects a non-empty list of tensors');
  const first = ts[0]!;
  sameDevice('cat', ...ts);
  const a = normAxis('cat', axis, first.ndim);
  for (const t of ts) {
    if (t.ndim !== first.ndim || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new Error(`cat: shapes ${ts.map((x) => shapeStr(x.shape)).join(', ')} differ outside axis ${axis}`);
    }
  }
  const dtype = promote(...ts.map((t) => t.dtype));
  const parts = ts.map((t) => cast(t, dtype));
  const shape = [...first.shape];
  shape[a] = parts.reduce((p, t) => p + t.shape[a]!, 0);
  const be = first.backend;
  const out = fromStorage(be, be.full(numel(shape), 0, dtype), shape);
  const strides = contiguousStrides(shape);
  let pos = 0;
  for (const t of parts) {
    be.assign({ storage: out.storage, shape: t.shape, strides, offset: pos * strides[a]! }, t);
    pos += t.shape[a]!;
  }
  if (dtype === 'int32') return out;
  return record(out, 'cat', parts, (g) => {
    let p = 0;
    return parts.map((t) => {
      const gi = t.requiresGrad ? slice(g, a, p, p + t.shape[a]!) : null;
      p += t.shape[a]!;
      return gi;
    });
  });
}

export function stack(ts: Tensor[], axis = 0): Tensor {
  if (ts.length === 0) throw new Error('stack: expects a non-empty list of tensors');
  const a = axis < 0 ? axis + ts[0]!.ndim + 1 : axis;
  return cat(ts.map((t) => unsqueeze(t, a)), a);
}

// ---- indexing --------------------------------------------------------------------------------

function checkIndexTensor(op: string, index: Tensor): void {
  if (index.dtype !== 'int32') throw new Error(`${op}: index must be int32, got ${index.dtype}`);
}

/** torch.gather: out has index's shape; out[..i..] = x[..index[..i..] at axis..]. */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  checkIndexTensor('gather', index);
  sameDevice('gather', x, index);
  const a = normAxis('gather', axis, x.ndim);
  if (index.ndim !== x.ndim || index.shape.some((d, i) => i !== a && d > x.shape[i]!)) {
    throw new Error(`gather: index shape ${shapeStr(index.shape)} does not fit input shape ${shapeStr(x.shape)} along axis ${axis}`);
  }
  const out = fromStorage(x.backend, x.backend.gather(x, a, index, x.dtype), index.shape);
  if (x.dtype === 'int32') return out;
  return record(out, 'gather', [x], (g) => [scatterAdd(x.shape, a, index, g)]);
}

/** zeros(shape).scatter_add(axis, index, src), differentiable in src. */
export function scatterAdd(shape: Shape, axis: number, index: Tensor, src: Tensor): Tensor {
  const out = fromStorage(src.backend, src.backend.scatterAdd(shape, axis, index, src, src.dtype), shape);
  return record(out, 'scatterAdd', [src], (g) => [gather(g, axis, index)]);
}

export function indexSelect(x: Tensor, axis: number, index: Tensor): Tensor {
  checkIndexTensor('indexSelect', index);
  if (index.ndim !== 1) throw new Error(`indexSelect: index must be 1-D, got shape ${shapeStr(index.shape)}`);
  const a = normAxis('indexSelect', axis, x.ndim);
  const outShape = [...x.shape];
  outShape[a] = index.shape[0]!;
  const idxShape = x.shape.map((_, i) => (i === a ? index.shape[0]! : 1));
  return gather(x, a, index.reshape(idxShape).expand(outShape));
}

// ---- creation helpers used by composite ops ---------------------------------------------------

/** Values start, start+step, … below end (as torch.arange). */
export function arange(start: number, end?: number, step = 1, opts?: CreateOptions): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new Error('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const allInt = [start, end, step].every(Number.isInteger);
  const dtype = opts?.dtype ?? (allInt ? 'int32' : 'float32');
  const data = dtype === 'int32' ? new Int32Array(n) : dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return fromTyped(data, [n], { ...opts, dtype });
}

/** Evaluates fn without recording a graph and returns its (graph-free) result. */
export function noGradValue(fn: () => Tensor): Tensor {
  return noGrad(fn);
}

export function backendNamed(name: string): Backend {
  return getBackend(name);
}
