// Batched matmul on WebGPU through the matmul kernels (src/kernels/matmul.ts picks one):
// a [...batch, M, K] · b [...batch, K, N] with arbitrary strides.
// - A must be row-major within a batch entry; otherwise it is copied (only its distinct batch
//   entries: stride-0 broadcast dims stay broadcast).
// - B: row-major [K,N] → NN; a transposed view (contiguous [N,K]) → the NT variant; else copied.
//   A float16 B (weights) is read as f16 by the kernels (accumulation in f32); when it must be
//   copied, the copy is float32.
// - Batch dims are collapsed; ≤ 2 go to the kernel's [outer, inner] batch strides (0 =
//   broadcast), further leading dims loop on the host.
import type { DType, View } from '@kts/tensor';
import { matmul as matmulKernel } from '../kernels/matmul.ts';
import { collapseDims } from '../kernels/elementwise.ts';
import { copy, full } from './elementwise.ts';
import { allocStorage, asStorage, disposeStorage, type WebGPUStorage } from './storage.ts';

interface Operand {
  buffer: GPUBuffer;
  offset: number;
  batchStrides: number[];
  trans: boolean;
  /** The buffer holds f16 elements. */
  f16: boolean;
  tmp: WebGPUStorage | null;
}

/** Copies the distinct batch entries of v (stride-0 batch dims kept broadcast) to row-major. */
function compact(v: View, nb: number): Operand {
  const batch = v.shape.slice(0, nb);
  const bStrides = v.strides.slice(0, nb);
  const cshape = batch.map((d, i) => (bStrides[i] === 0 ? 1 : d));
  const view: View = { storage: v.storage, shape: [...cshape, ...v.shape.slice(nb)], strides: v.strides, offset: v.offset };
  const tmp = copy(view, 'float32');
  const mat = v.shape[nb]! * v.shape[nb + 1]!;
  const strides = new Array<number>(nb);
  let s = mat;
  for (let i = nb - 1; i >= 0; i--) {
    strides[i] = bStrides[i] === 0 || cshape[i] === 1 ? 0 : s;
    s *= cshape[i]!;
  }
  return { buffer: tmp.buffer, offset: 0, batchStrides: strides, trans: false, f16: false, tmp };
}

function prepA(a: View, nb: number, M: number, K: number): Operand {
  const rs = a.strides[nb]!;
  const cs = a.strides[nb + 1]!;
  if ((K === 1 || cs === 1) && (M === 1 || rs === K) && a.storage.dtype !== 'float16') {
    return { buffer: asStorage(a.storage).buffer, offset: a.offset, batchStrides: a.strides.slice(0, nb), trans: false, f16: false, tmp: null };
  }
  return compact(a, nb);
}

function prepB(b: View, nb: number, K: number, N: number): Operand {
  const rs = b.strides[nb]!; // along K
  const cs = b.strides[nb + 1]!; // along N
  const storage = asStorage(b.storage);
  const buffer = storage.buffer;
  const f16 = storage.dtype === 'float16';
  if ((N === 1 || cs === 1) && (K === 1 || rs === N)) {
    return { buffer, offset: b.offset, batchStrides: b.strides.slice(0, nb), trans: false, f16, tmp: null };
  }
  if ((K === 1 || rs === 1) && (N === 1 || cs === K)) {
    return { buffer, offset: b.offset, batchStrides: b.strides.slice(0, nb), trans: true, f16, tmp: null };
  }
  return compact(b, nb);
}

export function matmul(a: View, b: View, dtype: DType): WebGPUStorage {
  const nd = a.shape.length;
  const nb = nd - 2;
  const M = a.shape[nd - 2]!;
  const K = a.shape[nd - 1]!;
  const N = b.shape[nd - 1]!;
  const batch = a.shape.slice(0, nb);
  const nBatch = batch.reduce((p, d) => p * d, 1);
  const total = nBatch * M * N;
  if (total === 0) return allocStorage(0, dtype);
  if (K === 0) return full(total, 0, dtype);
  const A = prepA(a, nb, M, K);
  const B = prepB(b, nb, K, N);
  const out = allocStorage(total, dtype);
  const cStrides = new Array<number>(nb);
  let s = M * N;
  for (let i = nb - 1; i >= 0; i--) {
    cStrides[i] = s;
    s *= batch[i]!;
  }
  const c = collapseDims(batch, [A.batchStrides, B.batchStrides, cStrides]);
  // collapseDims returns [1] with strides 0 for an empty batch.
  const dims = c.shape;
  const [as, bs, cs] = c.strides as [number[], number[], number[]];
  const inner = dims.length >= 2 ? 2 : 1;
  const lead = dims.length - inner;
  const leadShape = dims.slice(0, lead);
  const nLead = leadShape.reduce((p, d) => p * d, 1);
  const idx = new Array<number>(lead).fill(0);
  const b0 = inner === 2 ? dims[lead]! : 1;
  const b1 = dims[dims.length - 1]!;
  const pick = (st: number[]): [number, number] => (inner === 2 ? [st[lead]!, st[lead + 1]!] : [0, st[lead]!]);
  for (let f = 0; f < nLead; f++) {
    const off = (st: number[]) => idx.reduce((p, i, d) => p + i * st[d]!, 0);
    matmulKernel(A.buffer, B.buffer, out.buffer, {
      M,
      N,
      K,
      transB: B.trans,
      bF16: B.f16,
      batch: [b0, b1],
      aOffset: A.offset + off(as),
      bOffset: B.offset + off(bs),
      cOffset: off(cs),
      aStrides: pick(as),
      bStrides: pick(bs),
      cStrides: pick(cs),
    });
    for (let d = lead - 1; d >= 0; d--) {
      if (++idx[d]! < leadShape[d]!) break;
      idx[d] = 0;
    }
  }
  if (A.tmp) disposeStorage(A.tmp);
  if (B.tmp) disposeStorage(B.tmp);
  return out;
}
