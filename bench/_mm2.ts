import { randn, noGrad, setCpuThreads } from '@kts/tensor';
setCpuThreads(Number(process.argv[2] ?? 1));
for (const [M, K, N, bT] of [[512, 288, 32000, true], [512, 32000, 288, false], [512, 288, 768, true], [512, 768, 288, true], [1024, 1024, 1024, false]] as const) {
  const a = randn([M, K]); const b = bT ? randn([N, K]) : randn([K, N]);
  const bb = bT ? b.transpose(-1, -2) : b;
  const run = () => noGrad(() => a.matmul(bb));
  for (let i = 0; i < 2; i++) run();
  let best = 1e9;
  for (let r = 0; r < 5; r++) { const t0 = performance.now(); run(); best = Math.min(best, performance.now() - t0); }
  console.log(`${M}x${K}x${N}${bT ? 'T' : ''}`, best.toFixed(2), 'ms', (2 * M * N * K / best / 1e6).toFixed(1), 'GFLOP/s');
}
