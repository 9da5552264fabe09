import { Generator, noGrad, tensor, setCpuThreads } from '@kts/tensor';
import { KVCache } from '@kts/llama';
import { stories15m } from './stories15m.ts';
import inspector from 'node:inspector/promises';
import fs from 'node:fs';
setCpuThreads(Number(process.argv[2] ?? 1));
const model = stories15m('cpu');
const g = new Generator(2);
const ids = tensor(Int32Array.from({ length: 128 }, () => g.int(32000)), [1, 128]);
const cache = new KVCache();
let logits = noGrad(() => model.forward(ids, { cache, logits: 'last' }).logits);
const step = async () => {
  const row = await logits.data(); let best = 0; for (let v = 1; v < row.length; v++) if (row[v]! > row[best]!) best = v;
  logits = noGrad(() => model.forward(tensor(Int32Array.of(best), [1, 1]), { cache, logits: 'last' }).logits);
  await logits.data();
};
for (let s = 0; s < 30; s++) await step();
const session = new inspector.Session(); session.connect();
await session.post('Profiler.enable'); await session.post('Profiler.start');
const ts: number[] = [];
for (let s = 0; s < 150; s++) { const t0 = performance.now(); await step(); ts.push(performance.now() - t0); }
const { profile } = await session.post('Profiler.stop');
fs.writeFileSync('/tmp/dec.cpuprofile', JSON.stringify(profile));
ts.sort((a, b) => a - b); console.log('decode min/med', ts[0]!.toFixed(2), ts[75]!.toFixed(2));
