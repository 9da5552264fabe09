/**
 * Fused softmax / logSoftmax over the last axis (kernels/softmax.wgsl via the webgpu
 * fusedOps) vs the composite from separate WebGPU kernels (max, where, sub, exp, sum, div as
 * packages/tensor/src/functional.ts), Tensor level. GB/s = (x read + y written) / time.
 * Timing: `reps` calls per submit, awaited, no readback.
 *
 * Peers on the same shapes (bench/peers.ts): kts-cpu (softmax / logSoftmax on the CPU backend),
 * tfjs cpu/wasm (tf.softmax / tf.logSoftmax), gpu.js webgpu/cpu (a row log-sum-exp kernel, then
 * an element kernel), PyTorch eager (torch.softmax / torch.log_softmax).
 * Flags: the peer flags of bench/peers.ts (--peers=, --no-peers, --peer-cap-ms=, --torch-threads=)
 */
import { logSoftmax, logSoftmaxComposite, softmax, softmaxComposite, tensor, type Tensor } from '@kts/tensor';
import { adapterInfo, currentDevice, flush, initWebGPU, shutdownWebGPU } from '@kts/webgpu';
import { BenchSuite, fillRandom, timeFn, type SuiteContext } from '../lib.ts';
import { drop, gpuRowLse, Peers, tf, type KernelFn, type KernelThis, type TorchJob } from '../peers.ts';

// gpu.js: y[r][c] = exp(x[r][c] − lse[r]) (softmax) or x[r][c] − lse[r] (logSoftmax)
const gpuSoftmax: KernelFn = function (this: KernelThis, x: number[][], lse: number[]) {
  return Math.exp(x[this.thread.y]![this.thread.x]! - lse[this.thread.y]!);
};
const gpuLogSoftmax: KernelFn = function (this: KernelThis, x: number[][], lse: number[]) {
  return x[this.thread.y]![this.thread.x]! - lse[this.thread.y]!;
};

export default async function run(ctx: SuiteContext): Promise<void> {
  await initWebGPU();
  const info = adapterInfo();
  const device = currentDevice();
  const suite = new BenchSuite('softmax', { baseline: 'webgpu separate kernels' });
  const peers = await Peers.create(suite, ctx, { webgpu: info, peers: ['kts-cpu', 'tfjs-cpu', 'tfjs-wasm', 'gpu.js-webgpu', 'gpu.js-cpu', 'pytorch-cpu'] });
  const cases: [string, number, number, boolean][] = [
    ['softmax scores', 8 * 512, 512, false],
    ['softmax vocab', 256, 32000, false],
    ['logSoftmax vocab', 256, 32000, true],
    ['softmax decode', 1, 32000, false],
  ];
  const torchJobs: TorchJob[] = [];
  for (const [name, rows, N, log] of cases) {
    const xA = fillRandom(new Float32Array(rows * N), 1);
    const x = tensor(xA, [rows, N], { device: 'webgpu' });
    const reps = Math.max(1, Math.min(40, Math.round(2e7 / (rows * N))));
    const fused = log ? (t: Tensor) => logSoftmax(t, -1) : (t: Tensor) => softmax(t, -1);
    const comp = log ? logSoftmaxComposite : softmaxComposite;
    const label = `${name} [${rows},${N}]`;
    const bytes = 2 * rows * N * 4;
    for (const [impl, fn] of [['webgpu fused', fused], ['webgpu separate kernels', comp]] as const) {
      const t = await timeFn(async () => {
        for (let r = 0; r < reps; r++) fn(x);
        flush();
        await device.queue.onSubmittedWorkDone();
      }, { method: 'median', minSamples: 5, maxSamples: 9, targetMs: 800, warmup: 2 });
      suite.record(label, impl, { medianMs: t.medianMs / reps, minMs: t.minMs / reps, samples: t.samples, method: 'median' }, {
        bytes, meta: { reps },
      });
    }

    const xc = tensor(xA, [rows, N], { device: 'cpu' });
    await peers.op({
      shape: label, work: rows * N, bytes,
      kts: () => fused(xc),
      tfjs: () => {
        const tx = tf.tensor2d(xA, [rows, N]);
        return { run: () => (log ? tf.logSoftmax(tx) : tf.softmax(tx)), inputs: [tx] };
      },
      gpujs: async (mode, gpu) => {
        const settings = { constants: { N }, pipeline: mode === 'webgpu' };
        const kL = gpu.createKernel(gpuRowLse, { ...settings, output: [rows] });
        const kY = gpu.createKernel(log ? gpuLogSoftmax : gpuSoftmax, { ...settings, output: [N, rows] });
        const X = await peers.resident(mode, xA, [N, rows]);
        const run = async (): Promise<unknown> => {
          const l = await kL(X);
          const y = await kY(X, l);
          drop(l);
          return y;
        };
        return { run, release: [kL, kY, X], meta: { kernels: 2 } };
      },
    });
    torchJobs.push({ id: label, op: 'softmax', rows, N, log });
  }
  peers.torch(torchJobs, (j) => ({ bytes: 2 * (j.rows as number) * (j.N as number) * 4 }));
  await peers.close();
  suite.note(`device: ${info.device || info.vendor} (${info.description}); backend ${info.backend}`);
  suite.note('GB/s = minimal traffic (x read once, y written once); the fused kernel reads x twice (online max/sum pass + output pass)');
  suite.note('peers: kts-cpu = softmax/logSoftmax on the CPU backend (its composite); PyTorch under no_grad');
  suite.finish();
  shutdownWebGPU();
}
