/**
 * Fused KL(softmax(p) ‖ softmax(q)) over the vocabulary per row (kernels/fused-kl.wgsl via the
 * webgpu fusedOps: one pass over both logit sets) vs the composite from separate WebGPU kernels
 * (two logSoftmax compositions, exp, sub, mul, sum as packages/tensor/src/attention.ts
 * klDivLogits), Tensor level, forward and forward+backward (gradient for p only, as KTS training:
 * q detached). GB/s = (p + q read) / time (forward). Timing: `reps` calls per submit, awaited.
 */
import { klDivLogits, tensor, type Tensor } from '@kts/tensor';
import { adapterInfo, currentDevice, flush, initWebGPU, shutdownWebGPU } from '@kts/webgpu';
import { BenchSuite, fillRandom, timeFn, type SuiteContext } from '../lib.ts';

function logSoftmaxComposite(t: Tensor): Tensor {
  const shifted = t.sub(t.max(-1, true));
  return shifted.sub(shifted.exp().sum(-1, true).log());
}
function klComposite(p: Tensor, q: Tensor): Tensor {
  const logP = logSoftmaxComposite(p);
  const logQ = logSoftmaxComposite(q);
  return logP.exp().mul(logP.sub(logQ)).sum(-1);
}

export default async function run(_ctx: SuiteContext): Promise<void> {
  await initWebGPU();
  const info = adapterInfo();
  const device = currentDevice();
  const suite = new BenchSuite('kl', { baseline: 'webgpu separate kernels' });
  for (const [rows, V] of [[64, 32000], [8, 32000], [1, 32000], [512, 4096]] as [number, number][]) {
    const p = tensor(fillRandom(new Float32Array(rows * V), 1), [rows, V], { device: 'webgpu', requiresGrad: true });
    const q = tensor(fillRandom(new Float32Array(rows * V), 2), [rows, V], { device: 'webgpu' });
    const g = tensor(fillRandom(new Float32Array(rows), 3), [rows], { device: 'webgpu' });
    const reps = Math.max(1, Math.min(40, Math.round(2e7 / (rows * V))));
    for (const [impl, fn] of [['webgpu fused', klDivLogits], ['webgpu separate kernels', klComposite]] as const) {
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
          bytes: bwd ? undefined : 2 * rows * V * 4, meta: { reps },
        });
      }
    }
  }
  suite.note(`device: ${info.device || info.vendor} (${info.description}); backend ${info.backend}`);
  suite.note('GB/s = p and q logits read once (forward); fwd+bwd = forward + backward(g) with p requiring grad (q detached, as in KTS)');
  suite.note('fwd+bwd also includes the front end materialising p.grad (a full-size copy kernel of the backend)');
  suite.note('separate kernels: composite logSoftmax ×2 (max, sub, exp, sum, log, sub each), exp, sub, mul, sum — about 15 dispatches and several full-size temporaries');
  suite.finish();
  shutdownWebGPU();
}
