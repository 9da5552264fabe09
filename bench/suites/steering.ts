/**
 * Fused residual-stream steering (kernels/fused-steering.wgsl via the webgpu fusedOps) vs the
 * same op composed from separate WebGPU kernels (the composite of packages/tensor/src/attention.ts
 * addSteering: mul, sum, cast, mul, add — one dispatch each), Tensor level, forward and
 * forward+backward (gradients for vectors and coeffs). Target: fused ≥ 1.5× faster.
 * GB/s = bytes of h read + out written (fwd). Timing: `reps` calls per sample, one submit,
 * awaited with onSubmittedWorkDone (no readback).
 */
import { addSteering, tensor, type Tensor } from '@kts/tensor';
import { adapterInfo, currentDevice, flush, initWebGPU, shutdownWebGPU } from '@kts/webgpu';
import { BenchSuite, fillRandom, timeFn, type SuiteContext } from '../lib.ts';

function composite(h: Tensor, vectors: Tensor, coeffs: Tensor, mask: Tensor): Tensor {
  const delta = coeffs.unsqueeze(-1).mul(vectors).sum(-2);
  return h.add(mask.cast(h.dtype).unsqueeze(-1).mul(delta.unsqueeze(1)));
}

export default async function run(_ctx: SuiteContext): Promise<void> {
  await initWebGPU();
  const info = adapterInfo();
  const device = currentDevice();
  const suite = new BenchSuite('steering', { baseline: 'webgpu separate kernels' });
  const shapes: [number, number, number, number][] = [[1, 512, 4096, 1], [1, 512, 4096, 4], [8, 128, 2048, 2], [8, 1, 4096, 1]];
  for (const [B, T, D, K] of shapes) {
    const h = tensor(fillRandom(new Float32Array(B * T * D), 1), [B, T, D], { device: 'webgpu' });
    const vectors = tensor(fillRandom(new Float32Array(K * D), 2), [K, D], { device: 'webgpu', requiresGrad: true });
    const coeffs = tensor(fillRandom(new Float32Array(B * K), 3), [B, K], { device: 'webgpu', requiresGrad: true });
    const mask = tensor(Int32Array.from({ length: B * T }, (_, i) => (i % 4 === 0 ? 0 : 1)), [B, T], { dtype: 'int32', device: 'webgpu' });
    const g = tensor(fillRandom(new Float32Array(B * T * D), 4), [B, T, D], { device: 'webgpu' });
    const bytes = 2 * B * T * D * 4;
    const reps = Math.max(1, Math.min(40, Math.round((4e6 / (B * T * D)) * 8)));
    const label = `[${B},${T},${D}] K=${K}`;
    for (const [impl, fn] of [['webgpu fused', addSteering], ['webgpu separate kernels', composite]] as const) {
      for (const bwd of [false, true]) {
        const once = (): void => {
          const out = fn(h, vectors, coeffs, mask);
          if (bwd) {
            out.backward(g);
            vectors.grad = null;
            coeffs.grad = null;
          }
        };
        const t = await timeFn(async () => {
          for (let r = 0; r < reps; r++) once();
          flush();
          await device.queue.onSubmittedWorkDone();
        }, { method: 'median', minSamples: 5, maxSamples: 9, targetMs: 800, warmup: 2 });
        suite.record(bwd ? `${label} fwd+bwd` : label, impl, { medianMs: t.medianMs / reps, minMs: t.minMs / reps, samples: t.samples, method: 'median' }, {
          bytes: bwd ? undefined : bytes, meta: { reps },
        });
      }
    }
  }
  suite.note(`device: ${info.device || info.vendor} (${info.description}); backend ${info.backend}`);
  suite.note('Tensor-level calls (allocation included); per call = sample time / reps, reps calls per submit; fwd+bwd = forward + backward(g) with vectors and coeffs requiring grad');
  suite.note('separate kernels: the composite (coeffs·vectors, sum over K, mask cast, mul, add) on the same backend, one dispatch per primitive (~37 µs each on llvmpipe)');
  suite.finish();
  shutdownWebGPU();
}
