/**
 * attention (forward) and attention-backward in the kernel harness: fused flash attention on
 * [B, H, T, D] (GQA: H query heads over Hkv kv heads). Shapes "BxH/HkvxTqxTkxD[c]" (c: causal).
 * Versions: forward 1 attention-forward.wgsl, 2 attention-forward-tiled.wgsl, 3 attention-decode.wgsl;
 * backward 1 attention-backward.wgsl, 2 attention-backward-tiled.wgsl (packages/webgpu/src/kernels/attention.ts).
 * attention-cpu: the forward on the CPU backend, 1 the composite (matmul, softmax, matmul), 2
 * kernels/attention.wat (packages/tensor/src/cpu/wasm/attention.ts).
 * GFLOP/s count 4·B·H·Tq·Tk·D (halved for causal prefill), the backward 2.5× that.
 */
import {
  attentionBackward, attentionBackwardReference, attentionBackwardVersion, attentionForward, attentionForwardVersion,
  attentionReference, DECODE_MAX_ROWS, type AttentionShape,
} from '@kts/webgpu/kernels';
import { attention as attentionOp, tensor, type Tensor } from '@kts/tensor';
import { maxAbs } from '../../test/webgpu/helpers.ts';
import { cpuEntry, type CpuSetup } from './cpu.ts';
import { ints, worst, type KernelEntry, type KernelInstance, type KernelVersion, type Rng } from './harness.ts';
import { batch, Buffers, sync, webgpuBackend } from './webgpu.ts';

function parseShape(text: string): AttentionShape {
  const m = /^(\d+)x(\d+)(?:\/(\d+))?x(\d+)x(\d+)x(\d+)(c?)$/.exec(text.trim());
  if (!m) throw new Error(`attention shape: BxH[/Hkv]xTqxTkxD[c], got ${text}`);
  const [B, H, Hkv, Tq, Tk, D] = ints([m[1], m[2], m[3] ?? m[2], m[4], m[5], m[6]].join(','));
  return { B: B!, H: H!, Hkv: Hkv!, Tq: Tq!, Tk: Tk!, D: D!, causal: m[7] === 'c' };
}
const formatShape = (s: AttentionShape): string => `${s.B}x${s.H}${s.Hkv !== s.H ? `/${s.Hkv}` : ''}x${s.Tq}x${s.Tk}x${s.D}${s.causal ? 'c' : ''}`;

function flops(s: AttentionShape): number {
  const f = 4 * s.B * s.H * s.Tq * s.Tk * s.D;
  return s.causal && s.Tq === s.Tk ? f / 2 : f;
}

/** q [B,H,Tq,D], k and v [B,Hkv,Tk,D], dO like q: random, made in this order on every backend. */
function inputs(s: AttentionShape, rng: Rng): { q: Float32Array; k: Float32Array; v: Float32Array; g: Float32Array } {
  const { B, H, Hkv, Tq, Tk, D } = s;
  return { q: rng.array(B * H * Tq * D), k: rng.array(B * Hkv * Tk * D), v: rng.array(B * Hkv * Tk * D), g: rng.array(B * H * Tq * D) };
}

/** The forward's O against the float64 reference. */
const checkO = (o: ArrayLike<number>, ref: ArrayLike<number>): number => worst('O', o, ref, { atol: 1e-5, rtol: 1e-4 });

function setup(version: number, backward: boolean) {
  return async (s: AttentionShape, rng: Rng): Promise<KernelInstance> => {
    const { B, H, Hkv, Tq, Tk, D } = s;
    const bufs = new Buffers();
    const { q, k, v, g } = inputs(s, rng);
    const Q = bufs.add(q), K = bufs.add(k), V = bufs.add(v), O = bufs.add(B * H * Tq * D), L = bufs.add(B * H * Tq);
    const fwd = { q: Q, k: K, v: V, o: O, l: L };
    const G = bufs.add(g), dQ = bufs.add(B * H * Tq * D), dK = bufs.add(B * Hkv * Tk * D), dV = bufs.add(B * Hkv * Tk * D);
    // The backward reads the forward's O and L: one forward with the library's choice first.
    if (backward) attentionForward(fwd, s, {}, batch());
    return {
      run: () => {
        if (backward) attentionBackward({ ...fwd, dO: G, dq: dQ, dk: dK, dv: dV }, s, { version }, batch());
        else attentionForward(fwd, s, { version }, batch());
      },
      sync,
      flops: flops(s) * (backward ? 2.5 : 1),
      async check() {
        if (!backward) {
          const r = attentionReference(q, k, v, s);
          return Math.max(checkO(await bufs.read(O, r.o.length), r.o), worst('L', await bufs.read(L, r.l.length), r.l, { atol: 1e-5, rtol: 1e-4 }));
        }
        const r = attentionBackwardReference(q, k, v, g, s);
        let w = 0;
        for (const [name, buf, ref] of [['dQ', dQ, r.dq], ['dK', dK, r.dk], ['dV', dV, r.dv]] as const) {
          w = Math.max(w, worst(name, await bufs.read(buf, ref.length), ref, { atol: 1e-4 * Math.max(maxAbs(ref), 1e-2), rtol: 1e-4 }));
        }
        return w;
      },
      dispose: () => bufs.dispose(),
    };
  };
}

const CHECK: AttentionShape[] = ['2x6/2x5x11x13c', '1x4/2x37x37x64c', '2x2x9x17x128', '1x8/2x1x300x128c'].map(parseShape);
const common = { ...webgpuBackend, checkShapes: CHECK, parseShape, formatShape };

const forwardVersions: KernelVersion<AttentionShape>[] = [
  { version: 1, file: 'kernels/attention-forward.wgsl', about: 'CPU renderers: TM rows in registers per lane, keys split over lanes for decode', setup: setup(1, false) },
  { version: 2, file: 'kernels/attention-forward-tiled.wgsl', about: 'GPUs: 64 rows × 32-key blocks, Q/K d-slabs and the V block in workgroup memory, online softmax', setup: setup(2, false) },
  {
    version: 3, file: 'kernels/attention-decode.wgsl', about: `GPUs, ≤ ${DECODE_MAX_ROWS} rows per kv head: 128-key chunks over workgroups, then a merge`,
    unavailable: (s) => ((s.H / s.Hkv) * s.Tq > DECODE_MAX_ROWS ? `more than ${DECODE_MAX_ROWS} rows per kv head` : null),
    setup: setup(3, false),
  },
];

export const attention: KernelEntry<AttentionShape> = {
  ...common,
  name: 'attention',
  about: 'flash attention forward: O and the row logsumexp L, causal/GQA/decode',
  timeShapes: ['1x8x512x512x64c', '1x32x512x512x128c', '1x32/8x1x2048x128c'].map(parseShape),
  versions: forwardVersions,
  current: (s) => attentionForwardVersion(s, batch().device),
};

export const attentionBackwardEntry: KernelEntry<AttentionShape> = {
  ...common,
  name: 'attention-backward',
  about: 'flash attention backward: dQ, dK, dV by recomputation from L (FlashAttention-2)',
  timeShapes: ['1x8x256x256x64c', '1x9/3x64x64x64c'].map(parseShape),
  versions: [
    { version: 1, file: 'kernels/attention-backward.wgsl', about: 'CPU renderers: rows (dQ) or keys (dK, dV) in registers per lane', setup: setup(1, true) },
    { version: 2, file: 'kernels/attention-backward-tiled.wgsl', about: 'GPUs: S and dP as d-slab matmuls, K/V and Q/dO staged in workgroup memory', setup: setup(2, true) },
  ],
  current: (s) => attentionBackwardVersion(s, batch().device),
};

export const attentionCpu: KernelEntry<AttentionShape> = cpuEntry(
  {
    checkShapes: CHECK,
    parseShape,
    formatShape,
    name: 'attention-cpu',
    about: 'attention forward on the CPU backend: O, causal/GQA/decode',
    timeShapes: ['1x6x256x256x48c', '1x8x512x512x64c', '1x32/8x1x2048x128c'].map(parseShape),
  },
  { file: 'packages/tensor/src/fused/attention.ts', about: 'attentionComposite: repeatKv, Q·Kᵀ, scale, causal where, softmax, ·V (the scores in memory)' },
  { file: 'kernels/attention.wat', about: 'a query row at a time: its score row in thread scratch, softmax, P·V; threads take rows' },
  (s, rng): CpuSetup<Tensor> => {
    const { q, k, v } = inputs(s, rng);
    const Q = tensor(q, [s.B, s.H, s.Tq, s.D]), K = tensor(k, [s.B, s.Hkv, s.Tk, s.D]), V = tensor(v, [s.B, s.Hkv, s.Tk, s.D]);
    return { run: () => attentionOp(Q, K, V, { causal: s.causal }), flops: flops(s), check: (o) => checkO(o.toArray(), attentionReference(q, k, v, s).o) };
  },
);
