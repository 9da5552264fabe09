// Shape arithmetic: strides, broadcasting (NumPy rules), axis normalisation.
// Errors name the op and the shapes involved, because a bare "shape mismatch" is useless in a 30-layer model.

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-contiguous) strides, in elements. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    // Size-1 dims may carry any stride: they are never stepped over.
    if (shape[i] !== 1 && strides[i] !== s) return false;
    s *= shape[i]!;
  }
  return true;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy broadcasting: align from the right; each pair of dims must be equal or one of them 1. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const nd = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(nd).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = nd - s.length + i;
      const d = s[i]!;
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else throw new Error(`${op}: shapes ${shapes.map(shapeStr).join(' and ')} cannot be broadcast together (dim ${o - nd}: ${out[o]} vs ${d})`);
    }
  }
  return out;
}

export function normAxis(op: string, axis: number, ndim: number): number {
  const a = axis < 0 ? axis + ndim : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(ndim, 1)) {
    throw new Error(`${op}: axis ${axis} is out of range for a tensor with ${ndim} dims`);
  }
  return a;
}

/** Normalises a list of axes (undefined = all), sorted and without duplicates. */
export function normAxes(op: string, axes: number | readonly number[] | undefined, ndim: number): number[] {
  if (axes === undefined) return [...Array(ndim).keys()];
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = [...new Set(list.map((a) => normAxis(op, a, ndim)))].sort((x, y) => x - y);
  return ndim === 0 ? [] : out;
}

/** Resolves a single -1 in a reshape target. */
export function inferShape(op: string, from: Shape, to: readonly number[]): number[] {
  const n = numel(from);
  const free = to.filter((d) => d === -1).length;
  if (free > 1) throw new Error(`${op}: only one dimension may be -1, got ${shapeStr(to)}`);
  const known = to.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const out = to.map((d) => (d === -1 ? (known === 0 ? 0 : n / known) : d));
  if (out.some((d) => !Number.isInteger(d) || d < 0) || numel(out) !== n) {
    throw new Error(`${op}: cannot reshape ${shapeStr(from)} (${n} elements) to ${shapeStr(to)}`);
  }
  return out;
}

/**
 * Strides for viewing (shape, strides) as `to` without copying, or null when impossible
 * (PyTorch's `view` rule: each run of merged/split dims must be contiguous within itself).
 */
export function viewStrides(shape: Shape, strides: readonly number[], to: Shape): number[] | null {
  if (numel(shape) === 0) return contiguousStrides(to);
  // Drop size-1 dims from the source; they impose nothing.
  const dims: number[] = [];
  const strs: number[] = [];
  shape.forEach((d, i) => {
    if (d !== 1) {
      dims.push(d);
      strs.push(strides[i]!);
    }
  });
  const out = new Array<number>(to.length);
  let si = 0;
  let ti = 0;
  while (ti < to.length || si < dims.length) {
    if (ti < to.length && to[ti] === 1) {
      out[ti] = 1;
      ti++;
      continue;
    }
    if (si >= dims.length || ti >= to.length) return null;
    // Collect a group of source dims and target dims with equal products.
    let sProd = dims[si]!;
    let tProd = to[ti]!;
    const sStart = si;
    const tStart = ti;
    si++;
    ti++;
    while (sProd !== tProd) {
      if (sProd < tProd) {
        if (si >= dims.length) return null;
        sProd *= dims[si++]!;
      } else {
        if (ti >= to.length) return null;
        tProd *= to[ti++]!;
      }
    }
    // The source group must be contiguous within itself.
    for (let k = sStart; k < si - 1; k++) if (strs[k] !== strs[k + 1]! * dims[k + 1]!) return null;
    let s = strs[si - 1]!;
    for (let k = ti - 1; k >= tStart; k--) {
      out[k] = s;
      s *= to[k]!;
    }
    while (ti < to.length && to[ti] === 1) out[ti++] = 1;
  }
  return out;
}

/**
 * Merges adjacent dims that every operand walks contiguously, and drops size-1 dims, so strided
 * loops (CPU or GPU) run over as few, as long dims as possible. An empty result becomes [1].
 */
export function collapseDims(shape: readonly number[], strides: (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k]![last] === s[d]! * n)) {
      outShape[last]! *= n;
      strides.forEach((s, k) => (outStrides[k]![last] = s[d]!));
    } else {
      outShape.push(n);
      strides.forEach((s, k) => outStrides[k]!.push(s[d]!));
    }
  }
  if (outShape.length === 0) {
    outShape.push(1);
    outStrides.forEach((s) => s.push(0));
  }
  return { shape: outShape, strides: outStrides };
}
