/**
 * Shared planning for the row kernels (softmax, rmsnorm, kl, cross-entropy, and steering's
 * reductions): they all see [rows, N] row-major f32 tensors and reduce along N. The
 * WGSL prelude kernels/rows.wgsl (units, lanes per row, group reductions) is prepended
 * to each kernel source. Not a kernel itself.
 */
import { wgsl } from '@kts/kernels';
import { adapterInfo, kernelFamily, WebGPUError, type KernelFamily } from '../device.ts';
import { ceilDiv, fusedLanes, grid2d, nextPow2, prevPow2, specialize } from './common.ts';

export const ROWS_PRELUDE_WGSL: string = wgsl['rows'];

export interface RowPlan {
  wg: number;
  /** Lanes per row. */
  g: number;
  vec4: boolean;
  /** Units per row (N/4 with vec4, else N). */
  nu: number;
  grid: [number, number, number];
  /** Group reductions through subgroup operations (the SUBGROUPS variant of rows.wgsl). */
  subgroups: boolean;
}

/** Workgroups wanted in flight: 2 llvmpipe cores need few; a GPU wants many. */
const TARGET_WORKGROUPS = { llvmpipe: 64, gpu: 1024 };

/**
 * Lanes per row. llvmpipe: enough rows per workgroup when rows are many (G = 1: no reductions),
 * up to the whole workgroup per row when rows are few, never more lanes than ~N/16 units so each
 * lane has work. GPUs (WG = 256): ~4 units per lane, more lanes while there are too few
 * workgroups. Subgroup reductions when the device has them (adapterInfo().subgroupReductions)
 * and G is a multiple of the largest subgroup size (so subgroups never straddle two rows).
 */
export function planRows(
  rows: number, N: number, opts: { g?: number; vec4?: boolean; wg?: number; family?: KernelFamily; subgroups?: boolean } = {},
): RowPlan {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(N) || N < 1) {
    throw new WebGPUError(`row kernel: invalid shape [${rows}, ${N}]`);
  }
  const family = opts.family ?? kernelFamily();
  const wg = opts.wg ?? fusedLanes(family);
  const vec4 = opts.vec4 ?? N % 4 === 0;
  if (vec4 && N % 4 !== 0) throw new WebGPUError(`row kernel: vec4 needs N % 4 == 0, got ${N}`);
  const nu = vec4 ? N / 4 : N;
  const target = TARGET_WORKGROUPS[family];
  const forWork = nextPow2(Math.ceil((wg * target) / Math.max(rows, 1)));
  const perLane = family === 'gpu' ? 4 : 16;
  let g = opts.g ?? Math.min(wg, forWork, prevPow2(Math.max(1, Math.floor(nu / perLane))));
  g = Math.max(1, Math.min(g, wg));
  if (wg % g !== 0) throw new WebGPUError(`row kernel: ${g} lanes per row must divide the workgroup size ${wg}`);
  const [x, y] = grid2d(ceilDiv(rows, wg / g));
  return { wg, g, vec4, nu, grid: [x, y, 1], subgroups: opts.subgroups ?? useSubgroups(family, g) };
}

/** Whether a group of g lanes can reduce with subgroup operations on this device. */
export function useSubgroups(family: KernelFamily, g: number): boolean {
  const info = adapterInfo();
  const max = info.subgroupMaxSize || 128; // 128: the largest subgroup WebGPU allows
  return family === 'gpu' && info.subgroupReductions && g >= max && g % max === 0;
}

/** Memoised prelude + kernel source specialised for a plan. */
export function rowCodeCache(src: string): (plan: RowPlan, flags?: Record<string, boolean>, consts?: Record<string, number>) => string {
  const memo = new Map<string, string>();
  const full = `${ROWS_PRELUDE_WGSL}\n${src}`;
  return (plan, flags = {}, consts = {}) => {
    const key = JSON.stringify([plan.wg, plan.g, plan.vec4, plan.subgroups, flags, consts]);
    let code = memo.get(key);
    if (code === undefined) {
      code = specialize(full, { VEC4: plan.vec4, SUBGROUPS: plan.subgroups, ...flags }, { WG: plan.wg, G: plan.g, ...consts });
      memo.set(key, code);
    }
    return code;
  };
}
