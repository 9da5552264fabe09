// Attention on the WebAssembly kernel (kernels/attention.wat): q, k, v as strided views (d
// contiguous; a transposed q or a narrowed KV cache is not copied), the additive mask as a view
// broadcast to [B, H, Tq, Tk]. Forward rows are split over threads; backward kv groups (so dk, dv
// sum in a fixed order). Reference: attentionComposite (../../fused/attention.ts).
import type { Tensor } from '../../tensor.ts';
import { allocOutput } from '../alloc.ts';
import type { CpuStorage } from '../storage.ts';
import { runOnThreads, WORK } from '#cpu-threads';
import { piecesFor, split, threadsFor, threadWork, threadWorkBytes } from './launch.ts';
import { place, whole, type Operand, type Placed } from './operands.ts';
import type { WasmRuntime } from './runtime.ts';

/** Score rows × keys below this many multiply-adds run on one thread. */
const PARALLEL_MIN = 1 << 16;

export interface AttentionPlan {
  B: number; H: number; Hkv: number; Tq: number; Tk: number; D: number;
  causal: boolean;
  scale: number;
  q: Operand; k: Operand; v: Operand;
  mask: Operand | null;
}

/** A [.., .., T, D] tensor as an operand with d stride 1, or null (then the caller copies it). */
export function operand4(t: Tensor): Operand | null {
  const data = (t.storage as CpuStorage).data;
  if (!(data instanceof Float32Array) || (t.shape[3]! > 1 && t.strides[3] !== 1)) return null;
  return { data, offset: t.offset, shape: t.shape, strides: t.strides };
}

function params(p: AttentionPlan): Int32Array {
  const s3 = (o: Operand): number[] => o.strides.slice(0, 3).map((st, i) => (o.shape[i] === 1 ? 0 : st));
  const m = p.mask ? p.mask.strides : [0, 0, 0, 0];
  return Int32Array.from([p.B, p.H, p.Hkv, p.Tq, p.Tk, p.D, p.causal ? 1 : 0, p.mask ? 1 : 0, ...s3(p.q), ...s3(p.k), ...s3(p.v), ...m]);
}

/** The operands on the heap (plus the parameter block), with outputs; null if the heap is full. */
function placeAll(rt: WasmRuntime, p: AttentionPlan, extra: Operand[], outputs: Float32Array[]): (Placed & { works: number[] }) | null {
  if (3 * p.Tk * 4 > threadWorkBytes(rt)) return null;
  const placed = place(rt, [whole(params(p)), p.q, p.k, p.v, ...(p.mask ? [p.mask] : []), ...extra], outputs);
  if (!placed) return null;
  const T = threadsFor(p.B * p.H * p.Tq * p.Tk * p.D, PARALLEL_MIN);
  const works: number[] = [];
  for (let t = 0; t < T; t++) {
    const w = threadWork(rt, t);
    if (w < 0) return null;
    works.push(w);
  }
  return { ...placed, works };
}

/** O [B, H, Tq, D] and the row logsumexps L [B, H, Tq]; null when not covered. */
export function attentionForward(rt: WasmRuntime, p: AttentionPlan): { o: Float32Array; l: Float32Array } | null {
  const o = allocOutput(p.B * p.H * p.Tq * p.D);
  const l = new Float32Array(p.B * p.H * p.Tq);
  const placed = placeAll(rt, p, [], [o, l]);
  if (!placed) return null;
  const [prm, q, k, v] = placed.inputs as [number, number, number, number];
  const mask = p.mask ? placed.inputs[4]! : 0;
  const [po, pl] = placed.outputs as [number, number];
  runOnThreads(split(p.B * p.H * p.Tq, piecesFor(placed.works.length)).map(([r0, r1]) => [['attention', 'attn_fwd', [prm, q, k, v, mask, po, pl, r0, r1, p.scale, WORK]]]), placed.works);
  placed.finish();
  return { o, l };
}

/** dq [B, H, Tq, D], dk and dv [B, Hkv, Tk, D] from dO (contiguous); null when not covered. */
export function attentionBackward(rt: WasmRuntime, p: AttentionPlan, o: Float32Array, l: Float32Array, dO: Float32Array): { dq: Float32Array; dk: Float32Array; dv: Float32Array } | null {
  const dq = allocOutput(p.B * p.H * p.Tq * p.D);
  const dk = allocOutput(p.B * p.Hkv * p.Tk * p.D);
  const dv = allocOutput(p.B * p.Hkv * p.Tk * p.D);
  const placed = placeAll(rt, p, [whole(o), whole(l), whole(dO)], [dq, dk, dv]);
  if (!placed) return null;
  const [prm, q, k, v] = placed.inputs as [number, number, number, number];
  const at = p.mask ? 5 : 4;
  const mask = p.mask ? placed.inputs[4]! : 0;
  const [po, pl, pdo] = placed.inputs.slice(at) as [number, number, number];
  const [pdq, pdk, pdv] = placed.outputs as [number, number, number];
  runOnThreads(split(p.B * p.Hkv, piecesFor(placed.works.length)).map(([g0, g1]) => [['attention', 'attn_bwd', [prm, q, k, v, mask, po, pl, pdo, pdq, pdk, pdv, g0, g1, p.scale, WORK]]]), placed.works);
  placed.finish();
  return { dq, dk, dv };
}
