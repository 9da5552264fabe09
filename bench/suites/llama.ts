/**
 * Llama inference speed on a stories15M-shaped model (dim 288, 6 layers, 6 heads, vocab 32000,
 * random weights): prefill tokens/s for a 128-token prompt (last-position logits) and decode
 * tokens/s with the KV cache, kts CPU (and WebGPU when an adapter exists) next to PyTorch eager
 * (1 thread, like kts's CPU backend) measured in the same run.
 */
import { Generator, noGrad, tensor } from '@kts/tensor';
import { KVCache } from '@kts/llama';
import { releaseDevice } from '../../packages/steer/src/device.ts';
import { BenchSuite, timeFn, type SuiteContext } from '../lib.ts';
import { benchDevices, stories15m, torchTimings } from '../stories15m.ts';

export default async function run(ctx: SuiteContext): Promise<void> {
  const suite = new BenchSuite('llama', { baseline: 'pytorch-eager' });
  const g = new Generator(2);
  const prompt = Int32Array.from({ length: 128 }, () => g.int(32000));
  const torch = torchTimings(1);
  if (typeof torch === 'string') suite.note(torch);
  else {
    suite.record('prefill 128 tok', 'pytorch-eager', { medianMs: torch.prefill128_ms }, { meta: { torch: torch.torch, threads: torch.threads, tokensPerSec: 128_000 / torch.prefill128_ms } });
    suite.record('decode 1 tok', 'pytorch-eager', { medianMs: torch.decode_ms_per_token }, { meta: { tokensPerSec: 1000 / torch.decode_ms_per_token } });
  }
  const devices = await benchDevices(ctx, suite);
  for (const device of devices) {
    const model = stories15m(device);
    const ids = tensor(prompt, [1, 128], { device });
    const prefill = await timeFn(async () => {
      const { logits } = noGrad(() => model.forward(ids, { logits: 'last' }));
      await logits.data();
    }, { minSamples: 5 });
    suite.record('prefill 128 tok', `kts-${device}`, prefill, { meta: { tokensPerSec: 128_000 / prefill.medianMs } });
    // Decode: prefill once, then time single-token steps against the cache.
    const cache = new KVCache();
    let logits = noGrad(() => model.forward(ids, { cache, logits: 'last' }).logits);
    const steps: number[] = [];
    for (let s = 0; s < 32; s++) {
      const t0 = performance.now();
      const row = await logits.data();
      let best = 0;
      for (let v = 1; v < row.length; v++) if (row[v]! > row[best]!) best = v;
      logits = noGrad(() => model.forward(tensor(Int32Array.of(best), [1, 1], { device }), { cache, logits: 'last' }).logits);
      await logits.data();
      steps.push(performance.now() - t0);
    }
    steps.sort((a, b) => a - b);
    const med = steps[steps.length >> 1]!;
    suite.record('decode 1 tok', `kts-${device}`, { medianMs: med, minMs: steps[0], samples: steps.length }, { meta: { tokensPerSec: 1000 / med, context: '128-160' } });
  }
  suite.note('tokens/s = 128 000 / prefill ms and 1000 / decode ms; pytorch-eager is Debian torch 1.13 on 1 thread, KV cache by concatenation');
  suite.finish();
  releaseDevice();
}
