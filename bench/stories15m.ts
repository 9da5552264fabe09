// Shared by the llama and kts suites: a stories15M-shaped Llama with random weights (and a
// SmolLM2-135M-shaped one for GPUs), and the PyTorch reference timings (reference/bench_llama.py,
// on the CPU or, for the SmolLM2 shape, a CUDA GPU) measured in the same run.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Generator, noGrad, tensor } from '@kts/tensor';
import { LlamaForCausalLM, makeConfig } from '@kts/llama';
import { selectDevice } from '@kts/steer';
import type { BenchSuite, SuiteContext } from './lib.ts';

export const STORIES15M = makeConfig({
  vocabSize: 32000, hiddenSize: 288, intermediateSize: 768, numHiddenLayers: 6, numAttentionHeads: 6,
  maxPositionEmbeddings: 512, tieWordEmbeddings: true, rmsNormEps: 1e-5,
});

/** HuggingFaceTB/SmolLM2-135M's shape (GQA 9/3 heads, tied embeddings), for GPU runs. */
export const SMOLLM2_135M = makeConfig({
  vocabSize: 49152, hiddenSize: 576, intermediateSize: 1536, numHiddenLayers: 30, numAttentionHeads: 9, numKeyValueHeads: 3,
  maxPositionEmbeddings: 2048, tieWordEmbeddings: true, rmsNormEps: 1e-5, ropeTheta: 100000,
});

export function stories15m(device = 'cpu', config = STORIES15M): LlamaForCausalLM {
  const model = new LlamaForCausalLM(config, { generator: new Generator(0), device });
  const g = new Generator(1);
  noGrad(() => {
    for (const [name, p] of model.namedParameters()) {
      if (name.endsWith('norm.weight')) continue;
      p.backend.assign(p, tensor(Float32Array.from({ length: p.size }, () => 0.02 * g.normal()), [...p.shape], { device }));
    }
  });
  return model;
}

export interface TorchTimings {
  torch: string;
  threads: number;
  prefill128_ms: number;
  decode_ms_per_token: number;
  kts_step_ms: number;
  kts_step_tokens: number;
}

/** Runs the PyTorch reference (Debian's python3-torch); null with a reason when unavailable. */
export function torchTimings(threads = 1): TorchTimings | string {
  const python = process.env.KTS_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'); // KTS_PYTHON: another torch
  try {
    const out = execFileSync(python, ['reference/bench_llama.py', '--threads', String(threads)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return JSON.parse(out.trim().split('\n').at(-1)!) as TorchTimings;
  } catch (e) {
    return `PyTorch reference unavailable (${(e as Error).message.split('\n')[0]})`;
  }
}

/** The same timings for the SmolLM2-135M-shaped model on a CUDA GPU (f32, TF32 off), or why unavailable. */
export function torchCudaSmollm2(): (TorchTimings & { device: string }) | string {
  const python = process.env.KTS_PYTHON ?? 'python3';
  try {
    const out = execFileSync(python, ['reference/bench_llama.py', '--model', 'smollm2-135m', '--device', 'cuda'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return JSON.parse(out.trim().split('\n').at(-1)!) as TorchTimings & { device: string };
  } catch (e) {
    return `PyTorch CUDA reference unavailable (${(e as Error).message.split('\n')[0]})`;
  }
}

/** 'cpu', plus 'webgpu' when an adapter exists (unless --device=cpu); notes why WebGPU is absent. */
export async function benchDevices(ctx: SuiteContext, suite: BenchSuite): Promise<string[]> {
  if (ctx.flags.device === 'cpu') return ['cpu'];
  try {
    await selectDevice('webgpu'); // the bench compares both, even where 'auto' would take the CPU
    return ['cpu', 'webgpu'];
  } catch (e) {
    suite.note(`WebGPU unavailable: ${(e as Error).message.split('\n')[0]}`);
    return ['cpu'];
  }
}
