/**
 * Fused RMSNorm (kernels/rmsnorm.wgsl via the webgpu fusedOps) vs the composite from
 * separate WebGPU kernels (mul, mean, add, rsqrt, mul, mul as packages/tensor/src/functional.ts),
 * Tensor level. GB/s = (x read + y written + w read) / time — effective bandwidth (the fused
 * kernel reads x twice). Timing: `reps` calls per submit, awaited, no readback.
 *
 * Peers on the same shapes (bench/peers.ts): kts-cpu (rmsNorm on the CPU backend, fwd and
 * fwd+bwd), tfjs cpu/wasm (square, mean, add, rsqrt, mul, mul), gpu.js webgpu/cpu (a row kernel
 * for 1/rms, then an element kernel), PyTorch eager (fwd and fwd+bwd).
 * Flags: the peer flags of bench/peers.ts (--peers=, --no-peers, --peer-cap-ms=, --torch-threads=)
 */
import { rmsNorm, rmsNormComposite, tensor, type Tensor } from '@kts/tensor';
import { adapterInfo, currentDevice, flush, initWebGPU, shutdownWebGPU } from '@kts/webgpu';
import { BenchSuite, fillRandom, timeFn, type SuiteContext } from '../lib.ts';
import { drop, Peers, tf, type KernelFn, type KernelThis, type TorchJob } from '../peers.ts';

const EPS = 1e-5;

// gpu.js: r[row] = 1/sqrt(mean(x[row]²) + eps); y[row][c] = w[c] · x[row][c] · r[row]
const gpuInvRms: KernelFn = function (this: KernelThis, x: number[][]) {
  let s = 0;
  for (let j = 0; j < this.constants.N!; j++) {
    const v = x[this.thread.x]![j]!;
    s += v * v;
  }
  return 1 / Math.sqrt(s / this.constants.N! + this.constants.eps!);
};
const gpuScale: KernelFn = function (this: KernelThis, x: number[][], w: number[], r: number[]) {
  return w[this.thread.x]! * x[this.thread.y]![this.thread.x]! * r[this.thread.y]!;
};

export default async function run(ctx: SuiteContext): Promise<void> {
  await initWebGPU();
  const info = adapterInfo();
  const device = currentDevice();
  const suite = new BenchSuite('rmsnorm', { baseline: 'webgpu separate kernels' });
  const peers = await Peers.create(suite, ctx, { webgpu: info, peers: ['kts-cpu', 'tfjs-cpu', 'tfjs-wasm', 'gpu.js-webgpu', 'gpu.js-cpu', 'pytorch-cpu'] });
  const torchJobs: TorchJob[] = [];
  for (const [rows, N] of [[512, 4096], [2048, 1024], [4096, 288], [1, 4096]] as [number, number][]) {
    const xA = fillRandom(new Float32Array(rows * N), 1);
    const wA = fillRandom(new Float32Array(N), 2);
    const gA = fillRandom(new Float32Array(rows * N), 3);
    const x = tensor(xA, [rows, N], { device: 'webgpu', requiresGrad: true });
    const w = tensor(wA, [N], { device: 'webgpu', requiresGrad: true });
    const g = tensor(gA, [rows, N], { device: 'webgpu' });
    const reps = Math.max(1, Math.min(40, Math.round(2e7 / (rows * N))));
    const bytes = (2 * rows * N + N) * 4;
    for (const [impl, fn] of [['webgpu fused', (a: Tensor, b: Tensor) => rmsNorm(a, b, EPS)], ['webgpu separate kernels', (a: Tensor, b: Tensor) => rmsNormComposite(a, b, EPS)]] as const) {
      for (const bwd of [false, true]) {
        const t = await timeFn(async () => {
          for (let r = 0; r < reps; r++) {
            const y = fn(x, w);
            if (bwd) {
              y.backward(g);
              x.grad = null;
              w.grad = null;
            }
          }
          flush();
          await device.queue.onSubmittedWorkDone();
        }, { method: 'median', minSamples: 5, maxSamples: 9, targetMs: 600, warmup: 1 });
        suite.record(`[${rows},${N}]${bwd ? ' fwd+bwd' : ''}`, impl, { medianMs: t.medianMs / reps, minMs: t.minMs / reps, samples: t.samples, method: 'median' }, {
          bytes: bwd ? undefined : bytes, meta: { reps },
        });
      }
    }

    const label = `[${rows},${N}]`;
    const xc = tensor(xA, [rows, N], { device: 'cpu', requiresGrad: true });
    const wc = tensor(wA, [N], { device: 'cpu', requiresGrad: true });
    const gc = tensor(gA, [rows, N], { device: 'cpu' });
    await peers.op({
      shape: label, work: rows * N, bytes,
      kts: () => rmsNorm(xc, wc, EPS),
      ktsBwd: {
        shape: `${label} fwd+bwd`, work: 3 * rows * N,
        run: () => {
          rmsNorm(xc, wc, EPS).backward(gc);
          xc.grad = null;
          wc.grad = null;
        },
      },
      tfjs: () => {
        const tx = tf.tensor2d(xA, [rows, N]);
        const tw = tf.tensor1d(wA);
        return { run: () => tf.mul(tw, tf.mul(tx, tf.rsqrt(tf.add(tf.mean(tf.square(tx), -1, true), EPS)))), inputs: [tx, tw] };
      },
      gpujs: async (mode, gpu) => {
        const settings = { constants: { N, eps: EPS }, pipeline: mode === 'webgpu' };
        const kR = gpu.createKernel(gpuInvRms, { ...settings, output: [rows] });
        const kY = gpu.createKernel(gpuScale, { ...settings, output: [N, rows] });
        const X = await peers.resident(mode, xA, [N, rows]);
        const W = await peers.resident(mode, wA, [N]);
        const run = async (): Promise<unknown> => {
          const r = await kR(X);
          const y = await kY(X, W, r);
          drop(r);
          return y;
        };
        return { run, release: [kR, kY, X, W], meta: { kernels: 2 } };
      },
    });
    torchJobs.push({ id: label, op: 'rmsnorm', rows, N }, { id: `${label} fwd+bwd`, op: 'rmsnorm', rows, N, bwd: true });
  }
  peers.torch(torchJobs, (j) => (j.bwd ? {} : { bytes: (2 * (j.rows as number) * (j.N as number) + (j.N as number)) * 4 }));
  await peers.close();
  suite.note(`device: ${info.device || info.vendor} (${info.description}); backend ${info.backend}`);
  suite.note('GB/s = minimal traffic (x and w read once, y written once); fwd+bwd rows: forward + backward(g) for x and w, including the front end materialising x.grad and w.grad (copy kernels of the backend)');
  suite.note('peers: kts-cpu = rmsNorm on the CPU backend (its composite), x and w requiring grad; tfjs/gpu.js forward only; PyTorch fwd under no_grad and fwd+bwd with autograd');
  suite.finish();
  shutdownWebGPU();
}
