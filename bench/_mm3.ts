import { randn, noGrad, setCpuThreads } from '@kts/tensor';
setCpuThreads(1);
for (const [M, K, N] of [[512, 288, 768], [512, 288, 32000]] as const) {
  const As = Array.from({ length: 8 }, () => randn([M, K]));
  const Bs = Array.from({ length: 8 }, () => randn([N, K]).transpose(0, 1));
  for (const rot of [false, true]) {
    let best = 1e9, tot = 0;
    for (let r = 0; r < 16; r++) {
      const a = As[rot ? r % 8 : 0]!, b = Bs[rot ? (r * 3) % 8 : 0]!;
      const t0 = performance.now(); noGrad(() => a.matmul(b)); const dt = performance.now() - t0;
      if (r >= 2) { best = Math.min(best, dt); tot += dt; }
      await new Promise((res) => setImmediate(res));
    }
    console.log(`${M}x${K}x${N} rotate=${rot}: best ${best.toFixed(2)} ms mean ${(tot / 14).toFixed(2)}`);
  }
}
