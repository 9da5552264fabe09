/**
 * Runner for kernels/rotary.wgsl: HF rotary embedding x·cos + rotate_half(x)·sin over the
 * last axis (forward) and its transpose (backward), with cos/sin as strided broadcast views,
 * plus float64 CPU references.
 * Layouts: x/g/out contiguous [A0, A1, A2, D] (pad leading dims with 1); cos/sin: offset and
 * [s0, s1, s2, sD] strides broadcast to that shape. D must be even. Workgroup fusedLanes(),
 * one invocation per (row, d < D/2). Limits: bindings ≤ maxStorageBufferBindingSize.
 */
import { wgsl } from '@kts/kernels';
import { WebGPUError } from '../device.ts';
import { currentBatch, type Batch } from '../dispatch.ts';
import { ceilDiv, fusedLanes, grid2d, needElems, needInts, Uniforms, variantCache } from './common.ts';

export const ROTARY_WGSL: string = wgsl['rotary'];
const variant = variantCache(ROTARY_WGSL);

export interface TableLayout {
  offset: number;
  strides: readonly [number, number, number, number];
}

export interface RotaryShape {
  /** Leading dims (padded to 3) and the head dim. */
  dims: readonly [number, number, number, number];
  cos: TableLayout;
  sin: TableLayout;
}

function span(l: TableLayout, dims: readonly number[]): number {
  return l.offset + dims.reduce((acc, d, i) => acc + (d - 1) * l.strides[i]!, 0) + 1;
}

function run(entry: string, x: GPUBuffer, cos: GPUBuffer, sin: GPUBuffer, out: GPUBuffer, s: RotaryShape, batch: Batch): void {
  const [A0, A1, A2, D] = s.dims;
  needInts('rotaryEmbedding', { A0, A1, A2, D }, 0);
  if (D % 2 !== 0) throw new WebGPUError(`rotaryEmbedding: head dim must be even, got ${D}`);
  const total = A0 * A1 * A2 * (D / 2);
  if (total === 0) return;
  needElems('rotaryEmbedding', 'x', x, A0 * A1 * A2 * D);
  needElems('rotaryEmbedding', 'out', out, A0 * A1 * A2 * D);
  needElems('rotaryEmbedding', 'cos', cos, span(s.cos, s.dims));
  needElems('rotaryEmbedding', 'sin', sin, span(s.sin, s.dims));
  const wg = fusedLanes();
  const u = new Uniforms().u32(A1).u32(A2).u32(D).u32(D / 2).u32(total).u32(0).u32(0).u32(0)
    .u32(s.cos.offset).u32(s.cos.strides[0]).u32(s.cos.strides[1]).u32(s.cos.strides[2])
    .u32(s.cos.strides[3]).u32(s.sin.offset).u32(s.sin.strides[0]).u32(s.sin.strides[1])
    .u32(s.sin.strides[2]).u32(s.sin.strides[3]).build();
  batch.dispatch({
    code: variant({}, { WG: wg }), entryPoint: entry, buffers: [x, cos, sin, out],
    uniforms: u, uniformBinding: 15, workgroups: [...grid2d(ceilDiv(total, wg)), 1], label: `${entry} [${s.dims}]`,
  });
}

export function rotaryForward(x: GPUBuffer, cos: GPUBuffer, sin: GPUBuffer, out: GPUBuffer, s: RotaryShape, batch: Batch = currentBatch()): void {
  run('rot_fwd', x, cos, sin, out, s, batch);
}

/** dx = g·cos + rotate_halfᵀ(g·sin). */
export function rotaryBackward(g: GPUBuffer, cos: GPUBuffer, sin: GPUBuffer, dx: GPUBuffer, s: RotaryShape, batch: Batch = currentBatch()): void {
  run('rot_bwd', g, cos, sin, dx, s, batch);
}

// ---- CPU references (float64) ----------------------------------------------------------------

function at(data: ArrayLike<number>, l: TableLayout, i0: number, i1: number, i2: number, d: number): number {
  return data[l.offset + i0 * l.strides[0] + i1 * l.strides[1] + i2 * l.strides[2] + d * l.strides[3]]!;
}

export function rotaryReference(
  x: ArrayLike<number>, cos: ArrayLike<number>, sin: ArrayLike<number>, s: RotaryShape, backward = false,
): Float64Array {
  const [A0, A1, A2, D] = s.dims;
  const h = D / 2;
  const out = new Float64Array(A0 * A1 * A2 * D);
  for (let i0 = 0; i0 < A0; i0++) for (let i1 = 0; i1 < A1; i1++) for (let i2 = 0; i2 < A2; i2++) {
    const base = ((i0 * A1 + i1) * A2 + i2) * D;
    for (let d = 0; d < D; d++) {
      const c = at(cos, s.cos, i0, i1, i2, d);
      const xd = x[base + d]!;
      if (!backward) {
        const rot = d < h ? -x[base + d + h]! : x[base + d - h]!;
        out[base + d] = xd * c + rot * at(sin, s.sin, i0, i1, i2, d);
      } else {
        // dx = g·cos + Rᵀ(g·sin): Rᵀ(z)[d] = z[d+h] (d < h), −z[d−h] (d ≥ h)
        const rt = d < h ? x[base + d + h]! * at(sin, s.sin, i0, i1, i2, d + h) : -x[base + d - h]! * at(sin, s.sin, i0, i1, i2, d - h);
        out[base + d] = xd * c + rt;
      }
    }
  }
  return out;
}
