import { randn, noGrad, setCpuThreads, setCpuKernels } from '@kts/tensor';
setCpuThreads(Number(process.argv[2] ?? 1));
const a = randn([8, 64, 768]), b = randn([8, 64, 768]), c = randn([768]), s = randn([8, 64, 1]);
for (const k of ['wasm', 'js'] as const) {
  setCpuKernels(k);
  for (const [name, fn] of [['mul', () => a.mul(b)], ['mul row-bcast', () => a.mul(c)], ['mul col-bcast', () => a.mul(s)], ['mul scalar', () => a.mul(0.5)], ['sigmoid', () => a.sigmoid()], ['copy T', () => a.transpose(1, 2).contiguous()], ['sum rows', () => a.sum(-1)], ['sum0', () => a.reshape([512, 768]).sum(0)]] as const) {
    for (let i = 0; i < 5; i++) noGrad(fn);
    let best = 1e9;
    for (let r = 0; r < 20; r++) { const t0 = performance.now(); noGrad(fn); best = Math.min(best, performance.now() - t0); }
    console.log(k, name, (best * 1000).toFixed(0), 'us', (best * 1e6 / a.size).toFixed(2), 'ns/elem');
  }
}
