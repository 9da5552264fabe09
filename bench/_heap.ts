import { randn, noGrad } from '@kts/tensor';
import { wasmRuntime } from '../packages/tensor/src/cpu/wasm/runtime.ts';
const rt = wasmRuntime()!;
for (let step = 0; step < 40; step++) {
  for (let i = 0; i < 50; i++) { const a = randn([1000, 1000]); noGrad(() => a.mul(2).add(1)); }
  await new Promise((r) => setTimeout(r, 0));
  const s = rt.heap.stats;
  if (step % 5 === 0) console.log(step, 'inUse MB', (s.bytesInUse / 2 ** 20).toFixed(0), 'mem MB', (rt.heap.bytes / 2 ** 20).toFixed(0), 'gc', s.collections, 'reused', s.reused, 'over', s.overBudget);
}
