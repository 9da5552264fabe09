/**
 * Fused flash-style attention (kernels/attention.wgsl) on WebGPU ('kts-webgpu fused') next to
 * peers on the same shapes (bench/peers.ts): the kts CPU composite (packages/tensor/src/attention.ts:
 * matmul + mask + softmax + matmul), tfjs cpu/wasm (tf.matMul + mask + softmax + tf.matMul),
 * gpu.js webgpu/cpu (scores, row log-sum-exp, probabilities, P·V: four kernels) and PyTorch eager
 * (the same composite written out; torch 1.13 has no scaled_dot_product_attention).
 * On machines without a GPU the WebGPU rows are Mesa llvmpipe (CPU) via Dawn's OpenGL ES backend.
 *
 * GFLOP/s count the useful work 4·B·H·Tq·Tk·D (two matmuls), halved for causal prefill (the
 * FlashAttention convention; the composites compute the masked half too); the backward pass is
 * counted as 2.5× the forward ("bwd" rows: kts-webgpu fused, kts-cpu and PyTorch autograd).
 * WebGPU timing: `reps` identical dispatches per submit, awaited with onSubmittedWorkDone, no
 * upload/readback (buffer level). Peers: see bench/peers.ts (each checked against kts-cpu).
 * Flags: --seqs=128,256,512,1024  --long (adds T = 2048)  --no-cpu  --no-bwd, and the peer flags
 *        of bench/peers.ts (--peers=, --no-peers, --peer-cap-ms=, --torch-threads=)
 */
import { adapterInfo, destroyDevice, getDevice, getBatch, getPool, writeBuffer } from '@kts/webgpu';
import { attentionBackward, attentionForward, planAttention, type AttentionShape } from '@kts/webgpu/kernels';
import { attention, tensor, type Tensor } from '@kts/tensor';
import { BenchSuite, fillRandom, numberListFlag, timeFn, type SuiteContext } from '../lib.ts';
import { drop, Peers, tf, type KernelFn, type KernelThis, type TorchJob } from '../peers.ts';

interface Job {
  B: number;
  H: number;
  Hkv: number;
  Tq: number;
  Tk: number;
  D: number;
  causal: boolean;
  bwd: boolean;
}

const flopsOf = (j: Job): number => (4 * j.B * j.H * j.Tq * j.Tk * j.D) / (j.causal && j.Tq === j.Tk ? 2 : 1);
const label = (j: Job): string =>
  `${j.Tq === 1 ? 'decode' : 'prefill'} B${j.B} H${j.H}${j.Hkv !== j.H ? `/kv${j.Hkv}` : ''} T${j.Tq}${j.Tq !== j.Tk ? `x${j.Tk}` : ''} D${j.D}${j.causal ? ' causal' : ''}`;

export default async function run(ctx: SuiteContext): Promise<void> {
  const device = await getDevice();
  const info = adapterInfo();
  const pool = await getPool();
  const batch = await getBatch();
  const suite = new BenchSuite('attention', { baseline: 'kts-webgpu fused' });
  const peers = await Peers.create(suite, ctx, { webgpu: info, peers: ['kts-cpu', 'tfjs-cpu', 'tfjs-wasm', 'gpu.js-webgpu', 'gpu.js-cpu', 'pytorch-cpu'] });
  const seqs = numberListFlag(ctx, 'seqs', [128, 256, 512, 1024]);
  if (ctx.flags.long === true) seqs.push(2048);
  const cpuOn = ctx.flags['no-cpu'] !== true;
  const bwdOn = ctx.flags['no-bwd'] !== true;

  const jobs: Job[] = [];
  for (const T of seqs) {
    jobs.push({ B: 1, H: 8, Hkv: 8, Tq: T, Tk: T, D: 64, causal: true, bwd: bwdOn && T <= 512 });
    jobs.push({ B: 1, H: 32, Hkv: 32, Tq: T, Tk: T, D: 128, causal: true, bwd: bwdOn && T === 256 });
  }
  jobs.push({ B: 1, H: 8, Hkv: 8, Tq: 512, Tk: 512, D: 128, causal: true, bwd: false });
  jobs.push({ B: 1, H: 32, Hkv: 32, Tq: 512, Tk: 512, D: 64, causal: true, bwd: false });
  // Decode against a KV cache (GQA as Llama-2-70B/3-8B: 32 query heads over 8 kv heads).
  for (const Tk of [512, 2048]) jobs.push({ B: 1, H: 32, Hkv: 8, Tq: 1, Tk, D: 128, causal: true, bwd: false });

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
    suite.record(label(j), 'kts-webgpu fused', fwd, { flops, meta });
    if (j.bwd) {
      const bwd = await timeGpu(() => attentionBackward(bufs, s, {}, batch));
      suite.record(`${label(j)} bwd`, 'kts-webgpu fused', bwd, { flops: flops * 2.5, meta: { ...meta, tmBwd: plan.tmBwd, tn: plan.tn } });
    }
    for (const b of Object.values(bufs)) pool.release(b);
    await peerRows(peers, j, q, k, v, cpuOn);
  }
  const torchJobs: TorchJob[] = [];
  for (const j of jobs) {
    const shape = { B: j.B, H: j.H, Hkv: j.Hkv, Tq: j.Tq, Tk: j.Tk, D: j.D, causal: j.causal };
    torchJobs.push({ id: label(j), op: 'attention', ...shape });
    if (j.bwd) torchJobs.push({ id: `${label(j)} bwd`, op: 'attention', bwd: true, ...shape });
  }
  peers.torch(torchJobs, (t) => ({ flops: flopsOf(t as unknown as Job) * (t.bwd ? 2.5 : 1) }));
  await peers.close();

  suite.note(`device: ${info.device || info.vendor} (${info.description}); backend ${info.backend}; llvmpipe lanes ${info.simdLanes}`);
  suite.note('GFLOP/s = 4·B·H·Tq·Tk·D (halved for causal prefill) / time; "bwd" rows count 2.5× that (dQ, dK, dV by recomputation)');
  suite.note('kts-webgpu fused: buffer-level kernel time, several dispatches per submit, no upload/readback; kts-cpu: Tensor-level composite (matmul + causal mask + softmax + matmul; its matmuls on worker threads)');
  suite.note('peers (kts-cpu, tfjs, gpu.js, PyTorch) materialise the Tq×Tk scores; GQA (decode rows) repeats the kv heads inside the timed call, as kts-cpu does');
  suite.finish();
  destroyDevice();
}

// gpu.js attention: q [z=B·H][Tq][D], k, v [B·Hkv][Tk][D]; G = H / Hkv query heads per kv head.
const gpuScores: KernelFn = function (this: KernelThis, q: number[][][], k: number[][][]) {
  const j = this.thread.x;
  const i = this.thread.y;
  const z = this.thread.z;
  if (this.constants.causal! > 0 && j - i > this.constants.Tk! - this.constants.Tq!) return -3.0e38;
  const kz = Math.floor(z / this.constants.G!);
  let s = 0;
  for (let d = 0; d < this.constants.D!; d++) s += q[z]![i]![d]! * k[kz]![j]![d]!;
  return s * this.constants.scale!;
};
const gpuLse3: KernelFn = function (this: KernelThis, s: number[][][]) {
  let m = -3.0e38;
  let l = 0;
  for (let j = 0; j < this.constants.Tk!; j++) {
    const v = s[this.thread.y]![this.thread.x]![j]!;
    if (v > m) {
      l = l * Math.exp(m - v) + 1;
      m = v;
    } else {
      l += Math.exp(v - m);
    }
  }
  return m + Math.log(l);
};
const gpuProbs: KernelFn = function (this: KernelThis, s: number[][][], lse: number[][]) {
  return Math.exp(s[this.thread.z]![this.thread.y]![this.thread.x]! - lse[this.thread.z]![this.thread.y]!);
};
const gpuPV: KernelFn = function (this: KernelThis, p: number[][][], v: number[][][]) {
  const kz = Math.floor(this.thread.z / this.constants.G!);
  let o = 0;
  for (let j = 0; j < this.constants.Tk!; j++) o += p[this.thread.z]![this.thread.y]![j]! * v[kz]![j]![this.thread.x]!;
  return o;
};

/** [B, Hkv, T, D] → [B, Hkv·G, T, D] in tfjs (each kv head repeated G times, as kts repeatKv). */
function tfRepeatKv(x: tf.Tensor, G: number): tf.Tensor {
  if (G === 1) return x;
  const [B, Hkv, T, D] = x.shape as [number, number, number, number];
  return tf.reshape(tf.tile(tf.reshape(x, [B, Hkv, 1, T, D]), [1, 1, G, 1, 1]), [B, Hkv * G, T, D]);
}

async function peerRows(peers: Peers, j: Job, q: Float32Array, k: Float32Array, v: Float32Array, cpuOn: boolean): Promise<void> {
  const shape = label(j);
  const flops = flopsOf(j);
  const { B, H, Hkv, Tq, Tk, D, causal } = j;
  const G = H / Hkv;
  const scale = 1 / Math.sqrt(D);
  const qt = tensor(q, [B, H, Tq, D]);
  const kt = tensor(k, [B, Hkv, Tk, D]);
  const vt = tensor(v, [B, Hkv, Tk, D]);
  const [qg, kg, vg] = [qt, kt, vt].map((t) => t.detach().requiresGrad_(true)) as [Tensor, Tensor, Tensor];
  const g = tensor(q, [B, H, Tq, D]);
  await peers.op({
    shape, work: flops, flops,
    kts: cpuOn ? () => attention(qt, kt, vt, { causal }) : undefined,
    ktsBwd: cpuOn && j.bwd ? {
      shape: `${shape} bwd`, work: flops * 2.5, flops: flops * 2.5,
      run: () => {
        attention(qg, kg, vg, { causal }).backward(g);
        qg.grad = kg.grad = vg.grad = null;
      },
    } : undefined,
    tfjs: () => {
      const tq = tf.tensor4d(q, [B, H, Tq, D]);
      const tk = tf.tensor4d(k, [B, Hkv, Tk, D]);
      const tv = tf.tensor4d(v, [B, Hkv, Tk, D]);
      // Causal mask (key j visible to query i iff j − i ≤ Tk − Tq), built once: 0 or −∞.
      const mask = causal ? tf.tensor2d(Float32Array.from({ length: Tq * Tk }, (_, x) => ((x % Tk) - Math.floor(x / Tk) > Tk - Tq ? -Infinity : 0)), [Tq, Tk]) : null;
      const run = (): tf.Tensor => {
        let s = tf.mul(tf.matMul(tq, tfRepeatKv(tk, G), false, true), scale);
        if (mask) s = tf.add(s, mask);
        return tf.matMul(tf.softmax(s), tfRepeatKv(tv, G));
      };
      return { run, inputs: [tq, tk, tv, ...(mask ? [mask] : [])] };
    },
    gpujs: async (mode, gpu) => {
      const settings = { pipeline: mode === 'webgpu', constants: { G, D, Tq, Tk, scale, causal: causal ? 1 : 0 } };
      const kS = gpu.createKernel(gpuScores, { ...settings, output: [Tk, Tq, B * H] });
      const kL = gpu.createKernel(gpuLse3, { ...settings, output: [Tq, B * H] });
      const kP = gpu.createKernel(gpuProbs, { ...settings, output: [Tk, Tq, B * H] });
      const kO = gpu.createKernel(gpuPV, { ...settings, output: [D, Tq, B * H] });
      const Q = await peers.resident(mode, q, [D, Tq, B * H]);
      const K = await peers.resident(mode, k, [D, Tk, B * Hkv]);
      const V = await peers.resident(mode, v, [D, Tk, B * Hkv]);
      const run = async (): Promise<unknown> => {
        const s = await kS(Q, K);
        const l = await kL(s);
        const p = await kP(s, l);
        drop(s);
        drop(l);
        const o = await kO(p, V);
        drop(p);
        return o;
      };
      return { run, release: [kS, kL, kP, kO, Q, K, V], meta: { kernels: 4 } };
    },
  });
}
