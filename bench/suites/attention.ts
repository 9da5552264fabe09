/**
 * Fused flash-style attention (kernels/fused-attention.wgsl) on WebGPU vs the kts CPU composite
 * (packages/tensor/src/attention.ts: matmul + softmax + matmul, single-threaded TypeScript).
 * On machines without a GPU the WebGPU rows are Mesa llvmpipe (CPU) via Dawn's OpenGL ES backend.
 *
 * GFLOP/s count the useful work 4·B·H·Tq·Tk·D (two matmuls), halved for causal prefill (the
 * FlashAttention convention); the backward pass is counted as 2.5× the forward.
 * WebGPU timing: `reps` identical dispatches per submit, awaited with onSubmittedWorkDone, no
 * upload/readback (buffer level). CPU timing: the Tensor-level composite, median of ≥ 5 calls.
 * Flags: --seqs=128,256,512,1024  --long (adds T = 2048)  --no-cpu  --no-bwd
 */
import { adapterInfo, destroyDevice, getDevice } from '../../packages/webgpu/src/device.ts';
import { getBatch } from '../../packages/webgpu/src/kernel.ts';
import { getPool, writeBuffer } from '../../packages/webgpu/src/pool.ts';
import { attentionBackward, attentionForward, planAttention, type AttentionShape } from '../../kernels/fused-attention.ts';
import { attention, tensor } from '@kts/tensor';
import { BenchSuite, fillRandom, numberListFlag, timeFn, type SuiteContext } from '../lib.ts';

interface Job {
  B: number;
  H: number;
  Hkv: number;
  Tq: number;
  Tk: number;
  D: number;
  causal: boolean;
  bwd: boolean;
  cpu: boolean;
}

const flopsOf = (j: Job): number => (4 * j.B * j.H * j.Tq * j.Tk * j.D) / (j.causal && j.Tq === j.Tk ? 2 : 1);
const label = (j: Job): string =>
  `${j.Tq === 1 ? 'decode' : 'prefill'} B${j.B} H${j.H}${j.Hkv !== j.H ? `/kv${j.Hkv}` : ''} T${j.Tq}${j.Tq !== j.Tk ? `x${j.Tk}` : ''} D${j.D}${j.causal ? ' causal' : ''}`;

export default async function run(ctx: SuiteContext): Promise<void> {
  const device = await getDevice();
  const info = adapterInfo();
  const pool = await getPool();
  const batch = await getBatch();
  const suite = new BenchSuite('attention', { baseline: 'kts-cpu' });
  const seqs = numberListFlag(ctx, 'seqs', [128, 256, 512, 1024]);
  if (ctx.flags.long === true) seqs.push(2048);
  const cpuOn = ctx.flags['no-cpu'] !== true;
  const bwdOn = ctx.flags['no-bwd'] !== true;

  const jobs: Job[] = [];
  for (const T of seqs) {
    jobs.push({ B: 1, H: 8, Hkv: 8, Tq: T, Tk: T, D: 64, causal: true, bwd: bwdOn && T <= 512, cpu: cpuOn && T <= 512 });
    jobs.push({ B: 1, H: 32, Hkv: 32, Tq: T, Tk: T, D: 128, causal: true, bwd: bwdOn && T === 256, cpu: cpuOn && T <= 256 });
  }
  jobs.push({ B: 1, H: 8, Hkv: 8, Tq: 512, Tk: 512, D: 128, causal: true, bwd: false, cpu: false });
  jobs.push({ B: 1, H: 32, Hkv: 32, Tq: 512, Tk: 512, D: 64, causal: true, bwd: false, cpu: false });
  // Decode against a KV cache (GQA as Llama-2-70B/3-8B: 32 query heads over 8 kv heads).
  for (const Tk of [512, 2048]) jobs.push({ B: 1, H: 32, Hkv: 8, Tq: 1, Tk, D: 128, causal: true, bwd: false, cpu: cpuOn && Tk === 512 });

  for (const j of jobs) {
    const s: AttentionShape = { B: j.B, H: j.H, Hkv: j.Hkv, Tq: j.Tq, Tk: j.Tk, D: j.D, causal: j.causal };
    const nq = j.B * j.H * j.Tq * j.D;
    const nk = j.B * j.Hkv * j.Tk * j.D;
    const q = fillRandom(new Float32Array(nq), 1), k = fillRandom(new Float32Array(nk), 2), v = fillRandom(new Float32Array(nk), 3);
    const bufs = {
      q: pool.acquire(nq * 4), k: pool.acquire(nk * 4), v: pool.acquire(nk * 4), o: pool.acquire(nq * 4),
      l: pool.acquire(j.B * j.H * j.Tq * 4), dO: pool.acquire(nq * 4), dq: pool.acquire(nq * 4), dk: pool.acquire(nk * 4), dv: pool.acquire(nk * 4),
    };
    writeBuffer(bufs.q, q);
    writeBuffer(bufs.k, k);
    writeBuffer(bufs.v, v);
    writeBuffer(bufs.dO, q);
    const flops = flopsOf(j);
    const plan = planAttention(s);
    const estMs = (flops / 1e9 / (info.isLlvmpipe ? 8 : 2000)) * 1000;
    const reps = Math.max(1, Math.min(50, Math.round(200 / Math.max(estMs, 0.05))));
    const timeGpu = async (fn: () => void): Promise<{ medianMs: number; minMs: number; samples: number; method: 'median' }> => {
      fn(); // compile + warm up
      await batch.sync();
      const t = await timeFn(async () => {
        for (let r = 0; r < reps; r++) fn();
        batch.flush();
        await device.queue.onSubmittedWorkDone();
      }, { method: 'median', minSamples: 5, maxSamples: 7, targetMs: 1000, warmup: 1 });
      return { medianMs: t.medianMs / reps, minMs: t.minMs / reps, samples: t.samples, method: 'median' };
    };
    const meta = { tm: plan.tm, lk: plan.lk, cw: plan.cw, dispatchesPerSample: reps, device: info.device || info.description };
    const fwd = await timeGpu(() => attentionForward(bufs, s, {}, batch));
    suite.record(label(j), 'kts-webgpu fused fwd', fwd, { flops, meta });
    if (j.bwd) {
      const bwd = await timeGpu(() => attentionBackward(bufs, s, {}, batch));
      suite.record(`${label(j)} bwd`, 'kts-webgpu fused bwd', bwd, { flops: flops * 2.5, meta: { ...meta, tmBwd: plan.tmBwd, tn: plan.tn } });
    }
    if (j.cpu) {
      const qt = tensor(q, [j.B, j.H, j.Tq, j.D]);
      const kt = tensor(k, [j.B, j.Hkv, j.Tk, j.D]);
      const vt = tensor(v, [j.B, j.Hkv, j.Tk, j.D]);
      await suite.measure(label(j), 'kts-cpu', () => attention(qt, kt, vt, { causal: j.causal }).toArray(), {
        flops, method: 'median', minSamples: 5, maxSamples: 5, targetMs: 1000, warmup: 1,
      });
    }
    for (const b of Object.values(bufs)) pool.release(b);
  }

  suite.note(`device: ${info.device || info.vendor} (${info.description}); backend ${info.backend}; llvmpipe lanes ${info.simdLanes}`);
  suite.note('GFLOP/s = 4·B·H·Tq·Tk·D (halved for causal prefill) / time; "bwd" rows count 2.5× that (dQ, dK, dV by recomputation)');
  suite.note('webgpu rows: buffer-level kernel time, several dispatches per submit, no upload/readback; kts-cpu: Tensor-level composite (matmul + softmax + matmul) on the single-threaded TypeScript CPU backend');
  suite.note('tfjs was not measured (no tfjs attention kernel; a composite would measure its matmul). CPU baseline only for the smaller shapes (it materialises the T×T scores)');
  suite.finish();
  destroyDevice();
}
