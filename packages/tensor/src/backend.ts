// The contract between the Tensor front end and a compute backend.
//
// A backend implements a short list of primitive ops (below); every other op — softmax,
// crossEntropy, rmsNorm, the backward passes — is composed from them in the front end.
// A backend may additionally offer fused kernels (`fused`), which the front end uses when
// present; the composed version stays the reference and the fallback.
import type { Shape } from './shape.ts';
import type { Tensor } from './tensor.ts';

/**
 * Element types. 'float16' is a storage type for frozen weights: only a backend that lists it
 * (WebGPU on an adapter with shader-f16) stores it; matmul takes it as the B (weight) operand
 * with float32 accumulation, cast() converts it, and other ops refuse it (cast to float32 first).
 * It cannot require gradients. Reads return float32 values.
 */
export type DType = 'float32' | 'float64' | 'int32' | 'float16';
export type TypedArray = Float32Array | Float64Array | Int32Array;

/** Backend-owned memory. The CPU backend stores a typed array; WebGPU a GPUBuffer. */
export interface Storage {
  readonly backend: string;
  readonly dtype: DType;
  /** Number of elements the storage holds. */
  readonly length: number;
}

/** A strided window onto a storage: how every primitive receives its inputs. */
export interface View {
  readonly storage: Storage;
  readonly shape: Shape;
  readonly strides: readonly number[];
  readonly offset: number;
}

export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'recip' | 'abs' | 'sign'
  | 'tanh' | 'sigmoid' | 'erf' | 'sin' | 'cos';
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min' | 'lt' | 'le' | 'gt' | 'ge' | 'eq';
export type ReduceOp = 'sum' | 'max' | 'min' | 'argmax' | 'argmin';

export const UNARY_OPS: readonly UnaryOp[] = ['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'recip', 'abs', 'sign', 'tanh', 'sigmoid', 'erf', 'sin', 'cos'];
export const BINARY_OPS: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'max', 'min', 'lt', 'le', 'gt', 'ge', 'eq'];

/**
 * Primitive ops. Every output is a new contiguous storage in row-major order of the output
 * shape, except `assign`, which writes in place. Inputs of elementwise ops arrive already
 * broadcast to the output shape (stride-0 dims), so backends never implement broadcasting.
 */
export interface Backend {
  readonly name: string;
  /** dtypes this backend can store; float64 is CPU-only (gradient checks). */
  readonly dtypes: readonly DType[];

  fromArray(data: TypedArray, dtype: DType): Storage;
  full(length: number, value: number, dtype: DType): Storage;
  /** Contiguous copy of the view's elements, in the view's logical order. */
  read(view: View, dtype: DType): Promise<TypedArray>;
  /** Synchronous read, only where the backend can (CPU). */
  readSync?(view: View, dtype: DType): TypedArray;

  /** Contiguous copy of a strided view (also converts dtype). */
  copy(x: View, dtype: DType): Storage;
  unary(op: UnaryOp, x: View, dtype: DType): Storage;
  /** Comparisons return 0/1 in `dtype`. */
  binary(op: BinaryOp, a: View, b: View, dtype: DType): Storage;
  where(cond: View, a: View, b: View, dtype: DType): Storage;
  /** Reduces `axes` of x; output has x's shape with those axes set to 1. arg* return int32. */
  reduce(op: ReduceOp, x: View, axes: readonly number[], dtype: DType): Storage;
  /** Batched matmul: a [...batch, M, K] · b [...batch, K, N], batch dims already broadcast. */
  matmul(a: View, b: View, dtype: DType): Storage;
  /** torch.gather: out[i][j][k] = x[i][index[i][j][k]][k] (axis = 1); index is int32 with out's shape. */
  gather(x: View, axis: number, index: View, dtype: DType): Storage;
  /** zeros(shape).scatter_add_(axis, index, src). */
  scatterAdd(shape: Shape, axis: number, index: View, src: View, dtype: DType): Storage;
  /** In-place: dst view ← src view (same shape). Used by cat and slice backward. */
  assign(dst: View, src: View): void;

  /** Optional fused kernels; see ops that look them up. */
  readonly fused?: Partial<FusedOps>;
  /**
   * A host array this backend adopts in `fromArray` without copying, for data the front end fills
   * itself (random init, nested arrays). The CPU backend puts large ones on a SharedArrayBuffer so
   * its worker threads can read them. Default: a plain typed array.
   */
  hostArray?(dtype: 'float32' | 'float64', n: number): Float32Array | Float64Array;
  /** Releases a storage early (pooled backends); the front end calls it for temporaries. */
  dispose?(s: Storage): void;
}

/**
 * Optional fused kernels, at the Tensor level: each takes and returns Tensors and records its
 * own autograd node (with its own fused backward where it has one). The composite versions in
 * functional.ts define what each must compute and are used when a backend offers none.
 */
export interface FusedOps {
  /** Over the last axis. */
  softmax(x: Tensor): Tensor;
  /** Over the last axis. */
  logSoftmax(x: Tensor): Tensor;
  rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor;
  rotaryEmbedding(x: Tensor, cos: Tensor, sin: Tensor): Tensor;
  attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Tensor;
  klDivLogits(pLogits: Tensor, qLogits: Tensor): Tensor;
  crossEntropyLogits(logits: Tensor, targets: Tensor, ignoreIndex: number): Tensor;
  addSteering(h: Tensor, vectors: Tensor, coeffs: Tensor, mask: Tensor): Tensor;
  /** One in-place AdamW update of param, m, v (contiguous, m and v zero before step 1), as optim.AdamW. */
  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, h: AdamWParams): void;
}

/** Hyperparameters of one AdamW step (step counts from 1). */
export interface AdamWParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
}

export interface AttentionOptions {
  /** Mask keys after the query's own position (positions aligned at the end: decode with a cache). */
  causal?: boolean;
  /** Additive mask broadcastable to [B, H, Tq, Tk] (0 keep, −∞ drop), e.g. padding. */
  mask?: Tensor | null;
  /** Defaults to 1/√headDim. */
  scale?: number;
}

const backends = new Map<string, Backend>();
let defaultBackendName = 'cpu';

export function registerBackend(backend: Backend): void {
  backends.set(backend.name, backend);
}

export function getBackend(name: string): Backend {
  const b = backends.get(name);
  if (!b) {
    const hint = name === 'webgpu' ? " (import '@kts/webgpu' and await its init first)" : '';
    throw new Error(`backend '${name}' is not registered${hint}; registered: ${[...backends.keys()].join(', ')}`);
  }
  return b;
}

export function setDefaultBackend(name: string): void {
  getBackend(name);
  defaultBackendName = name;
}

export function defaultBackend(): Backend {
  return getBackend(defaultBackendName);
}
