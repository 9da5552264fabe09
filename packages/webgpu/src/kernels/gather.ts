/**
 * Generator and dispatcher for kernels/gather.wgsl: torch.gather and scatter_add along one
 * axis, over strided views, f32 or i32. Index checks happen on the GPU: an out-of-range index
 * sets a flag in `err` (a pooled 4-byte buffer) that the backend checks at the next read.
 * scatter_add accumulates with atomics (f32: compare-exchange loop on the bit pattern), so the
 * order of colliding adds is not deterministic. Workgroup size 256, nd ≤ 8.
 */
import { wgsl } from '@kts/kernels';
import { WebGPUError } from '../device.ts';
import { currentBatch, type Batch } from '../dispatch.ts';
import { grid1d, type WType } from './elementwise.ts';

export const GATHER_WGSL: string = wgsl['gather'];
export const GATHER_MAX_DIMS = 8;

export function gatherSource(entry: 'gather' | 'scatter_add', type: WType): string {
  const outDecl =
    entry === 'gather'
      ? `array<${type}>`
      : type === 'f32'
        ? 'array<atomic<u32>>'
        : 'array<atomic<i32>>';
  const decls = [
    `@group(0) @binding(0) var<storage, read> X: array<${type}>;`,
    '@group(0) @binding(1) var<storage, read> INDEX: array<i32>;',
    `@group(0) @binding(2) var<storage, read_write> OUT: ${outDecl};`,
    '@group(0) @binding(3) var<storage, read_write> ERR: array<atomic<u32>>;',
    '@group(0) @binding(4) var<uniform> p: Params;',
  ].join('\n');
  const add =
    type === 'f32'
      ? `  var old = atomicLoad(&OUT[pos.o]);
  loop {
    let r = atomicCompareExchangeWeak(&OUT[pos.o], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }`
      : '  atomicAdd(&OUT[pos.o], v);';
  let src = GATHER_WGSL.replace('__DECLS__', decls).replaceAll('__T__', type).replace('__ADD__', entry === 'scatter_add' ? add : '');
  // Keep only the requested entry point (the other declares OUT with another type).
  const other = entry === 'gather' ? 'scatter_add' : 'gather';
  const start = src.indexOf(`@compute @workgroup_size(256)\nfn ${other}(`);
  if (start >= 0) {
    const end = src.indexOf('\n}\n', start);
    src = src.slice(0, start) + src.slice(end + 3);
  }
  return src;
}

const sources = new Map<string, string>();
function source(entry: 'gather' | 'scatter_add', type: WType): string {
  const k = `${entry}:${type}`;
  let s = sources.get(k);
  if (!s) sources.set(k, (s = gatherSource(entry, type)));
  return s;
}

export interface GatherArgs {
  /** gather: the input X; scatter_add: SRC. */
  x: { buffer: GPUBuffer; offset: number; strides: readonly number[] };
  index: { buffer: GPUBuffer; offset: number; strides: readonly number[] };
  /** The index tensor's shape (= gather output shape = iteration space). */
  shape: readonly number[];
  axis: number;
  axisSize: number;
  out: GPUBuffer;
  /** scatter_add only: strides of the (contiguous) output shape. */
  outStrides?: readonly number[];
  err: GPUBuffer;
  type: WType;
}

export function gatherDispatch(entry: 'gather' | 'scatter_add', a: GatherArgs, batch: Batch = currentBatch()): void {
  const nd = a.shape.length;
  if (nd > GATHER_MAX_DIMS) throw new WebGPUError(`${entry}: at most ${GATHER_MAX_DIMS} dims on WebGPU, got ${nd}`);
  const n = a.shape.reduce((p, d) => p * d, 1);
  if (n === 0) return;
  const g = grid1d(n, 256);
  const u = new Uint32Array(40);
  u.set([n, Math.max(nd, 1), a.axis, a.axisSize, g.rowThreads, a.x.offset, a.index.offset, 0]);
  const shape = nd === 0 ? [1] : a.shape;
  shape.forEach((s, d) => (u[8 + d] = s));
  a.x.strides.forEach((s, d) => (u[16 + d] = s));
  a.index.strides.forEach((s, d) => (u[24 + d] = s));
  (a.outStrides ?? []).forEach((s, d) => (u[32 + d] = s));
  batch.dispatch({
    code: source(entry, a.type),
    entryPoint: entry,
    buffers: [a.x.buffer, a.index.buffer, a.out, a.err],
    uniforms: u,
    workgroups: g.workgroups,
    label: `${entry} ${a.shape.join('x')}`,
  });
}
