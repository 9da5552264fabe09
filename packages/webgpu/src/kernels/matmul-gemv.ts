/**
 * Launcher for kernels/matmul-gemv.wgsl (version 4 of matmul, for real GPUs): C = A·B or A·Bᵀ
 * for M ≤ 8 rows (decode), bound by reading B once; B may be f16. `matmul()` in matmul.ts
 * dispatches here on the 'gpu' kernel family (and for f16 B on any adapter) when M ≤ GEMV_MAX_ROWS.
 */
import { wgsl } from '@kts/kernels';
import { requireF16, WebGPUError } from '../device.ts';
import { currentBatch, type Batch } from '../dispatch.ts';
import { ceilDiv, nextPow2, variantCache } from './common.ts';
import { checkMatmulBuffers, matmulLayout, type MatmulShape } from './matmul-shape.ts';
import { MATMUL_COMMON_WGSL } from './matmul-tiled.ts';

export const MATMUL_GEMV_WGSL: string = wgsl['matmul-gemv'];
const variant = variantCache(`${MATMUL_COMMON_WGSL}\n${MATMUL_GEMV_WGSL}`);

/** Rows of A the kernel takes (accumulators per lane). */
export const GEMV_MAX_ROWS = 8;
const WG = 256;
/** gemv_nt: lanes per column (one warp reads 32 consecutive k of a row of B). */
const LK = 32;
/** gemv_nn: K slices per workgroup. */
const KS = 4;

export function matmulGemv(a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, s: MatmulShape, batch: Batch = currentBatch()): void {
  if (s.M > GEMV_MAX_ROWS) throw new WebGPUError(`matmul-gemv: M = ${s.M} > ${GEMV_MAX_ROWS}; use matmulTiled`);
  const l = matmulLayout(s);
  checkMatmulBuffers(a, b, c, l, s.bF16 ? 2 : 4);
  if (s.bF16) requireF16('matmul');
  const cols = s.transB ? WG / LK : WG / KS;
  const gx = ceilDiv(s.N, cols);
  if (gx > 65535) throw new WebGPUError(`matmul-gemv: N = ${s.N} needs ${gx} > 65535 workgroups`);
  batch.dispatch({
    code: variant({ F16B: !!s.bF16 }, { WG, LK, KS, MR: nextPow2(s.M) }),
    entryPoint: s.transB ? 'gemv_nt' : 'gemv_nn',
    buffers: [a, b, c],
    uniforms: l.uniforms,
    workgroups: [gx, 1, l.b0 * l.b1],
    label: `matmul gemv ${s.M}x${s.K}x${s.N}${s.transB ? ' T' : ''}${s.bF16 ? ' f16' : ''}`,
  });
}
