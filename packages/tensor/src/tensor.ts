// The Tensor: a strided view onto backend storage, plus the autograd bookkeeping.
// Methods are thin wrappers over the functions in ops.ts and functional.ts.
import { type Node, runBackward } from './autograd.ts';
import { type Backend, type DType, type Storage, type TypedArray, type View, getBackend } from './backend.ts';
import * as F from './functional.ts';
import { logSoftmax, softmax } from './fused/softmax.ts';
import * as ops from './ops.ts';
import { contiguousStrides, numel, shapeStr } from './shape.ts';
import { trackStorage } from './tidy.ts';

export type Scalar = number;
export type TensorLike = Tensor | number;

export class Tensor implements View {
  requiresGrad = false;
  grad: Tensor | null = null;
  /** How this tensor was computed (null for leaves and for tensors outside the graph). */
  node: Node | null = null;

  constructor(
    readonly storage: Storage,
    readonly shape: readonly number[],
    readonly backend: Backend,
    readonly strides: readonly number[] = contiguousStrides(shape),
    readonly offset = 0,
  ) {
    trackStorage(this);
  }

  get dtype(): DType {
    return this.storage.dtype;
  }
  get device(): string {
    return this.backend.name;
  }
  get ndim(): number {
    return this.shape.length;
  }
  /** Number of elements. */
  get size(): number {
    return numel(this.shape);
  }
  get isLeaf(): boolean {
    return this.node === null;
  }

  toString(): string {
    return `Tensor(${shapeStr(this.shape)}, ${this.dtype}, ${this.device}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  // ---- reading back -------------------------------------------------------------------------
  /** Contiguous copy of the elements (works on every backend). */
  data(): Promise<TypedArray> {
    return this.backend.read(this, this.dtype);
  }
  /** Synchronous contiguous copy (backends that can read synchronously, i.e. the CPU). */
  toArray(): TypedArray {
    if (!this.backend.readSync) throw new Error(`toArray: the ${this.device} backend reads asynchronously; use 'await t.data()'`);
    return this.backend.readSync(this, this.dtype);
  }
  item(): number {
    if (this.size !== 1) throw new Error(`item: tensor of shape ${shapeStr(this.shape)} has ${this.size} elements, not 1`);
    return this.toArray()[0]!;
  }
  async itemAsync(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: tensor of shape ${shapeStr(this.shape)} has ${this.size} elements, not 1`);
    return (await this.data())[0]!;
  }
  /** Nested arrays (CPU). */
  tolist(): unknown {
    const flat = Array.from(this.toArray());
    const build = (dim: number, off: number): unknown => {
      if (dim === this.ndim) return flat[off];
      const step = numel(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, off + i * step));
    };
    return build(0, 0);
  }

  // ---- autograd -----------------------------------------------------------------------------
  backward(grad?: Tensor): void {
    if (!this.requiresGrad) {
      throw new Error(`backward: ${this} does not require grad (no input of the computation had requiresGrad, or it ran inside noGrad)`);
    }
    if (!grad) {
      if (this.size !== 1) {
        throw new Error(`backward: a gradient can be created implicitly only for a scalar output; got shape ${shapeStr(this.shape)} — pass one to backward(grad)`);
      }
      grad = ops.full(this.shape, 1, { dtype: this.dtype, device: this.device });
    } else if (grad.shape.length !== this.ndim || grad.shape.some((d, i) => d !== this.shape[i])) {
      throw new Error(`backward: gradient of shape ${shapeStr(grad.shape)} does not match output shape ${shapeStr(this.shape)}`);
    }
    runBackward(this, grad);
  }
  /** A tensor sharing storage but cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape, this.backend, this.strides, this.offset);
  }
  requiresGrad_(flag = true): this {
    if (flag && this.dtype === 'int32') throw new Error('requiresGrad_: only floating-point tensors can require gradients');
    if (flag && this.dtype === 'float16') throw new Error('requiresGrad_: float16 is a storage type for frozen weights; trainable tensors must be float32');
    this.requiresGrad = flag;
    return this;
  }
  zeroGrad(): void {
    this.grad = null;
  }
  /**
   * Releases backend memory now (a pooled GPU buffer, a block of the CPU heap); this tensor and
   * every view of its storage must not be used afterwards (they throw). See also tidy().
   */
  dispose(): void {
    this.backend.dispose?.(this.storage);
  }

  // ---- device and dtype ---------------------------------------------------------------------
  to(device: string): Tensor {
    return ops.toDevice(this, getBackend(device));
  }
  cast(dtype: DType): Tensor {
    return ops.cast(this, dtype);
  }
  float(): Tensor {
    return ops.cast(this, 'float32');
  }
  double(): Tensor {
    return ops.cast(this, 'float64');
  }
  /** Contiguous version; `force` copies even when already contiguous. */
  contiguous(force = false): Tensor {
    return ops.contiguous(this, force);
  }

  // ---- elementwise --------------------------------------------------------------------------
  add(o: TensorLike): Tensor { return ops.binary('add', this, o); }
  sub(o: TensorLike): Tensor { return ops.binary('sub', this, o); }
  mul(o: TensorLike): Tensor { return ops.binary('mul', this, o); }
  div(o: TensorLike): Tensor { return ops.binary('div', this, o); }
  pow(o: TensorLike): Tensor { return ops.binary('pow', this, o); }
  maximum(o: TensorLike): Tensor { return ops.binary('max', this, o); }
  minimum(o: TensorLike): Tensor { return ops.binary('min', this, o); }
  lt(o: TensorLike): Tensor { return ops.binary('lt', this, o); }
  le(o: TensorLike): Tensor { return ops.binary('le', this, o); }
  gt(o: TensorLike): Tensor { return ops.binary('gt', this, o); }
  ge(o: TensorLike): Tensor { return ops.binary('ge', this, o); }
  eq(o: TensorLike): Tensor { return ops.binary('eq', this, o); }
  neg(): Tensor { return ops.unary('neg', this); }
  exp(): Tensor { return ops.unary('exp', this); }
  log(): Tensor { return ops.unary('log', this); }
  sqrt(): Tensor { return ops.unary('sqrt', this); }
  rsqrt(): Tensor { return ops.unary('rsqrt', this); }
  reciprocal(): Tensor { return ops.unary('recip', this); }
  abs(): Tensor { return ops.unary('abs', this); }
  sign(): Tensor { return ops.unary('sign', this); }
  tanh(): Tensor { return ops.unary('tanh', this); }
  sigmoid(): Tensor { return ops.unary('sigmoid', this); }
  erf(): Tensor { return ops.unary('erf', this); }
  sin(): Tensor { return ops.unary('sin', this); }
  cos(): Tensor { return ops.unary('cos', this); }
  square(): Tensor { return this.mul(this); }
  relu(): Tensor { return F.relu(this); }
  silu(): Tensor { return F.silu(this); }
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor { return F.gelu(this, approximate); }

  // ---- linear algebra and reductions ---------------------------------------------------------
  matmul(o: Tensor): Tensor { return ops.matmul(this, o); }
  sum(axes?: number | number[], keepdim = false): Tensor { return ops.sum(this, axes, keepdim); }
  mean(axes?: number | number[], keepdim = false): Tensor { return F.mean(this, axes, keepdim); }
  max(axes?: number | number[], keepdim = false): Tensor { return ops.maxMin('max', this, axes, keepdim); }
  min(axes?: number | number[], keepdim = false): Tensor { return ops.maxMin('min', this, axes, keepdim); }
  argmax(axis?: number, keepdim = false): Tensor { return ops.argMaxMin('argmax', this, axis, keepdim); }
  argmin(axis?: number, keepdim = false): Tensor { return ops.argMaxMin('argmin', this, axis, keepdim); }
  var(axes?: number | number[], keepdim = false, unbiased = true): Tensor { return F.variance(this, axes, keepdim, unbiased); }
  softmax(axis = -1): Tensor { return softmax(this, axis); }
  logSoftmax(axis = -1): Tensor { return logSoftmax(this, axis); }
  logsumexp(axes: number | number[] = -1, keepdim = false): Tensor { return F.logsumexp(this, axes, keepdim); }

  // ---- views --------------------------------------------------------------------------------
  reshape(...shape: (number | number[])[]): Tensor { return ops.reshape(this, shape.flat()); }
  view(...shape: (number | number[])[]): Tensor { return ops.view(this, shape.flat()); }
  transpose(a: number, b: number): Tensor { return ops.transpose(this, a, b); }
  permute(...dims: (number | number[])[]): Tensor { return ops.permute(this, dims.flat()); }
  expand(...shape: (number | number[])[]): Tensor { return ops.expand(this, shape.flat()); }
  squeeze(axis?: number): Tensor { return ops.squeeze(this, axis); }
  unsqueeze(axis: number): Tensor { return ops.unsqueeze(this, axis); }
  narrow(axis: number, start: number, length: number): Tensor { return ops.slice(this, axis, start, start + length, 1); }
  slice(axis: number, start: number, end?: number, step = 1): Tensor { return ops.slice(this, axis, start, end, step); }
  flatten(start = 0, end = -1): Tensor { return ops.flatten(this, start, end); }
  get T(): Tensor {
    if (this.ndim !== 2) throw new Error(`T: expects a 2-D tensor, got shape ${shapeStr(this.shape)}`);
    return this.transpose(0, 1);
  }
}
