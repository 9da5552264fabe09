/**
 * Launcher for kernels/matmul-tiled.wgsl (version 3 of matmul, for real GPUs): batched C = A·B
 * or A·Bᵀ with workgroup-memory tiles and register blocking; B may be f16. See the WGSL header
 * for the tiling. `matmul()` in matmul.ts dispatches here on the 'gpu' kernel family (and for
 * f16 B on any adapter) when M is above what matmul-gemv serves.
 */
import { wgsl } from '@kts/kernels';
import { env } from '@kts/tensor/host';
import { currentDevice, requireF16, WebGPUError } from '../device.ts';
import { currentBatch, type Batch } from '../dispatch.ts';
import { ceilDiv, variantCache } from './common.ts';
import { checkMatmulBuffers, matmulLayout, type MatmulShape } from './matmul-shape.ts';

/** The prelude of matmul-tiled.wgsl and matmul-gemv.wgsl. */
export const MATMUL_COMMON_WGSL: string = wgsl['matmul-common'];
export const MATMUL_TILED_WGSL: string = wgsl['matmul-tiled'];
const variant = variantCache(`${MATMUL_COMMON_WGSL}\n${MATMUL_TILED_WGSL}`);

/** Tile configuration: C block BM × BN per workgroup, K slab BK, TM × TN accumulators per invocation. */
export interface TiledMatmulConfig {
  bm: number;
  bn: number;
  bk: number;
  tm: number;
  tn: number;
}

/** The two configurations the planner picks from (others can be passed for tuning). */
export const TILED_LARGE: TiledMatmulConfig = { bm: 128, bn: 128, bk: 16, tm: 8, tn: 8 };
export const TILED_SMALL: TiledMatmulConfig = { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 };

/**
 * Below this many 128 × 128 blocks the 64 × 64 tiles are used: a large GPU has ~100+ compute
 * units, and each wants a few workgroups in flight.
 */
const MIN_LARGE_BLOCKS = 512;

export function tiledWorkgroupBytes(c: TiledMatmulConfig): number {
  return c.bk * (c.bm + 4 + c.bn + 4) * 4;
}

/** Checks a configuration against the kernel's divisibility rules and the device's limits. */
export function checkTiledConfig(c: TiledMatmulConfig, device: GPUDevice = currentDevice()): void {
  const wg = (c.bm / c.tm) * (c.bn / c.tn);
  const ok = [c.bm, c.bn, c.bk, c.tm, c.tn].every((v) => Number.isInteger(v) && v > 0) &&
    c.tm % 4 === 0 && c.tn % 4 === 0 && c.bm % c.tm === 0 && c.bn % c.tn === 0 &&
    (c.bm * c.bk) % wg === 0 && (c.bn * c.bk) % wg === 0;
  if (!ok) throw new WebGPUError(`matmul-tiled: invalid tile configuration ${JSON.stringify(c)}`);
  const l = device.limits;
  if (wg > l.maxComputeInvocationsPerWorkgroup || tiledWorkgroupBytes(c) > l.maxComputeWorkgroupStorageSize) {
    throw new WebGPUError(
      `matmul-tiled: ${JSON.stringify(c)} needs ${wg} invocations and ${tiledWorkgroupBytes(c)} bytes of workgroup ` +
        `memory (device: ${l.maxComputeInvocationsPerWorkgroup}, ${l.maxComputeWorkgroupStorageSize})`,
    );
  }
}

/**
 * The planner's choice: large tiles when there are enough blocks, BK halved when memory is short.
 * KTS_MATMUL_TILES=BMxBNxBKxTMxTN forces one configuration (tuning on a GPU: bench/gpu/device-run.sh).
 */
export function tiledConfig(s: MatmulShape, device: GPUDevice = currentDevice()): TiledMatmulConfig {
  const forced = env('KTS_MATMUL_TILES');
  if (forced) {
    const [bm, bn, bk, tm, tn] = forced.split('x').map(Number) as [number, number, number, number, number];
    return { bm, bn, bk, tm, tn };
  }
  const [b0, b1] = typeof s.batch === 'number' ? [1, s.batch] : (s.batch ?? [1, 1]);
  const blocks = ceilDiv(s.M, 128) * ceilDiv(s.N, 128) * b0 * b1;
  const c = { ...(blocks >= MIN_LARGE_BLOCKS ? TILED_LARGE : TILED_SMALL) };
  while (c.bk > 4 && tiledWorkgroupBytes(c) > device.limits.maxComputeWorkgroupStorageSize) c.bk /= 2;
  return c;
}

/** Records C = A·B(ᵀ) with matmul-tiled.wgsl. `config` overrides the planner (tuning, tests). */
export function matmulTiled(
  a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, s: MatmulShape, batch: Batch = currentBatch(), config?: TiledMatmulConfig,
): TiledMatmulConfig {
  const l = matmulLayout(s);
  checkMatmulBuffers(a, b, c, l, s.bF16 ? 2 : 4);
  if (s.bF16) requireF16('matmul');
  const cfg = config ?? tiledConfig(s, batch.device);
  checkTiledConfig(cfg, batch.device);
  const grid: [number, number, number] = [ceilDiv(s.N, cfg.bn), ceilDiv(s.M, cfg.bm), l.b0 * l.b1];
  if (grid[0] > 65535 || grid[1] > 65535) throw new WebGPUError(`matmul-tiled: grid [${grid}] exceeds 65535 workgroups`);
  batch.dispatch({
    code: variant({ TRANS_B: !!s.transB, F16B: !!s.bF16 }, { BM: cfg.bm, BN: cfg.bn, BK: cfg.bk, TM: cfg.tm, TN: cfg.tn }),
    entryPoint: 'main',
    buffers: [a, b, c],
    uniforms: l.uniforms,
    workgroups: grid,
    label: `matmul tiled ${s.M}x${s.K}x${s.N}${s.transB ? ' T' : ''}${s.bF16 ? ' f16' : ''}`,
  });
  return cfg;
}
