/**
 * The shape and layout of a batched matmul, shared by every matmul kernel's launcher
 * (matmul.ts: matmul.wgsl and matmul-packed.wgsl; matmul-tiled.ts; matmul-gemv.ts): all of
 * them read the same uniform block (M, N, K, batch dims, offsets, batch strides).
 */
import { WebGPUError } from '../device.ts';

export interface MatmulShape {
  M: number;
  N: number;
  K: number;
  /** false: B is [K,N] (C = A·B); true: B is [N,K] (C = A·Bᵀ). */
  transB?: boolean;
  /**
   * B's elements are f16 (2 bytes each; weights stored as float16): served by the GPU kernels
   * (matmul-tiled.wgsl, matmul-gemv.wgsl) on any adapter with shader-f16; accumulation stays f32.
   */
  bF16?: boolean;
  /** Batch dims [outer, inner] (or one number = [1, n]); default [1, 1]. */
  batch?: number | readonly [number, number];
  /** Element offsets of batch entry 0 in each buffer. */
  aOffset?: number;
  bOffset?: number;
  cOffset?: number;
  /** Batch strides in elements [outer, inner]; default contiguous. Use 0 to broadcast. */
  aStrides?: readonly [number, number];
  bStrides?: readonly [number, number];
  cStrides?: readonly [number, number];
}

function maxIndex(off: number, strides: readonly [number, number], b0: number, b1: number, span: number): number {
  return off + (b0 - 1) * strides[0] + (b1 - 1) * strides[1] + span;
}

/** A shape's defaults resolved: inner batch dim, offsets, strides, uniforms and buffer extents. */
export interface MatmulLayout {
  b0: number;
  b1: number;
  aOff: number;
  bOff: number;
  cOff: number;
  aS: readonly [number, number];
  bS: readonly [number, number];
  cS: readonly [number, number];
  /** Offsets and strides all multiples of 4 (vec4 loads possible). */
  aligned4: boolean;
  /** The uniform block shared by matmul.wgsl, matmul-tiled.wgsl and matmul-gemv.wgsl. */
  uniforms: Uint32Array;
  aElems: number;
  bElems: number;
  cElems: number;
}

/** Validates a shape and resolves its layout (shared by every matmul kernel). */
export function matmulLayout(s: MatmulShape): MatmulLayout {
  const { M, N, K } = s;
  for (const [n, v] of Object.entries({ M, N, K })) {
    if (!Number.isInteger(v) || v < 1) throw new WebGPUError(`matmul: ${n} must be a positive integer, got ${v}`);
  }
  const [b0, b1] = typeof s.batch === 'number' ? [1, s.batch] : (s.batch ?? [1, 1]);
  if (!(b0 >= 1 && b1 >= 1) || !Number.isInteger(b0) || !Number.isInteger(b1)) {
    throw new WebGPUError(`matmul: invalid batch [${b0}, ${b1}]`);
  }
  if (b0 * b1 > 65535) throw new WebGPUError(`matmul: batch ${b0 * b1} exceeds 65535 workgroups in z`);
  const aS = s.aStrides ?? [b1 * M * K, M * K];
  const bS = s.bStrides ?? [b1 * K * N, K * N];
  const cS = s.cStrides ?? [b1 * M * N, M * N];
  const aOff = s.aOffset ?? 0;
  const bOff = s.bOffset ?? 0;
  const cOff = s.cOffset ?? 0;
  const all = [aOff, bOff, cOff, ...aS, ...bS, ...cS];
  if (all.some((v) => !Number.isInteger(v) || v < 0)) throw new WebGPUError('matmul: offsets/strides must be integers ≥ 0');
  return {
    b0, b1, aOff, bOff, cOff, aS, bS, cS,
    aligned4: all.every((v) => v % 4 === 0),
    uniforms: new Uint32Array([M, N, K, b1, aOff, bOff, cOff, 0, aS[0], aS[1], bS[0], bS[1], cS[0], cS[1], 0, 0]),
    aElems: maxIndex(aOff, aS, b0, b1, M * K),
    bElems: maxIndex(bOff, bS, b0, b1, K * N),
    cElems: maxIndex(cOff, cS, b0, b1, M * N),
  };
}

/** Throws a clear error when a buffer is smaller than the layout needs (B: 2 bytes per f16 element). */
export function checkMatmulBuffers(a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, l: MatmulLayout, bBytes = 4): void {
  const need: [string, GPUBuffer, number][] = [
    ['A', a, l.aElems * 4],
    ['B', b, l.bElems * bBytes],
    ['C', c, l.cElems * 4],
  ];
  for (const [name, buf, bytes] of need) {
    if (buf.size < bytes) throw new WebGPUError(`matmul: buffer ${name} has ${buf.size} bytes, needs ${bytes}`);
  }
}
