import { Generator, noGrad, tensor, setCpuThreads } from '@kts/tensor';
import { KVCache } from '@kts/llama';
import { stories15m } from './stories15m.ts';
const t = Number(process.argv[2] ?? 2); setCpuThreads(t);
const model = stories15m('cpu');
const g = new Generator(2);
const ids = tensor(Int32Array.from({ length: 128 }, () => g.int(32000)), [1, 128]);
const pre: number[] = [];
for (let i = 0; i < 8; i++) { const t0 = performance.now(); const { logits } = noGrad(() => model.forward(ids, { logits: 'last' })); await logits.data(); pre.push(performance.now() - t0); }
pre.sort((a, b) => a - b); console.log('prefill min/med', pre[0]!.toFixed(1), pre[4]!.toFixed(1));
const cache = new KVCache();
let logits = noGrad(() => model.forward(ids, { cache, logits: 'last' }).logits);
const steps: number[] = [];
for (let s = 0; s < 48; s++) {
  const t0 = performance.now();
  const row = await logits.data(); let best = 0; for (let v = 1; v < row.length; v++) if (row[v]! > row[best]!) best = v;
  logits = noGrad(() => model.forward(tensor(Int32Array.of(best), [1, 1]), { cache, logits: 'last' }).logits);
  await logits.data(); if (s >= 16) steps.push(performance.now() - t0);
}
steps.sort((a, b) => a - b); console.log('decode min/med', steps[0]!.toFixed(2), steps[16]!.toFixed(2));
