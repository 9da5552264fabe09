import { Generator, noGrad, tensor, getBackend, setCpuThreads } from '@kts/tensor';
import { SteeringVector, trainKTS, type SteerableModel } from '@kts/steer';
import { stories15m } from './stories15m.ts';
setCpuThreads(Number(process.env.T ?? 1));
const be: any = getBackend('cpu');
const times = new Map<string, [number, number]>();
const wrapFn = (obj: any, k: string, label: (args: any[]) => string) => {
  const f = obj[k];
  obj[k] = (...args: any[]) => {
    const t0 = performance.now(); const r = f(...args); const dt = performance.now() - t0;
    const key = label(args);
    const e = times.get(key) ?? [0, 0]; e[0] += dt; e[1]++; times.set(key, e); return r;
  };
};
for (const k of ['copy','unary','binary','where','reduce','matmul','gather','scatterAdd','assign','full','fromArray','readSync']) {
  wrapFn(be, k, (args) => {
    let key = k; if (k==='unary'||k==='binary'||k==='reduce') key += ':' + args[0];
    if (k==='matmul') key += ':' + args[0].shape.join('x') + '@' + args[1].shape.join('x');
    if (k==='binary' || k === 'copy') key += ':' + (args[k==='copy'?0:1].shape.join('x'));
    return key;
  });
}
const fused = be.fused;
for (const k of Object.keys(fused)) wrapFn(fused, k, () => 'fused:' + k);
Object.defineProperty(be, 'fused', { get: () => fused });
const which = process.argv[2] ?? 'kts';
if (which === 'kts') {
  const g = new Generator(3);
  const benign = Array.from({ length: 8 }, () => Array.from({ length: 64 }, () => g.int(32000)));
  const vector = new SteeringVector(new Map([1, 2].map((l) => [l, Float32Array.from({ length: 288 }, () => 0.5 * g.normal())])));
  const model = stories15m('cpu') as unknown as SteerableModel;
  const { history } = await trainKTS(model, benign, [vector], { steps: 3, layers: [1, 2], batchSize: 8, prob: 1, device: 'cpu', rank: 8, maxTokens: 64 });
  console.log(history.map(h=>h.seconds));
} else {
  const model = stories15m('cpu');
  const g = new Generator(2);
  const ids = tensor(Int32Array.from({ length: 128 }, () => g.int(32000)), [1, 128]);
  for (let i = 0; i < 5; i++) { const t0 = performance.now(); const { logits } = noGrad(() => model.forward(ids, { logits: 'last' })); await logits.data(); console.log('prefill', performance.now() - t0); }
}
const rows = [...times.entries()].sort((a, b) => b[1][0] - a[1][0]);
let total = 0; for (const [k, [t]] of rows) if (!k.startsWith('fused')) total += t;
console.log('total backend ms (excl fused)', total.toFixed(0));
for (const [k, [t, n]] of rows.slice(0, 45)) console.log(t.toFixed(1).padStart(9), String(n).padStart(6), k);
