/**
 * Fused KL(softmax(p) ‖ softmax(q)) over the vocabulary per row (kernels/kl.wgsl via the
 * webgpu fusedOps: one pass over both logit sets) vs the composite from separate WebGPU kernels
 * (klDivLogitsComposite from @kts/tensor: two logSoftmax, exp, sub, mul, sum), Tensor level, forward and forward+backward (gradient for p only, as KTS training:
 * q detached). GB/s = (p + q read) / time (forward). Timing: `reps` calls per submit, awaited.
 *
 * Peers on the same shapes (bench/peers.ts): kts-cpu (klDivLogits on the CPU backend, fwd and
 * fwd+bwd), tfjs cpu/wasm (logSoftmax ×2, exp, sub, mul, sum), gpu.js webgpu/cpu (row
 * log-sum-exp of p and of q, then a row kernel for the sum), PyTorch eager (fwd and fwd+bwd).
 * Flags: the peer flags of bench/peers.ts (--peers=, --no-peers, --peer-cap-ms=, --torch-threads=)
 */
import { klDivLogits, klDivLogitsComposite, tensor } from '@kts/tensor';
import { adapterInfo, currentDevice, flush, initWebGPU, shutdownWebGPU } from '@kts/webgpu';
import { BenchSuite, fillRandom, timeFn, type SuiteContext } from '../lib.ts';
import { drop, gpuRowLse, Peers, tf, type KernelFn, type KernelThis, type TorchJob } from '../peers.ts';

// gpu.js: kl[r] = Σ_j exp(p − lseP)·((p − lseP) − (q − lseQ)), one thread per row
const gpuKlRows: KernelFn = function (this: KernelThis, p: number[][], q: number[][], lp: number[], lq: number[]) {
  const r = this.thread.x;
  let s = 0;
  for (let j = 0; j < this.constants.N!; j++) {
    const a = p[r]![j]! - lp[r]!;
    s += Math.exp(a) * (a - (q[r]![j]! - lq[r]!));
  }
  return s;
};

export default async function run(ctx: SuiteContext): Promise<void> {
  await initWebGPU();
  const info = adapterInfo();
  const device = currentDevice();
  const suite = new BenchSuite('kl', { baseline: 'webgpu separate kernels' });
  const peers = await Peers.create(suite, ctx, { webgpu: info, peers: ['kts-cpu', 'tfjs-cpu', 'tfjs-wasm', 'gpu.js-webgpu', 'gpu.js-cpu', 'pytorch-cpu'] });
  const torchJobs: TorchJob[] = [];
  for (const [rows, V] of [[64, 32000], [8, 32000], [1, 32000], [512, 4096]] as [number, number][]) {
    const pA = fillRandom(new Float32Array(rows * V), 1);
    const qA = fillRandom(new Float32Array(rows * V), 2);
    const gA = fillRandom(new Float32Array(rows), 3);
    const p = tensor(pA, [rows, V], { device: 'webgpu', requiresGrad: true });
    const q = tensor(qA, [rows, V], { device: 'webgpu' });
    const g = tensor(gA, [rows], { device: 'webgpu' });
    const reps = Math.max(1, Math.min(40, Math.round(2e7 / (rows * V))));
    const bytes = 2 * rows * V * 4;
    for (const [impl, fn] of [['webgpu fused', klDivLogits], ['webgpu separate kernels', klDivLogitsComposite]] as const) {
      for (const bwd of [false, true]) {
        const t = await timeFn(async () => {
          for (let r = 0; r < reps; r++) {
            const kl = fn(p, q);
            if (bwd) {
              kl.backward(g);
              p.grad = null;
            }
          }
          flush();
          await device.queue.onSubmittedWorkDone();
        }, { method: 'median', minSamples: 5, maxSamples: 9, targetMs: 600, warmup: 1 });
        suite.record(`[${rows},${V}]${bwd ? ' fwd+bwd' : ''}`, impl, { medianMs: t.medianMs / reps, minMs: t.minMs / reps, samples: t.samples, method: 'median' }, {
          bytes: bwd ? undefined : bytes, meta: { reps },
        });
      }
    }

    const label = `[${rows},${V}]`;
    const pc = tensor(pA, [rows, V], { device: 'cpu', requiresGrad: true });
    const qc = tensor(qA, [rows, V], { device: 'cpu' });
    const gc = tensor(gA, [rows], { device: 'cpu' });
    await peers.op({
      shape: label, work: rows * V, bytes,
      kts: () => klDivLogits(pc, qc),
      ktsBwd: {
        shape: `${label} fwd+bwd`, work: 3 * rows * V,
        run: () => {
          klDivLogits(pc, qc).backward(gc);
          pc.grad = null;
        },
      },
      tfjs: () => {
        const tp = tf.tensor2d(pA, [rows, V]);
        const tq = tf.tensor2d(qA, [rows, V]);
        const run = (): tf.Tensor => {
          const lp = tf.logSoftmax(tp);
          const lq = tf.logSoftmax(tq);
          return tf.sum(tf.mul(tf.exp(lp), tf.sub(lp, lq)), -1);
        };
        return { run, inputs: [tp, tq] };
      },
      gpujs: async (mode, gpu) => {
        const settings = { constants: { N: V }, pipeline: mode === 'webgpu' };
        const kLp = gpu.createKernel(gpuRowLse, { ...settings, output: [rows] });
        const kLq = gpu.createKernel(gpuRowLse, { ...settings, output: [rows] });
        const kKl = gpu.createKernel(gpuKlRows, { ...settings, output: [rows] });
        const P = await peers.resident(mode, pA, [V, rows]);
        const Q = await peers.resident(mode, qA, [V, rows]);
        const run = async (): Promise<unknown> => {
          const lp = await kLp(P);
          const lq = await kLq(Q);
          const kl = await kKl(P, Q, lp, lq);
          drop(lp);
          drop(lq);
          return kl;
        };
        return { run, release: [kLp, kLq, kKl, P, Q], meta: { kernels: 3 } };
      },
      // The KL values are small differences of O(1) terms summed over V: compare loosely.
      tol: 1e-2,
    });
    torchJobs.push({ id: label, op: 'kl', rows, V }, { id: `${label} fwd+bwd`, op: 'kl', rows, V, bwd: true });
  }
  peers.torch(torchJobs, (j) => (j.bwd ? {} : { bytes: 2 * (j.rows as number) * (j.V as number) * 4 }));
  await peers.close();
  suite.note(`device: ${info.device || info.vendor} (${info.description}); backend ${info.backend}`);
  suite.note('GB/s = p and q logits read once (forward); fwd+bwd = forward + backward(g) with p requiring grad (q detached, as in KTS)');
  suite.note('fwd+bwd also includes the front end materialising p.grad (a full-size copy kernel of the backend)');
  suite.note('separate kernels: klDivLogitsComposite from @kts/tensor: logSoftmax ×2 (the fused softmax kernel on WebGPU), exp, sub, mul, sum — several dispatches and full-size temporaries');
  suite.note('peers: kts-cpu = klDivLogits on the CPU backend (its composite), p requiring grad; tfjs/gpu.js forward only; PyTorch fwd under no_grad and fwd+bwd with autograd');
  suite.finish();
  shutdownWebGPU();
}
