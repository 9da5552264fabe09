/**
 * Shared planning for the row kernels (fused-softmax, fused-rmsnorm, fused-kl,
 * fused-cross-entropy): they all see [rows, N] row-major f32 tensors and reduce along N. The
 * WGSL prelude kernels/fused-rows.wgsl (units, lanes per row, group reductions) is prepended
 * to each kernel source. Not a kernel itself.
 */
import { wgsl } from '@kts/kernels';
import { WebGPUError } from '../device.ts';
import { ceilDiv, fusedLanes, grid2d, nextPow2, prevPow2, specialize } from './fused-common.ts';

export const ROWS_PRELUDE_WGSL: string = wgsl['fused-rows'];

export interface RowPlan {
  wg: number;
  /** Lanes per row. */
  g: number;
  vec4: boolean;
  /** Units per row (N/4 with vec4, else N). */
  nu: number;
  grid: [number, number, number];
}

/** Workgroups wanted in flight (2 llvmpipe cores need few; a GPU wants many). */
const TARGET_WORKGROUPS = 64;

/**
 * Lanes per row: enough rows per workgroup when rows are many (G = 1 on llvmpipe: no
 * reductions), up to the whole workgroup per row when rows are few; never more lanes than
 * ~N/16 units so each lane has work.
 */
export function planRows(rows: number, N: number, opts: { g?: number; vec4?: boolean; wg?: number } = {}): RowPlan {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(N) || N < 1) {
    throw new WebGPUError(`row kernel: invalid shape [${rows}, ${N}]`);
  }
  const wg = opts.wg ?? fusedLanes();
  const vec4 = opts.vec4 ?? N % 4 === 0;
  if (vec4 && N % 4 !== 0) throw new WebGPUError(`row kernel: vec4 needs N % 4 == 0, got ${N}`);
  const nu = vec4 ? N / 4 : N;
  let g = opts.g ?? Math.min(wg, nextPow2(Math.ceil((wg * TARGET_WORKGROUPS) / Math.max(rows, 1))), prevPow2(Math.max(1, Math.floor(nu / 16))));
  g = Math.max(1, Math.min(g, wg));
  if (wg % g !== 0) throw new WebGPUError(`row kernel: ${g} lanes per row must divide the workgroup size ${wg}`);
  const [x, y] = grid2d(ceilDiv(rows, wg / g));
  return { wg, g, vec4, nu, grid: [x, y, 1] };
}

/** Memoised prelude + kernel source specialised for a plan. */
export function rowCodeCache(src: string): (plan: RowPlan, flags?: Record<string, boolean>, consts?: Record<string, number>) => string {
  const memo = new Map<string, string>();
  const full = `${ROWS_PRELUDE_WGSL}\n${src}`;
  return (plan, flags = {}, consts = {}) => {
    const key = JSON.stringify([plan.wg, plan.g, plan.vec4, flags, consts]);
    let code = memo.get(key);
    if (code === undefined) {
      code = specialize(full, { VEC4: plan.vec4, ...flags }, { WG: plan.wg, G: plan.g, ...consts });
      memo.set(key, code);
    }
    return code;
  };
}
