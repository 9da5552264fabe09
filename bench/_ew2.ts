import { randn, noGrad, setCpuThreads } from '@kts/tensor';
setCpuThreads(Number(process.argv[2] ?? 1));
const a = randn([8, 64, 768]), b = randn([8, 64, 768]);
for (const [name, fn] of [['mul', () => a.mul(b)], ['sigmoid', () => a.sigmoid()]] as const) {
  const ts: number[] = [];
  for (let r = 0; r < 400; r++) { const t0 = performance.now(); noGrad(fn); ts.push(performance.now() - t0); await new Promise((res) => setImmediate(res)); }
  ts.sort((x, y) => x - y);
  console.log(name, 'min', (ts[0]! * 1000).toFixed(0), 'us, median', (ts[200]! * 1000).toFixed(0), 'us');
}
