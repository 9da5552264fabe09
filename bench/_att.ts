import { randn, attention, noGrad, setCpuThreads, setCpuKernels } from '@kts/tensor';
setCpuThreads(1);
for (const k of ['wasm', 'js'] as const) {
  setCpuKernels(k);
  const q = randn([8, 6, 64, 48], { requiresGrad: true }), kk = randn([8, 6, 64, 48], { requiresGrad: true }), v = randn([8, 6, 64, 48], { requiresGrad: true });
  const fwd = () => noGrad(() => attention(q, kk, v, { causal: true }));
  const both = () => { const o = attention(q, kk, v, { causal: true }); o.sum().backward(); };
  for (const [n, fn] of [['fwd', fwd], ['fwd+bwd', both]] as const) {
    for (let i = 0; i < 3; i++) fn();
    let best = 1e9; for (let r = 0; r < 10; r++) { const t0 = performance.now(); fn(); best = Math.min(best, performance.now() - t0); }
    console.log(k, n, best.toFixed(2), 'ms');
  }
}
