/**
 * Generator and multi-pass planner for kernels/reduce.wgsl: reduces nRows contiguous rows of
 * length R (sum, max, min, argmax, argmin) into one value (or int32 index) per row.
 *
 * Plan: short rows (R ≤ 64) or many rows (nRows ≥ 1024 and R ≤ 4096) → main_serial, one
 * invocation per row, one pass. Otherwise main_wg: 64-invocation workgroups with a workgroup-
 * memory tree reduction over chunks of ≤ 4096 elements; when a row has several chunks, the
 * [nRows, nChunks] partials (values, plus indices for arg ops) are reduced by further passes.
 * Partials come from the shared pool and are released once recorded (queue order keeps this
 * safe). Sum of f32 accumulates in f32 (per-invocation sequential + tree), max/min propagate
 * NaN; argmax/argmin return the first index of the extreme value or of the first NaN.
 */
import { wgsl } from '@kts/kernels';
import { WebGPUError } from '../device.ts';
import { currentBatch, type Batch } from '../dispatch.ts';
import type { BufferPool } from '../pool.ts';
import { grid1d, type WType } from './elementwise.ts';

export const REDUCE_WGSL: string = wgsl['reduce'];

export type ReduceKind = 'sum' | 'max' | 'min' | 'argmax' | 'argmin';

const WG = 64;
const CHUNK = 4096;

function combineBody(op: ReduceKind): string {
  if (op === 'sum') return '  return Acc(a.v + b.v, 0);';
  const cmp = op === 'max' || op === 'argmax' ? '>' : '<';
  return `  if (a.i < 0) { return b; }
  if (b.i < 0) { return a; }
  let na = isnanv(a.v);
  let nb = isnanv(b.v);
  if (na || nb) {
    if (na && nb) { if (b.i < a.i) { return b; } return a; }
    if (na) { return a; }
    return b;
  }
  if (b.v ${cmp} a.v) { return b; }
  if (a.v ${cmp} b.v) { return a; }
  if (b.i < a.i) { return b; }
  return a;`;
}

/** WGSL for one pass. `inIdx`: arg ops after the first pass read indices from XI. */
export function reduceSource(op: ReduceKind, type: WType, inIdx: boolean): string {
  const arg = op === 'argmax' || op === 'argmin';
  if (inIdx && !arg) throw new WebGPUError('reduceSource: input indices only for arg ops');
  const decls: string[] = [];
  let b = 1;
  if (inIdx) decls.push(`@group(0) @binding(${b++}) var<storage, read> XI: array<i32>;`);
  decls.push(`@group(0) @binding(${b++}) var<storage, read_write> OV: array<${type}>;`);
  if (arg) decls.push(`@group(0) @binding(${b++}) var<storage, read_write> OI: array<i32>;`);
  return REDUCE_WGSL.replace('__DECLS__', decls.join('\n'))
    .replace('__UB__', String(b))
    .replace('__ISNAN__', type === 'f32' ? 'return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;' : 'return false;')
    .replace('__COMBINE__', combineBody(op))
    .replace('__IDX__', inIdx ? 'XI[pos]' : 'i32(j)')
    .replace('__STORE__', arg ? '  OV[g] = a.v;\n  OI[g] = a.i;' : '  OV[g] = a.v;')
    .replaceAll('__T__', type);
}

const sources = new Map<string, string>();
function source(op: ReduceKind, type: WType, inIdx: boolean): string {
  const k = `${op}:${type}:${inIdx}`;
  let s = sources.get(k);
  if (!s) sources.set(k, (s = reduceSource(op, type, inIdx)));
  return s;
}

/**
 * Records the reduction of rows [nRows, R] of `x` (contiguous from element `xOffset`) into
 * `out` (nRows elements: values of `type`, or int32 indices for arg ops). R ≥ 1.
 */
export function reduceRows(
  op: ReduceKind,
  type: WType,
  x: { buffer: GPUBuffer; offset: number },
  nRows: number,
  R: number,
  out: GPUBuffer,
  pool: BufferPool,
  batch: Batch = currentBatch(),
): void {
  if (nRows === 0) return;
  if (R < 1) throw new WebGPUError(`reduce ${op}: empty rows`);
  const arg = op === 'argmax' || op === 'argmin';
  let src = x.buffer;
  let srcIdx: GPUBuffer | null = null;
  let xOff = x.offset;
  let len = R;
  const temps: GPUBuffer[] = [];
  for (;;) {
    const serial = len <= 64 || (nRows >= 1024 && len <= 4096);
    const chunk = serial ? len : CHUNK;
    const nChunks = Math.ceil(len / chunk);
    const total = nRows * nChunks;
    const last = nChunks === 1;
    let ov: GPUBuffer;
    let oi: GPUBuffer | null = null;
    if (last) {
      if (arg) {
        ov = pool.acquire(total * 4);
        temps.push(ov);
        oi = out;
      } else ov = out;
    } else {
      ov = pool.acquire(total * 4);
      temps.push(ov);
      if (arg) {
        oi = pool.acquire(total * 4);
        temps.push(oi);
      }
    }
    const buffers: GPUBuffer[] = [src];
    if (srcIdx) buffers.push(srcIdx);
    buffers.push(ov);
    if (oi) buffers.push(oi);
    let workgroups: [number, number];
    let gridX: number;
    if (serial) {
      const g = grid1d(total, WG);
      workgroups = g.workgroups;
      gridX = g.rowThreads;
    } else {
      const gx = Math.min(total, 65535);
      workgroups = [gx, Math.ceil(total / gx)];
      gridX = gx;
    }
    batch.dispatch({
      code: source(op, type, srcIdx !== null),
      entryPoint: serial ? 'main_serial' : 'main_wg',
      buffers,
      uniforms: new Uint32Array([len, nRows, chunk, nChunks, xOff, gridX, total, 0]),
      workgroups,
      label: `reduce ${op} ${nRows}x${len}`,
    });
    if (last) break;
    src = ov;
    srcIdx = oi;
    xOff = 0;
    len = nChunks;
  }
  for (const t of temps) pool.release(t);
}
