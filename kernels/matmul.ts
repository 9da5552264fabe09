/**
 * Loader and dispatch helper for kernels/matmul.wgsl (batched f32 C = A·B or A·Bᵀ).
 * See the WGSL header for layouts, tiling and measured numbers.
 */
import { readFileSync } from 'node:fs';
import { adapterInfo, checkStorageBufferSize, WebGPUError } from '../packages/webgpu/src/device.ts';
import { currentBatch, type Batch, type DispatchSpec } from '../packages/webgpu/src/kernel.ts';

export const MATMUL_WGSL: string = readFileSync(new URL('./matmul.wgsl', import.meta.url), 'utf8');

/** Rows / columns computed per invocation (must match TM and 4·TN4 in the WGSL). */
export const MATMUL_TILE_M = 16;
export const MATMUL_TILE_N_PER_LANE = 16;

export interface MatmulShape {
  M: number;
  N: number;
  K: number;
  /** false: B is [K,N] (C = A·B); true: B is [N,K] (C = A·Bᵀ). */
  transB?: boolean;
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

export interface MatmulPlan {
  entryPoint: 'main_vec4' | 'main_scalar';
  constants: { WG_X: number; TRANS_B: number };
  workgroups: [number, number, number];
  uniforms: Uint32Array;
  /** Minimum element counts each buffer must hold. */
  aElems: number;
  bElems: number;
  cElems: number;
}

/** Invocations per workgroup: llvmpipe SIMD lanes (8/16), 64 on a real GPU. */
export function matmulWorkgroupWidth(): number {
  const info = adapterInfo();
  return info.isLlvmpipe ? Math.max(4, info.simdLanes || 8) : 64;
}

function maxIndex(off: number, strides: readonly [number, number], b0: number, b1: number, span: number): number {
  return off + (b0 - 1) * strides[0] + (b1 - 1) * strides[1] + span;
}

/** Validates a shape and computes entry point, constants, workgroups and uniforms. */
export function planMatmul(s: MatmulShape, wgX = matmulWorkgroupWidth()): MatmulPlan {
  const { M, N, K } = s;
  for (const [n, v] of Object.entries({ M, N, K })) {
    if (!Number.isInteger(v) || v < 1) throw new WebGPUError(`matmul: ${n} must be a positive integer, got ${v}`);
  }
  const [b0, b1] = typeof s.batch === 'number' ? [1, s.batch] : (s.batch ?? [1, 1]);
  if (!(b0 >= 1 && b1 >= 1) || !Number.isInteger(b0) || !Number.isInteger(b1)) {
    throw new WebGPUError(`matmul: invalid batch [${b0}, ${b1}]`);
  }
  if (b0 * b1 > 65535) throw new WebGPUError(`matmul: batch ${b0 * b1} exceeds 65535 workgroups in z`);
  const transB = s.transB ?? false;
  const aS = s.aStrides ?? [b1 * M * K, M * K];
  const bS = s.bStrides ?? [b1 * K * N, K * N];
  const cS = s.cStrides ?? [b1 * M * N, M * N];
  const aOff = s.aOffset ?? 0;
  const bOff = s.bOffset ?? 0;
  const cOff = s.cOffset ?? 0;
  const all = [aOff, bOff, cOff, ...aS, ...bS, ...cS];
  if (all.some((v) => !Number.isInteger(v) || v < 0)) throw new WebGPUError('matmul: offsets/strides must be integers ≥ 0');
  const vec4 = K % 4 === 0 && N % 4 === 0 && all.every((v) => v % 4 === 0);
  const gx = Math.ceil(M / MATMUL_TILE_M);
  // main_vec4: 16 columns per invocation; main_scalar: 4.
  const gy = Math.ceil(N / ((vec4 ? MATMUL_TILE_N_PER_LANE : 4) * wgX));
  if (gx > 65535 || gy > 65535) throw new WebGPUError(`matmul: grid [${gx}, ${gy}] exceeds 65535 workgroups`);
  const uniforms = new Uint32Array([M, N, K, b1, aOff, bOff, cOff, 0, aS[0], aS[1], bS[0], bS[1], cS[0], cS[1], 0, 0]);
  return {
    entryPoint: vec4 ? 'main_vec4' : 'main_scalar',
    constants: { WG_X: wgX, TRANS_B: transB ? 1 : 0 },
    workgroups: [gx, gy, b0 * b1],
    uniforms,
    aElems: maxIndex(aOff, aS, b0, b1, M * K),
    bElems: maxIndex(bOff, bS, b0, b1, K * N),
    cElems: maxIndex(cOff, cS, b0, b1, M * N),
  };
}

/** Dispatch spec for C = A·B(ᵀ) on buffers a, b, c (checks buffer sizes). */
export function matmulSpec(a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, shape: MatmulShape): DispatchSpec {
  const plan = planMatmul(shape);
  const need: [string, GPUBuffer, number][] = [
    ['A', a, plan.aElems],
    ['B', b, plan.bElems],
    ['C', c, plan.cElems],
  ];
  for (const [name, buf, elems] of need) {
    if (buf.size < elems * 4) {
      throw new WebGPUError(`matmul: buffer ${name} has ${buf.size} bytes, needs ${elems * 4}`);
    }
  }
  return {
    code: MATMUL_WGSL,
    entryPoint: plan.entryPoint,
    constants: plan.constants,
    buffers: [a, b, c],
    uniforms: plan.uniforms,
    workgroups: plan.workgroups,
    label: `matmul ${shape.M}x${shape.K}x${shape.N}${shape.transB ? ' T' : ''}`,
  };
}

/** Records C = A·B(ᵀ) on `batch` (default: the shared batch). Submit with flush()/read. */
export function matmul(a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, shape: MatmulShape, batch: Batch = currentBatch()): void {
  batch.dispatch(matmulSpec(a, b, c, shape));
}

/** Throws the clear limits error if an [rows, cols] f32 operand cannot be bound. */
export function checkMatmulOperand(device: GPUDevice, elems: number, name: string): void {
  checkStorageBufferSize(device, elems * 4, `matmul operand ${name}`);
}
