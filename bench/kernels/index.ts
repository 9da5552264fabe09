/** The kernels `npm run kernel` knows, by name (one file each in this folder). */
import type { KernelEntry } from './harness.ts';
import adamw from './adamw.ts';
import { attention, attentionBackwardEntry } from './attention.ts';
import crossEntropy from './cross-entropy.ts';
import kl from './kl.ts';
import matmul from './matmul.ts';
import rmsnorm from './rmsnorm.ts';
import softmax from './softmax.ts';
import steering from './steering.ts';

export const KERNELS: Record<string, KernelEntry<unknown>> = Object.fromEntries(
  [matmul, attention, attentionBackwardEntry, softmax, rmsnorm, kl, crossEntropy, steering, adamw].map((k): [string, KernelEntry<unknown>] => [k.name, k]),
);
