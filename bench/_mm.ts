import { randn, noGrad, setCpuThreads } from '@kts/tensor';
import { setCpuKernels } from '../packages/tensor/src/cpu/wasm/runtime.ts';
const t = Number(process.argv[2] ?? 1); setCpuThreads(t);
for (const mode of ['wasm', 'js'] as const) {
  setCpuKernels(mode);
  for (const [M, K, N, bT] of [[128, 288, 288, true], [128, 288, 768, true], [128, 768, 288, true], [1024, 1024, 1024, false], [1, 288, 32000, true], [1, 288, 288, true]] as const) {
    const a = randn([M, K]); const b = bT ? randn([N, K]) : randn([K, N]);
    const bb = bT ? b.transpose(-1, -2) : b;
    const run = () => noGrad(() => a.matmul(bb));
    for (let i = 0; i < 3; i++) run();
    const reps = Math.max(3, Math.min(200, Math.round(2e8 / (M * N * K))));
    let best = 1e9;
    for (let r = 0; r < 5; r++) { const t0 = performance.now(); for (let i = 0; i < reps; i++) run(); best = Math.min(best, (performance.now() - t0) / reps); }
    console.log(mode, `${M}x${K}x${N}${bT ? 'T' : ''}`, best.toFixed(3), 'ms', (2 * M * N * K / best / 1e6).toFixed(1), 'GFLOP/s');
  }
}
