/**
 * Fused RMSNorm (kernels/fused-rmsnorm.wgsl via the webgpu fusedOps) vs the composite from
 * separate WebGPU kernels (mul, mean, add, rsqrt, mul, mul as packages/tensor/src/functional.ts),
 * Tensor level. GB/s = (x read + y written + w read) / time — effective bandwidth (the fused
 * kernel reads x twice). Timing: `reps` calls per submit, awaited, no readback.
 */
import { rmsNorm, tensor, type Tensor } from '@kts/tensor';
import { adapterInfo, currentDevice, flush, initWebGPU, shutdownWebGPU } from '@kts/webgpu';
import { BenchSuite, fillRandom, timeFn, type SuiteContext } from '../lib.ts';

function composite(x: Tensor, w: Tensor, eps: number): Tensor {
  const variance = x.mul(x).mean(-1, true);
  return w.mul(x.mul(variance.add(eps).rsqrt()));
}

export default async function run(_ctx: SuiteContext): Promise<void> {
  await initWebGPU();
  const info = adapterInfo();
  const device = currentDevice();
  const suite = new BenchSuite('rmsnorm', { baseline: 'webgpu separate kernels' });
  for (const [rows, N] of [[512, 4096], [2048, 1024], [4096, 288], [1, 4096]] as [number, number][]) {
    const x = tensor(fillRandom(new Float32Array(rows * N), 1), [rows, N], { device: 'webgpu', requiresGrad: true });
    const w = tensor(fillRandom(new Float32Array(N), 2), [N], { device: 'webgpu', requiresGrad: true });
    const g = tensor(fillRandom(new Float32Array(rows * N), 3), [rows, N], { device: 'webgpu' });
    const reps = Math.max(1, Math.min(40, Math.round(2e7 / (rows * N))));
    for (const [impl, fn] of [['webgpu fused', (a: Tensor, b: Tensor) => rmsNorm(a, b, 1e-5)], ['webgpu separate kernels', (a: Tensor, b: Tensor) => composite(a, b, 1e-5)]] as const) {
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
          bytes: bwd ? undefined : (2 * rows * N + N) * 4, meta: { reps },
        });
      }
    }
  }
  suite.note(`device: ${info.device || info.vendor} (${info.description}); backend ${info.backend}`);
  suite.note('GB/s = minimal traffic (x and w read once, y written once); fwd+bwd rows: forward + backward(g) for x and w, including the front end materialising x.grad and w.grad (copy kernels of the backend)');
  suite.finish();
  shutdownWebGPU();
}
