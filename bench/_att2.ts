import { randn, attention, setCpuThreads, cpuThreadStats } from '@kts/tensor';
setCpuThreads(1);
const q = randn([8, 6, 64, 48], { requiresGrad: true }), kk = randn([8, 6, 64, 48], { requiresGrad: true }), v = randn([8, 6, 64, 48], { requiresGrad: true });
const g = randn([8, 6, 64, 48]);
let tf = 1e9, tb = 1e9;
for (let r = 0; r < 15; r++) {
  const t0 = performance.now(); const o = attention(q, kk, v, { causal: true }); const t1 = performance.now();
  o.backward(g); const t2 = performance.now();
  if (r > 2) { tf = Math.min(tf, t1 - t0); tb = Math.min(tb, t2 - t1); }
}
console.log('fwd', tf.toFixed(2), 'bwd', tb.toFixed(2), cpuThreadStats());
