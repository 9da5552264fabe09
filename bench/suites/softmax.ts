/**
 * Fused softmax / logSoftmax over the last axis (kernels/fused-softmax.wgsl via the webgpu
 * fusedOps) vs the composite from separate WebGPU kernels (max, where, sub, exp, sum, div as
 * packages/tensor/src/functional.ts), Tensor level. GB/s = (x read + y written) / time.
 * Timing: `reps` calls per submit, awaited, no readback.
 */
import { logSoftmax, softmax, tensor, where, type Tensor } from '@kts/tensor';
import { adapterInfo, currentDevice, flush, initWebGPU, shutdownWebGPU } from '@kts/webgpu';
import { BenchSuite, fillRandom, timeFn, type SuiteContext } from '../lib.ts';

function softmaxComposite(t: Tensor): Tensor {
  const m = t.max(-1, true);
  const e = t.sub(where(m.eq(-Infinity), 0, m)).exp();
  const s = e.sum(-1, true);
  return e.div(where(s.eq(0), 1, s));
}
function logSoftmaxComposite(t: Tensor): Tensor {
  const shifted = t.sub(t.max(-1, true));
  return shifted.sub(shifted.exp().sum(-1, true).log());
}

export default async function run(_ctx: SuiteContext): Promise<void> {
  await initWebGPU();
  const info = adapterInfo();
  const device = currentDevice();
  const suite = new BenchSuite('softmax', { baseline: 'webgpu separate kernels' });
  const cases: [string, number, number, boolean][] = [
    ['softmax scores', 8 * 512, 512, false],
    ['softmax vocab', 256, 32000, false],
    ['logSoftmax vocab', 256, 32000, true],
    ['softmax decode', 1, 32000, false],
  ];
  for (const [name, rows, N, log] of cases) {
    const x = tensor(fillRandom(new Float32Array(rows * N), 1), [rows, N], { device: 'webgpu' });
    const reps = Math.max(1, Math.min(40, Math.round(2e7 / (rows * N))));
    const fused = log ? (t: Tensor) => logSoftmax(t, -1) : (t: Tensor) => softmax(t, -1);
    const comp = log ? logSoftmaxComposite : softmaxComposite;
    for (const [impl, fn] of [['webgpu fused', fused], ['webgpu separate kernels', comp]] as const) {
      const t = await timeFn(async () => {
        for (let r = 0; r < reps; r++) fn(x);
        flush();
        await device.queue.onSubmittedWorkDone();
      }, { method: 'median', minSamples: 5, maxSamples: 9, targetMs: 800, warmup: 2 });
      suite.record(`${name} [${rows},${N}]`, impl, { medianMs: t.medianMs / reps, minMs: t.minMs / reps, samples: t.samples, method: 'median' }, {
        bytes: 2 * rows * N * 4, meta: { reps },
      });
    }
  }
  suite.note(`device: ${info.device || info.vendor} (${info.description}); backend ${info.backend}`);
  suite.note('GB/s = minimal traffic (x read once, y written once); the fused kernel reads x twice (online max/sum pass + output pass)');
  suite.finish();
  shutdownWebGPU();
}
