/** The kernels `npm run kernel` knows, by name (one file each in this folder; `<op>-cpu`: the CPU backend's). */
import type { KernelEntry } from './harness.ts';
import adamw, { cpu as adamwCpu } from './adamw.ts';
import { attention, attentionBackwardEntry, attentionCpu } from './attention.ts';
import crossEntropy, { cpu as crossEntropyCpu } from './cross-entropy.ts';
import elementwiseCpu from './elementwise.ts';
import kl, { cpu as klCpu } from './kl.ts';
import matmul, { cpu as matmulCpu } from './matmul.ts';
import reduceCpu from './reduce.ts';
import rmsnorm, { cpu as rmsnormCpu } from './rmsnorm.ts';
import rotaryCpu from './rotary.ts';
import softmax, { cpu as softmaxCpu } from './softmax.ts';
import steering from './steering.ts';

export const KERNELS: Record<string, KernelEntry<unknown>> = Object.fromEntries(
  [
    matmul, attention, attentionBackwardEntry, softmax, rmsnorm, kl, crossEntropy, steering, adamw,
    matmulCpu, attentionCpu, softmaxCpu, rmsnormCpu, klCpu, crossEntropyCpu, adamwCpu, rotaryCpu, elementwiseCpu, reduceCpu,
  ].map((k): [string, KernelEntry<unknown>] => [k.name, k as KernelEntry<unknown>]),
);
