/**
 * KTS training throughput: one step = reference forward (no grad) + steered forward with LoRA
 * (rank 8, all projections) + backward + AdamW, batch 8 × 64 tokens.
 *   default: the stories15M-shaped model; kts CPU on every core on its WebAssembly SIMD kernels
 *            (kts-wasm) and on its TypeScript loops (kts-js, KTS_CPU_KERNELS=js), and WebGPU when an
 *            adapter exists, next to the PyTorch reference step on one thread and on every core.
 *   --model=smollm2-135m: the SmolLM2-135M-shaped model (30 layers, GQA 9/3, vocab 49152) for a
 *            GPU: kts WebGPU next to the PyTorch CUDA step (reference/bench_llama.py --model
 *            smollm2-135m --device cuda, f32, TF32 off); the CPU rows only with --cpu.
 * Flags: --model=stories15m|smollm2-135m, --device=cpu, --cpu.
 */
import { cpuKernels, cpuThreads, Generator, setCpuKernels } from '@kts/tensor';
import { SteeringVector, trainKTS } from '@kts/steer';
import { releaseDevice } from '@kts/steer';
import { BenchSuite, type SuiteContext } from '../lib.ts';
import { benchDevices, SMOLLM2_135M, STORIES15M, stories15m, torchCudaSmollm2, torchTimings } from '../stories15m.ts';

/** Steps run before timing (heap growth, JIT), then steps timed (median); the TypeScript loops (13 s a step) get 1 + 2. */
const STEPS = { wasm: { warmup: 3, timed: 5 }, js: { warmup: 1, timed: 2 } } as const;

export default async function run(ctx: SuiteContext): Promise<void> {
  const threads = cpuThreads();
  const smol = ctx.flags.model === 'smollm2-135m';
  if (ctx.flags.model !== undefined && !smol && ctx.flags.model !== 'stories15m') throw new Error(`--model must be stories15m or smollm2-135m`);
  const config = smol ? SMOLLM2_135M : STORIES15M;
  const label = `kts step 8x64${smol ? ' smollm2-135m' : ''}`;
  const suite = new BenchSuite(smol ? 'kts-smollm2' : 'kts', { baseline: smol ? 'pytorch-cuda' : `pytorch-${threads}t` });
  if (smol) {
    const torch = torchCudaSmollm2();
    if (typeof torch === 'string') suite.note(torch);
    else suite.record(label, 'pytorch-cuda', { medianMs: torch.kts_step_ms }, { meta: { tokensPerSec: (torch.kts_step_tokens * 1000) / torch.kts_step_ms, device: torch.device, torch: torch.torch, tf32: false } });
  } else {
    for (const t of [...new Set([1, threads])]) {
      const torch = torchTimings(t);
      if (typeof torch === 'string') { suite.note(torch); continue; }
      suite.record(label, `pytorch-${t}t`, { medianMs: torch.kts_step_ms }, { meta: { tokensPerSec: (torch.kts_step_tokens * 1000) / torch.kts_step_ms, threads: torch.threads } });
    }
  }
  const g = new Generator(3);
  const benign = Array.from({ length: 8 }, () => Array.from({ length: 64 }, () => g.int(config.vocabSize)));
  const vector = new SteeringVector(new Map([1, 2].map((l) => [l, Float32Array.from({ length: config.hiddenSize }, () => 0.5 * g.normal())])));
  const devices = (await benchDevices(ctx, suite)).filter((d) => d !== 'cpu' || !smol || ctx.flags.cpu === true);
  const wasm = cpuKernels().kernels === 'wasm';
  if (!wasm) suite.note(`kts-wasm: not run (${cpuKernels().reason})`);
  const runs = devices.flatMap((device) => (device === 'cpu' ? [...(wasm ? ['wasm' as const] : []), 'js' as const].map((k) => ({ device, k })) : [{ device, k: 'wasm' as const }]));
  for (const { device, k } of runs) {
    setCpuKernels(k);
    const model = stories15m(device, config);
    // The first WARMUP steps grow the CPU heap to its working size (~2.3 GiB here; every new page
    // is a page fault on first touch) or fill the GPU buffer pool, and warm the JIT; a training
    // run's thousand steps run at the rate of the steps after, which are timed.
    const { warmup: WARMUP, timed: TIMED } = STEPS[k];
    const { history } = await trainKTS(model, benign, [vector], { steps: WARMUP + TIMED, layers: [1, 2], batchSize: 8, prob: 1, device, rank: 8, maxTokens: 64 });
    const ms = history.map((h) => h.seconds * 1000);
    const times = ms.slice(WARMUP).sort((a, b) => a - b);
    const med = times[times.length >> 1]!;
    const impl = device === 'cpu' ? `kts-${k}-${threads}t` : `kts-${device}`;
    suite.record(label, impl, { medianMs: med, minMs: times[0], samples: times.length }, { meta: { tokensPerSec: (512 * 1000) / med, cpuThreads: threads, kernels: k, warmupMs: ms.slice(0, WARMUP).map(Math.round) } });
  }
  setCpuKernels('wasm');
  suite.note(`kts rows: median of steps ${STEPS.wasm.warmup + 1}-${STEPS.wasm.warmup + STEPS.wasm.timed} (kts-js: ${STEPS.js.warmup + 1}-${STEPS.js.warmup + STEPS.js.timed}); the earlier steps (heap growth, JIT warm-up) are in meta.warmupMs`);
  suite.note('tokens/s = 512 000 / step ms (steered + reference forward, backward, AdamW); -Nt = threads (torch.set_num_threads; kts CPU workers, setCpuThreads); kts-wasm = the CPU backend on its WebAssembly SIMD kernels, kts-js = on its TypeScript loops (KTS_CPU_KERNELS=js, only matmuls threaded)');
  suite.finish();
  releaseDevice();
}
