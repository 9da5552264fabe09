/**
 * Every attention kernel version (forward O, L and backward dQ, dK, dV) against the float64 CPU
 * references in packages/webgpu/src/kernels/attention.ts, at the GPUBuffer level: version 1
 * (attention-forward/-backward.wgsl, CPU renderers), version 2 (attention-forward-tiled,
 * attention-backward-tiled: GPUs) and forward version 3 (attention-decode: GPUs, few rows per kv
 * head), each forced here on the same cases.
 *
 * Inputs are random in ±[0.5, 1.5) (never zero); masks mix finite values with −∞ (padding);
 * every output buffer is poisoned with NaN before the run. Tolerances:
 *   O, L:        |gpu − ref| ≤ 1e-5 + 1e-4·|ref|     (−∞ in L must match exactly)
 *   dQ, dK, dV:  |gpu − ref| ≤ 1e-4·max(max|ref|, 0.01) + 1e-4·|ref|   (sums over Tq·nRep rows; the
 *                floor: a row with one visible key has dS = P∘(dP − Dᵢ) = 0 exactly, which f32
 *                reaches only up to rounding of dP and Dᵢ, sums of D terms of size ~1)
 * Shapes cover 1, primes, non-multiples of the workgroup and row tiles, GQA, causal prefill
 * with Tq < Tk and Tq > Tk (rows with no visible key → O = 0, L = −∞, zero gradients), decode
 * (Tq = 1, long Tk: the key-split path), head dims 1/13 (scalar path) to 128, strided q/k/v
 * (transposed q, narrowed KV cache) and both mask layouts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { destroyDevice, getDevice, getBatch } from '@kts/webgpu';
import {
  attentionBackward, attentionBackwardReference, attentionBackwardVersion, attentionForward, attentionForwardVersion,
  attentionReference, planAttention,
  type AttentionShape, type Layout3, type MaskFn, type MaskLayout,
} from '@kts/webgpu/kernels';
import { assertClose, download, maxAbs, release, Rng, upload, withFamily } from './helpers.ts';

interface Case {
  name?: string;
  B: number;
  H: number;
  Hkv: number;
  Tq: number;
  Tk: number;
  D: number;
  causal: boolean;
  /** 'pad': [B,1,1,Tk] with −∞ padding; 'full': [B,1,Tq,Tk] finite with some −∞; 'rowdead': a fully masked query row. */
  mask?: 'pad' | 'full' | 'rowdead' | null;
  /** q stored as [B,Tq,H,D] (transposed view); k/v as a narrowed cache [B,Hkv,Tk+extra,D] at an offset. */
  strided?: boolean;
  backward?: boolean;
  scale?: number;
  tune?: Parameters<typeof planAttention>[1];
}

/** Forced kernel versions (default: what attentionForward / attentionBackward pick). */
interface Versions {
  fwd?: number;
  bwd?: number;
}

async function runCase(c: Case, seed: number, ver: Versions = {}): Promise<void> {
  const { B, H, Hkv, Tq, Tk, D } = c;
  const rng = new Rng(seed);
  const q = rng.array(B * H * Tq * D);
  const k = rng.array(B * Hkv * Tk * D);
  const v = rng.array(B * Hkv * Tk * D);
  const dO = rng.array(B * H * Tq * D);

  // Device-side layouts.
  let qDev = q, kDev = k, vDev = v;
  let qL: Layout3 | undefined, kL: Layout3 | undefined, vL: Layout3 | undefined;
  if (c.strided) {
    qDev = new Float32Array(B * Tq * H * D);
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < Tq; i++) for (let d = 0; d < D; d++) {
      qDev[((b * Tq + i) * H + h) * D + d] = q[((b * H + h) * Tq + i) * D + d]!;
    }
    qL = { offset: 0, strides: [Tq * H * D, D, H * D] };
    const Tmax = Tk + 3;
    const off = 4 * D;
    const cache = (src: Float32Array): Float32Array => {
      const out = new Float32Array(off + B * Hkv * Tmax * D).fill(NaN);
      for (let bh = 0; bh < B * Hkv; bh++) for (let j = 0; j < Tk; j++) for (let d = 0; d < D; d++) {
        out[off + (bh * Tmax + j) * D + d] = src[(bh * Tk + j) * D + d]!;
      }
      return out;
    };
    kDev = cache(k);
    vDev = cache(v);
    kL = vL = { offset: off, strides: [Hkv * Tmax * D, Tmax * D, D] };
  }

  let maskData: Float32Array | null = null;
  let maskL: MaskLayout | null = null;
  let maskFn: MaskFn | null = null;
  if (c.mask === 'pad') {
    maskData = new Float32Array(B * Tk);
    for (let b = 0; b < B; b++) {
      const pad = (b * 3 + 1) % Math.max(1, Tk); // left padding of a few keys
      for (let j = 0; j < Tk; j++) maskData[b * Tk + j] = j < pad ? -Infinity : 0;
    }
    maskL = { offset: 0, strides: [Tk, 0, 0, 1] };
  } else if (c.mask === 'full' || c.mask === 'rowdead') {
    maskData = new Float32Array(B * Tq * Tk);
    for (let i = 0; i < maskData.length; i++) maskData[i] = rng.next() < 0.2 ? -Infinity : rng.nonZero();
    if (c.mask === 'rowdead') for (let j = 0; j < Tk; j++) maskData[(0 * Tq + Math.min(1, Tq - 1)) * Tk + j] = -Infinity;
    maskL = { offset: 0, strides: [Tq * Tk, 0, Tk, 1] };
  }
  if (maskData && maskL) {
    const md = maskData, ml = maskL;
    maskFn = (b, h, i, j) => md[ml.offset + b * ml.strides[0] + h * ml.strides[1] + i * ml.strides[2] + j * ml.strides[3]]!;
  }

  const shape: AttentionShape = { B, H, Hkv, Tq, Tk, D, causal: c.causal, scale: c.scale, q: qL, k: kL, v: vL, mask: maskL };
  const ref = attentionReference(q, k, v, shape, maskFn);
  const Q = upload(qDev), K = upload(kDev), V = upload(vDev);
  const M = maskData ? upload(maskData) : null;
  const O = upload(B * H * Tq * D), L = upload(B * H * Tq);
  const batch = await getBatch();
  const bufs = [Q, K, V, O, L, ...(M ? [M] : [])];
  try {
    attentionForward({ q: Q, k: K, v: V, mask: M, o: O, l: L }, shape, { ...c.tune, version: ver.fwd }, batch);
    const o = await download(O, B * H * Tq * D);
    const l = await download(L, B * H * Tq);
    assertClose('O', o, ref.o, { atol: 1e-5, rtol: 1e-4 });
    assertClose('L', l, ref.l, { atol: 1e-5, rtol: 1e-4 });
    if (!c.backward) return;
    const G = upload(dO);
    const dQ = upload(B * H * Tq * D), dK = upload(B * Hkv * Tk * D), dV = upload(B * Hkv * Tk * D);
    bufs.push(G, dQ, dK, dV);
    attentionBackward({ q: Q, k: K, v: V, mask: M, o: O, l: L, dO: G, dq: dQ, dk: dK, dv: dV }, shape, { ...c.tune, version: ver.bwd }, batch);
    const br = attentionBackwardReference(q, k, v, dO, shape, maskFn);
    for (const [name, buf, r] of [['dQ', dQ, br.dq], ['dK', dK, br.dk], ['dV', dV, br.dv]] as const) {
      const got = await download(buf, r.length);
      assertClose(name, got, r, { atol: 1e-4 * Math.max(maxAbs(r), 1e-2), rtol: 1e-4 });
    }
  } finally {
    release(...bufs);
  }
}

describe('attention kernels vs float64 CPU reference', () => {
  before(async () => {
    await getDevice();
  });
  after(() => destroyDevice());

  const cases: Case[] = [
    { name: 'tiny 1x1x1x1 D=1', B: 1, H: 1, Hkv: 1, Tq: 1, Tk: 1, D: 1, causal: true, backward: true },
    { name: 'primes, scalar path D=13, GQA 3, causal Tq<Tk', B: 2, H: 6, Hkv: 2, Tq: 5, Tk: 11, D: 13, causal: true, backward: true },
    { name: 'prefill D=64 causal GQA 2, T=37 (not a tile multiple)', B: 1, H: 4, Hkv: 2, Tq: 37, Tk: 37, D: 64, causal: true, backward: true },
    { name: 'D=128 non-causal with [B,1,Tq,Tk] mask', B: 2, H: 2, Hkv: 2, Tq: 9, Tk: 17, D: 128, causal: false, mask: 'full', backward: true },
    { name: 'decode Tq=1 Tk=300 D=128 GQA 4 (key-split lanes)', B: 2, H: 8, Hkv: 2, Tq: 1, Tk: 300, D: 128, causal: true, backward: true },
    { name: 'decode Tq=1 Tk=67 D=64 MHA + padding mask', B: 2, H: 3, Hkv: 3, Tq: 1, Tk: 67, D: 64, causal: true, mask: 'pad' },
    { name: 'padding mask [B,1,1,Tk] prefill, strided q and narrowed KV cache', B: 2, H: 4, Hkv: 2, Tq: 7, Tk: 7, D: 16, causal: true, mask: 'pad', strided: true, backward: true },
    { name: 'Tq > Tk causal (rows with no visible key) + fully masked row', B: 1, H: 2, Hkv: 1, Tq: 6, Tk: 3, D: 8, causal: true, mask: 'rowdead', backward: true },
    { name: 'custom scale, D=40 (3 chunks of 16/8)', B: 1, H: 2, Hkv: 1, Tq: 19, Tk: 23, D: 40, causal: false, scale: 0.3, backward: true },
    // The GPU configuration (32-wide workgroups) and a 64-wide one, run on whatever device this is.
    { name: 'workgroup 32: prefill GQA + mask, D=24', B: 2, H: 4, Hkv: 2, Tq: 21, Tk: 21, D: 24, causal: true, mask: 'full', backward: true, tune: { wg: 32 } },
    { name: 'workgroup 32: decode D=128 GQA 4 (key split)', B: 1, H: 8, Hkv: 2, Tq: 1, Tk: 130, D: 128, causal: true, backward: true, tune: { wg: 32 } },
    { name: 'workgroup 64: decode D=32 MHA + padding', B: 2, H: 2, Hkv: 2, Tq: 2, Tk: 90, D: 32, causal: true, mask: 'pad', backward: true, tune: { wg: 64 } },
  ];
  for (const c of cases) it(c.name!, () => runCase(c, 7, { fwd: 1, bwd: 1 }));
  // The GPU versions on the same cases (tune fields only steer version 1).
  it('forward version 2 (attention-forward-tiled.wgsl), backward version 2 (attention-backward-tiled.wgsl): every case', async () => {
    for (const c of cases) await runCase(c, 7, { fwd: 2, bwd: 2 });
    // Several 64-row blocks and 32-key blocks, GQA, causal, vec4 and scalar.
    await runCase({ B: 1, H: 4, Hkv: 2, Tq: 70, Tk: 75, D: 32, causal: true, mask: 'full', backward: true }, 8, { fwd: 2, bwd: 2 });
    await runCase({ B: 1, H: 1, Hkv: 1, Tq: 66, Tk: 66, D: 18, causal: true, backward: true }, 9, { fwd: 2, bwd: 2 });
  });
  it('forward version 3 (attention-decode.wgsl): every case with ≤ 16 rows per kv head, and long caches', async () => {
    for (const c of cases.filter((x) => (x.H / x.Hkv) * x.Tq <= 16)) await runCase(c, 7, { fwd: 3, bwd: 1 });
    await runCase({ B: 2, H: 8, Hkv: 2, Tq: 1, Tk: 1000, D: 128, causal: true, mask: 'pad' }, 10, { fwd: 3 });
    await runCase({ B: 1, H: 4, Hkv: 1, Tq: 4, Tk: 257, D: 20, causal: true, mask: 'full' }, 11, { fwd: 3 });
  });
  it('the versions each family picks', async () => {
    const dev = (await getBatch()).device;
    const prefill = { B: 1, H: 8, Hkv: 2, Tq: 40, Tk: 40, D: 64 };
    const decode = { B: 1, H: 8, Hkv: 2, Tq: 1, Tk: 500, D: 64 };
    await withFamily('llvmpipe', async () => {
      assert.equal(attentionForwardVersion(prefill, dev), 1);
      assert.equal(attentionForwardVersion(decode, dev), 1);
      assert.equal(attentionBackwardVersion(prefill, dev), 1);
    });
    await withFamily('gpu', async () => {
      assert.equal(attentionForwardVersion(prefill, dev), 2);
      assert.equal(attentionForwardVersion(decode, dev), 3);
      assert.equal(attentionBackwardVersion(prefill, dev), 2);
    });
  });

  it('property: random small shapes, masks and causal flags (fwd + bwd)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          B: fc.integer({ min: 1, max: 2 }),
          Hkv: fc.integer({ min: 1, max: 2 }),
          rep: fc.constantFrom(1, 2, 3),
          Tq: fc.integer({ min: 1, max: 9 }),
          Tk: fc.integer({ min: 1, max: 12 }),
          D: fc.constantFrom(4, 5),
          causal: fc.boolean(),
          mask: fc.constantFrom<Case['mask']>(null, 'pad', 'full'),
          seed: fc.integer({ min: 1, max: 1 << 30 }),
        }),
        async (r) => {
          const c = { ...r, H: r.Hkv * r.rep, backward: true };
          await runCase(c, r.seed, { fwd: 1, bwd: 1 });
          await runCase(c, r.seed, { fwd: 2, bwd: 2 });
          if (c.rep * c.Tq <= 16) await runCase(c, r.seed, { fwd: 3 });
        },
      ),
      { numRuns: 16 },
    );
  });

  it('rejects unsupported shapes with clear errors', () => {
    assert.throws(() => planAttention({ B: 1, H: 3, Hkv: 2, Tq: 1, Tk: 1, D: 8 }), /not a multiple of Hkv/);
    assert.throws(() => planAttention({ B: 1, H: 1, Hkv: 1, Tq: 1, Tk: 1, D: 256 }), /head dim 256 > 128/);
    assert.throws(() => planAttention({ B: 1, H: 1, Hkv: 1, Tq: 0, Tk: 1, D: 8 }), /Tq must be an integer ≥ 1/);
  });
});
