import { Generator, noGrad, tensor, getBackend, cpuThreads } from '@kts/tensor';
import { SteeringVector, trainKTS, type SteerableModel } from '@kts/steer';
import { stories15m } from './stories15m.ts';
const be: any = getBackend('cpu');
const times = new Map<string, [number, number]>();
for (const k of ['copy','unary','binary','where','reduce','matmul','gather','scatterAdd','assign','full','fromArray','readSync']) {
  const f = be[k];
  be[k] = (...args: any[]) => {
    const t0 = performance.now(); const r = f(...args); const dt = performance.now() - t0;
    let key = k; if (k==='unary'||k==='binary'||k==='reduce') key += ':' + args[0];
    if (k==='matmul') key += ':' + args[0].shape.join('x') + '@' + args[1].shape.join('x');
    const e = times.get(key) ?? [0,0]; e[0]+=dt; e[1]++; times.set(key, e); return r;
  };
}
const which = process.argv[2] ?? 'kts';
if (which === 'kts') {
  const g = new Generator(3);
  const benign = Array.from({ length: 8 }, () => Array.from({ length: 64 }, () => g.int(32000)));
  const vector = new SteeringVector(new Map([1, 2].map((l) => [l, Float32Array.from({ length: 288 }, () => 0.5 * g.normal())])));
  const model = stories15m('cpu') as unknown as SteerableModel;
  const { history } = await trainKTS(model, benign, [vector], { steps: 2, layers: [1, 2], batchSize: 8, prob: 1, device: 'cpu', rank: 8, maxTokens: 64 });
  console.log(history.map(h=>h.seconds));
} else {
  const model = stories15m('cpu');
  const g = new Generator(2);
  const ids = tensor(Int32Array.from({ length: 128 }, () => g.int(32000)), [1, 128]);
  for (let i = 0; i < 3; i++) { const t0 = performance.now(); const { logits } = noGrad(() => model.forward(ids, { logits: 'last' })); await logits.data(); console.log('prefill', performance.now() - t0); }
}
const rows = [...times.entries()].sort((a, b) => b[1][0] - a[1][0]);
let total = 0; for (const [, [t]] of rows) total += t;
console.log('total backend ms', total.toFixed(0));
for (const [k, [t, n]] of rows.slice(0, 40)) console.log(t.toFixed(1).padStart(9), String(n).padStart(6), k);
