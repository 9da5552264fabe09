import { Generator, noGrad, tensor, setCpuThreads } from '@kts/tensor';
import { KVCache } from '@kts/llama';
import { stories15m } from './stories15m.ts';
setCpuThreads(Number(process.argv[2] ?? 1));
const model = stories15m('cpu');
const g = new Generator(2);
const ids = tensor(Int32Array.from({ length: 128 }, () => g.int(32000)), [1, 128]);
const cache = new KVCache();
let logits = noGrad(() => model.forward(ids, { cache, logits: 'last' }).logits);
const steps: number[] = [];
for (let s = 0; s < 200; s++) {
  const t0 = performance.now();
  const row = await logits.data(); let best = 0; for (let v = 1; v < row.length; v++) if (row[v]! > row[best]!) best = v;
  if (cache.length > 400) break;
  logits = noGrad(() => model.forward(tensor(Int32Array.of(best), [1, 1]), { cache, logits: 'last' }).logits);
  await logits.data(); steps.push(performance.now() - t0);
}
steps.sort((a, b) => a - b); console.log('decode min/med', steps[0]!.toFixed(2), steps[steps.length >> 1]!.toFixed(2));
