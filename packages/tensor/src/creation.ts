// Creating tensors: from nested arrays or typed arrays, constants, ranges and seeded noise.
import type { DType, TypedArray } from './backend.ts';
import * as ops from './ops.ts';
import { defaultGenerator, type Generator } from './random.ts';
import { numel, shapeStr, type Shape } from './shape.ts';
import type { Tensor } from './tensor.ts';

export type { CreateOptions } from './ops.ts';
type NestedArray = number | boolean | NestedArray[];

/** Shape of a nested array, checking that it is rectangular. */
function nestedShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0]!;
  }
  const check = (x: NestedArray, dim: number, path: string): void => {
    if (dim === shape.length) {
      if (Array.isArray(x)) throw new Error(`tensor: ragged nested array at ${path}: expected a number`);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[dim]) {
      throw new Error(`tensor: ragged nested array at ${path}: expected length ${shape[dim]}, inferred shape ${shapeStr(shape)}`);
    }
    x.forEach((y, i) => check(y, dim + 1, `${path}[${i}]`));
  };
  check(data, 0, 'data');
  return shape;
}

/**
 * tensor(data, shape?, opts): from a number, nested arrays or a typed array.
 * Default dtype follows the data: Float64Array → float64, Int32Array → int32, else float32.
 */
export function tensor(data: NestedArray | TypedArray | number[], shape?: Shape | ops.CreateOptions, opts?: ops.CreateOptions): Tensor {
  if (shape !== undefined && !Array.isArray(shape)) {
    opts = shape as ops.CreateOptions;
    shape = undefined;
  }
  const explicit = shape as Shape | undefined;
  if (ArrayBuffer.isView(data)) return ops.fromTyped(data, explicit ?? [data.length], opts);
  const inferred = nestedShape(data);
  const flat = Array.isArray(data) ? flattenNested(data as NestedArray[]).map(Number) : [Number(data)];
  const target = explicit ?? inferred;
  if (explicit && numel(explicit) !== flat.length) {
    throw new Error(`tensor: ${flat.length} values do not fill shape ${shapeStr(explicit)}`);
  }
  const dtype: DType = opts?.dtype ?? 'float32';
  const typed = dtype === 'int32' ? Int32Array.from(flat) : dtype === 'float64' ? Float64Array.from(flat) : Float32Array.from(flat);
  return ops.fromTyped(typed, target, { ...opts, dtype });
}

export const full = ops.full;
export const arange = ops.arange;
export const zeros = (shape: Shape, opts?: ops.CreateOptions): Tensor => ops.full(shape, 0, opts);
export const ones = (shape: Shape, opts?: ops.CreateOptions): Tensor => ops.full(shape, 1, opts);
export const zerosLike = (t: Tensor): Tensor => zeros(t.shape, { dtype: t.dtype, device: t.device });
export const onesLike = (t: Tensor): Tensor => ones(t.shape, { dtype: t.dtype, device: t.device });

export interface RandomOptions extends ops.CreateOptions {
  generator?: Generator;
}

function random(shape: Shape, opts: RandomOptions | undefined, draw: (g: Generator) => number): Tensor {
  const g = opts?.generator ?? defaultGenerator;
  const dtype = opts?.dtype ?? 'float32';
  const n = numel(shape);
  const data = ops.hostArray(dtype === 'float64' ? 'float64' : 'float32', n, opts);
  for (let i = 0; i < n; i++) data[i] = draw(g);
  return ops.adopt(data, shape, { ...opts, dtype });
}

/** Standard-normal samples from the seeded generator. */
export const randn = (shape: Shape, opts?: RandomOptions): Tensor => random(shape, opts, (g) => g.normal());
/** Uniform [0, 1) samples from the seeded generator. */
export const rand = (shape: Shape, opts?: RandomOptions): Tensor => random(shape, opts, (g) => g.random());

function flattenNested(xs: NestedArray[]): (number | boolean)[] {
  const out: (number | boolean)[] = [];
  const walk = (x: NestedArray): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else out.push(x);
  };
  xs.forEach(walk);
  return out;
}
