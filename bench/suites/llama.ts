/**
 * Llama inference speed on a stories15M-shaped model (dim 288, 6 layers, 6 heads, vocab 32000,
 * random weights): prefill tokens/s for a 128-token prompt (last-position logits) and decode
 * tokens/s with the KV cache, kts CPU on its WebAssembly SIMD kernels (kts-wasm) and on its
 * TypeScript loops (kts-js, KTS_CPU_KERNELS=js), each on one thread and on every core (and WebGPU
 * when an adapter exists), next to PyTorch eager on one thread and on every core, in the same run.
 */
import { availableParallelism } from 'node:os';
import { cpuKernels, Generator, noGrad, setCpuKernels, setCpuThreads, stopCpuThreads, tensor } from '@kts/tensor';
import { KVCache } from '@kts/llama';
import { releaseDevice } from '@kts/steer';
import { BenchSuite, timeFn, type SuiteContext } from '../lib.ts';
import { benchDevices, stories15m, torchTimings } from '../stories15m.ts';

export default async function run(ctx: SuiteContext): Promise<void> {
  const threads = Math.min(8, availableParallelism());
  const suite = new BenchSuite('llama', { baseline: `pytorch-${threads}t` });
  const g = new Generator(2);
  const prompt = Int32Array.from({ length: 128 }, () => g.int(32000));
  // PyTorch eager on one thread and on every core (its default), each next to kts with as many threads.
  for (const t of [...new Set([1, threads])]) {
    const torch = torchTimings(t);
    if (typeof torch === 'string') { suite.note(torch); continue; }
    suite.record('prefill 128 tok', `pytorch-${t}t`, { medianMs: torch.prefill128_ms }, { meta: { torch: torch.torch, threads: torch.threads, tokensPerSec: 128_000 / torch.prefill128_ms } });
    suite.record('decode 1 tok', `pytorch-${t}t`, { medianMs: torch.decode_ms_per_token }, { meta: { threads: torch.threads, tokensPerSec: 1000 / torch.decode_ms_per_token } });
  }
  const devices = await benchDevices(ctx, suite);
  const kernels = cpuKernels().kernels === 'wasm' ? ['wasm', 'js'] as const : ['js'] as const;
  if (kernels.length === 1) suite.note(`kts-wasm: not run (${cpuKernels().reason})`);
  const runs = devices.flatMap((device) => (device === 'cpu'
    ? kernels.flatMap((k) => [...new Set([1, threads])].map((t) => ({ device, t, k, impl: `kts-${k}-${t}t` })))
    : [{ device, t: threads, k: 'wasm' as const, impl: `kts-${device}` }]));
  for (const { device, t, k, impl } of runs) {
    setCpuThreads(t);
    setCpuKernels(k);
    const model = stories15m(device);
    const ids = tensor(prompt, [1, 128], { device });
    const prefill = await timeFn(async () => {
      const { logits } = noGrad(() => model.forward(ids, { logits: 'last' }));
      await logits.data();
    }, { minSamples: 5 });
    suite.record('prefill 128 tok', impl, prefill, { meta: { tokensPerSec: 128_000 / prefill.medianMs } });
    // Decode: prefill once, then time single-token greedy steps against the cache (the first 16
    // steps are warm-up for the JIT and are not timed).
    const cache = new KVCache();
    let logits = noGrad(() => model.forward(ids, { cache, logits: 'last' }).logits);
    const steps: number[] = [];
    for (let s = 0; s < 16 + 32; s++) {
      const t0 = performance.now();
      const row = await logits.data();
      let best = 0;
      for (let v = 1; v < row.length; v++) if (row[v]! > row[best]!) best = v;
      logits = noGrad(() => model.forward(tensor(Int32Array.of(best), [1, 1], { device }), { cache, logits: 'last' }).logits);
      await logits.data();
      if (s >= 16) steps.push(performance.now() - t0);
    }
    steps.sort((a, b) => a - b);
    const med = steps[steps.length >> 1]!;
    suite.record('decode 1 tok', impl, { medianMs: med, minMs: steps[0], samples: steps.length }, { meta: { tokensPerSec: 1000 / med, context: '144-176', cpuThreads: t } });
  }
  setCpuThreads(threads);
  setCpuKernels('wasm');
  stopCpuThreads();
  suite.note('tokens/s = 128 000 / prefill ms and 1000 / decode ms; -Nt = threads: PyTorch via torch.set_num_threads, kts via setCpuThreads; kts-wasm = the CPU backend on its WebAssembly SIMD kernels (all ops threaded), kts-js = on its TypeScript loops (KTS_CPU_KERNELS=js; only matmuls threaded)');
  suite.note('pytorch is Debian torch 1.13 eager with a KV cache by concatenation; kts decode steps 1-16 after prefill are JIT warm-up, the next 32 are timed');
  suite.finish();
  releaseDevice();
}
