/**
 * Loader and dispatch helper for kernels/matmul.wgsl (batched f32 C = A·B or A·Bᵀ), and for
 * kernels/matmul-packed.wgsl, which `matmul()` picks instead on llvmpipe for large vec4 shapes
 * (usePackedMatmul). See the WGSL headers for layouts and tiling.
 */
import { wgsl } from '@kts/kernels';
import { adapterInfo, checkStorageBufferSize, currentDevice, kernelFamily, WebGPUError } from '../device.ts';
import { currentBatch, type Batch, type DispatchSpec } from '../dispatch.ts';
import { STORAGE_USAGE } from '../pool.ts';
import { GEMV_MAX_ROWS, matmulGemv } from './matmul-gemv.ts';
import { checkMatmulBuffers, matmulLayout, type MatmulLayout, type MatmulShape } from './matmul-shape.ts';
import { matmulTiled } from './matmul-tiled.ts';

export type { MatmulShape } from './matmul-shape.ts';

export const MATMUL_WGSL: string = wgsl['matmul'];
export const MATMUL_PACKED_WGSL: string = wgsl['matmul-packed'];

/** Rows / columns computed per invocation (must match TM and 4·TN4 in the WGSL). */
export const MATMUL_TILE_M = 16;
export const MATMUL_TILE_N_PER_LANE = 16;

export interface MatmulPlan {
  entryPoint: 'main_vec4' | 'main_vec4_row' | 'main_scalar';
  constants: { WG_X: number; TRANS_B: number };
  workgroups: [number, number, number];
  uniforms: Uint32Array;
  layout: MatmulLayout;
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

/** Plans matmul.wgsl (version 1, the CPU-renderer kernel): entry point, constants, workgroups. */
export function planMatmul(s: MatmulShape, wgX = matmulWorkgroupWidth()): MatmulPlan {
  const { M, N, K } = s;
  const l = matmulLayout(s);
  const vec4 = K % 4 === 0 && N % 4 === 0 && l.aligned4;
  const gx = Math.ceil(M / MATMUL_TILE_M);
  // main_vec4: 16 columns per invocation; main_scalar: 4.
  const gy = Math.ceil(N / ((vec4 ? MATMUL_TILE_N_PER_LANE : 4) * wgX));
  if (gx > 65535 || gy > 65535) throw new WebGPUError(`matmul: grid [${gx}, ${gy}] exceeds 65535 workgroups`);
  return {
    entryPoint: vec4 ? (M === 1 ? 'main_vec4_row' : 'main_vec4') : 'main_scalar',
    constants: { WG_X: wgX, TRANS_B: s.transB ? 1 : 0 },
    workgroups: [gx, gy, l.b0 * l.b1],
    uniforms: l.uniforms,
    layout: l,
    aElems: l.aElems,
    bElems: l.bElems,
    cElems: l.cElems,
  };
}

/** Columns of A per packed block (64 KiB uniform window / 16 rows / 4 bytes). */
const PACK_KC = 1024;
const WINDOW_BYTES = 65536;
const UNIFORM_BIT = 0x0040; // GPUBufferUsage.UNIFORM

/**
 * Whether matmul-packed.wgsl serves this shape: only on llvmpipe (a real GPU loads storage
 * buffers fast and would only pay the extra dispatches), only on the vec4 path, and only when each
 * of its dispatches (16 rows × N × a K chunk) does enough work to hide llvmpipe's fixed
 * per-dispatch cost and its pack pass: 16·N·min(K,1024) ≥ 2^23 multiply-adds (N ≥ 512 at K ≥ 1024);
 * below that main_vec4 is faster (bench/results/llvmpipe-tuning.md).
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
 * Records the packed path (version 2): one pack_a dispatch, then one main_packed dispatch per
 * block (see matmul-packed.wgsl). The packed buffer goes back to the pool at once: later users of
 * it are recorded after these dispatches, and the queue runs them in order.
 */
export function matmulPacked(a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, s: MatmulShape, plan: MatmulPlan = planMatmul(s), batch: Batch = currentBatch()): void {
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
  checkMatmulBuffers(a, b, c, plan.layout);
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

/**
 * The matmul kernel versions, in the order they were written (the harness, `npm run kernel --
 * matmul --version N`, runs any of them):
 *   1  matmul.wgsl         CPU renderers: per-lane 16×16 register tiles, no workgroup memory
 *   2  matmul-packed.wgsl  llvmpipe, large shapes: A through 64 KiB uniform windows
 *   3  matmul-tiled.wgsl   GPUs: workgroup-memory tiles, 8×8 / 4×4 register blocks, f16 B
 *   4  matmul-gemv.wgsl    GPUs, M ≤ 8: B read once, coalesced, over many workgroups
 */
export type MatmulVersion = 1 | 2 | 3 | 4;

/** The version matmul() runs for a shape: by kernel family (f16 B always takes the GPU kernels). */
export function matmulVersion(shape: MatmulShape, device: GPUDevice = currentDevice()): MatmulVersion {
  if (shape.bF16 || kernelFamily() === 'gpu') return shape.M <= GEMV_MAX_ROWS ? 4 : 3;
  return usePackedMatmul(shape, planMatmul(shape), device) ? 2 : 1;
}

/** Records C = A·B(ᵀ) on `batch` (default: the shared batch). Submit with flush()/read. */
export function matmul(a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, shape: MatmulShape, batch: Batch = currentBatch()): void {
  const v = matmulVersion(shape, batch.device);
  if (v === 4) return matmulGemv(a, b, c, shape, batch);
  if (v === 3) {
    matmulTiled(a, b, c, shape, batch);
    return;
  }
  const plan = planMatmul(shape);
  const spec = matmulSpec(a, b, c, shape, plan); // also checks the buffer sizes
  if (usePackedMatmul(shape, plan, batch.device)) matmulPacked(a, b, c, shape, plan, batch);
  else batch.dispatch(spec);
}

/** Throws the clear limits error if an [rows, cols] f32 operand cannot be bound. */
export function checkMatmulOperand(device: GPUDevice, elems: number, name: string): void {
  checkStorageBufferSize(device, elems * 4, `matmul operand ${name}`);
}
