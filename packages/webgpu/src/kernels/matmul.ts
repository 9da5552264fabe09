/**
 * Loader and dispatch helper for kernels/matmul.wgsl (batched f32 C = A·B or A·Bᵀ), and for
 * kernels/matmul-packed.wgsl, which `matmul()` picks instead on llvmpipe for large vec4 shapes
 * (usePackedMatmul). See the WGSL headers for layouts, tiling and measured numbers.
 */
import { wgsl } from '@kts/kernels';
import { adapterInfo, checkStorageBufferSize, WebGPUError } from '../device.ts';
import { currentBatch, type Batch, type DispatchSpec } from '../kernel.ts';
import { STORAGE_USAGE } from '../pool.ts';

export const MATMUL_WGSL: string = wgsl['matmul'];
export const MATMUL_PACKED_WGSL: string = wgsl['matmul-packed'];

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
  entryPoint: 'main_vec4' | 'main_vec4_row' | 'main_scalar';
  constants: { WG_X: number; TRANS_B: number };
  workgroups: [number, number, number];
  uniforms: Uint32Array;
  /** The shape's defaults resolved: inner batch dim, element offsets and [outer, inner] batch strides. */
  layout: { b1: number; aOff: number; bOff: number; cOff: number; aS: readonly [number, number]; bS: readonly [number, number]; cS: readonly [number, number] };
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
    entryPoint: vec4 ? (M === 1 ? 'main_vec4_row' : 'main_vec4') : 'main_scalar',
    constants: { WG_X: wgX, TRANS_B: transB ? 1 : 0 },
    workgroups: [gx, gy, b0 * b1],
    uniforms,
    layout: { b1, aOff, bOff, cOff, aS, bS, cS },
    aElems: maxIndex(aOff, aS, b0, b1, M * K),
    bElems: maxIndex(bOff, bS, b0, b1, K * N),
    cElems: maxIndex(cOff, cS, b0, b1, M * N),
  };
}

/** Columns of A per packed block (64 KiB uniform window / 16 rows / 4 bytes). */
const PACK_KC = 1024;
const WINDOW_BYTES = 65536;
const UNIFORM_BIT = 0x0040; // GPUBufferUsage.UNIFORM

/**
 * Whether matmul-packed.wgsl serves this shape: only on llvmpipe (a real GPU loads storage
 * buffers fast and would only pay the extra dispatches), only on the vec4 path, and only when each
 * of its dispatches (16 rows × N × a K chunk) does enough work to hide llvmpipe's ~37 µs
 * per-dispatch cost and its pack pass: 16·N·min(K,1024) ≥ 2^23 multiply-adds (N ≥ 512 at K ≥ 1024).
 * Measured on the 2-core EPYC, same runs: 1024³ 41-42 GFLOP/s vs 34-35 for main_vec4; 512×4096×4096
 * (transposed B, 4 K chunks) 45 vs 41; 512³ would be slower (30-32 vs 35), hence the threshold.
 */
export function usePackedMatmul(s: MatmulShape, plan: MatmulPlan, device: GPUDevice): boolean {
  if (plan.entryPoint !== 'main_vec4' || !adapterInfo().isLlvmpipe || s.M < 16) return false;
  const kc = Math.min(s.K, PACK_KC);
  if (16 * s.N * kc < 1 << 23) return false;
  const blocks = plan.workgroups[2] * Math.ceil(s.M / 16) * Math.ceil(s.K / kc);
  if (blocks > 4096) return false;
  return blocks * 64 * kc + WINDOW_BYTES <= device.limits.maxStorageBufferBindingSize;
}

/**
 * Records the packed path: one pack_a dispatch, then one main_packed dispatch per block (see
 * matmul-packed.wgsl). The packed buffer goes back to the pool at once: later users of it are
 * recorded after these dispatches, and the queue runs them in order.
 */
function matmulPacked(a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, s: MatmulShape, plan: MatmulPlan, batch: Batch): void {
  const { M, N, K } = s;
  const { b1, aOff, bOff, cOff, aS: [aS0, aS1], bS: [bS0, bS1], cS: [cS0, cS1] } = plan.layout;
  const nb = plan.workgroups[2];
  const kc = Math.min(K, PACK_KC);
  const blocksM = Math.ceil(M / 16);
  const chunks = Math.ceil(K / kc);
  const perBatch = blocksM * chunks * 16 * (kc / 4); // vec4s
  // Without K chunks, A's own rows are already 16-row windows when every window start is 256-byte
  // aligned (the uniform-binding offset alignment) and the buffer can hold a 64 KiB binding: then
  // the pack pass (~7 % of the time at 1024³) is skipped. Windows near the buffer's end are moved
  // back to end at the buffer's end, and the kernel reads its rows at an offset (aIdx) in them.
  const direct = chunks === 1 && (a.usage & UNIFORM_BIT) !== 0 && a.size >= WINDOW_BYTES && a.size % 256 === 0 &&
    [aOff, aS0, aS1].every((v) => v % 64 === 0);
  const packed = direct ? null : batch.pool.acquire(nb * perBatch * 16 + WINDOW_BYTES, STORAGE_USAGE);
  const groups = Math.ceil(perBatch / 64);
  const gx = Math.min(groups, 65535);
  if (packed) batch.dispatch({
    code: MATMUL_PACKED_WGSL,
    entryPoint: 'pack_a',
    buffers: [a, packed],
    uniforms: new Uint32Array([M, K, kc, blocksM, chunks, b1, aOff, 0, aS0, aS1, perBatch, 0]),
    workgroups: [gx, Math.ceil(groups / gx), nb],
    label: `matmul pack A ${M}x${K}`,
  });
  const gy = Math.ceil(N / (MATMUL_TILE_N_PER_LANE * plan.constants.WG_X));
  for (let z = 0; z < nb; z++) {
    const z0 = Math.floor(z / b1), z1 = z % b1;
    const bBase = bOff + z0 * bS0 + z1 * bS1;
    const cBase = cOff + z0 * cS0 + z1 * cS1;
    for (let bm = 0; bm < blocksM; bm++) {
      for (let ch = 0; ch < chunks; ch++) {
        const block = (z * blocksM + bm) * chunks + ch;
        const k0 = ch * kc;
        let window: { buffer: GPUBuffer; offset: number; size: number };
        let aIdx = 0;
        if (packed) window = { buffer: packed, offset: block * 64 * kc, size: WINDOW_BYTES };
        else {
          const rowStart = (aOff + z0 * aS0 + z1 * aS1 + bm * 16 * K) * 4;
          const start = Math.min(rowStart, a.size - WINDOW_BYTES);
          window = { buffer: a, offset: start, size: WINDOW_BYTES };
          aIdx = (rowStart - start) / 16;
        }
        batch.dispatch({
          code: MATMUL_PACKED_WGSL,
          entryPoint: s.transB ? 'main_packed_nt' : 'main_packed_nn',
          constants: { WG_X: plan.constants.WG_X },
          buffers: [window, b, c],
          uniforms: new Uint32Array([N, K, kc, Math.min(kc, K - k0), k0, bm * 16, Math.min(16, M - bm * 16), ch > 0 ? 1 : 0, bBase, cBase, aIdx, 0]),
          workgroups: [1, gy, 1],
          label: `matmul packed ${M}x${K}x${N} block ${block}`,
        });
      }
    }
  }
  if (packed) batch.pool.release(packed);
}

/** Dispatch spec for C = A·B(ᵀ) on buffers a, b, c (checks buffer sizes). */
export function matmulSpec(a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, shape: MatmulShape, plan = planMatmul(shape)): DispatchSpec {
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
  const plan = planMatmul(shape);
  const spec = matmulSpec(a, b, c, shape, plan); // also checks the buffer sizes
  if (usePackedMatmul(shape, plan, batch.device)) matmulPacked(a, b, c, shape, plan, batch);
  else batch.dispatch(spec);
}

/** Throws the clear limits error if an [rows, cols] f32 operand cannot be bound. */
export function checkMatmulOperand(device: GPUDevice, elems: number, name: string): void {
  checkStorageBufferSize(device, elems * 4, `matmul operand ${name}`);
}
