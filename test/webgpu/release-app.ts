// Child program of release.test.ts: probe WebGPU, release it, then keep working (and collecting
// garbage) the way `selectDevice('auto')` does when it chooses the CPU backend over llvmpipe.
import { initWebGPU, shutdownWebGPU } from '@kts/webgpu';
import { tensor } from '@kts/tensor';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('release-app: run with --expose-gc');
await initWebGPU();
shutdownWebGPU();
let sum = 0;
for (let i = 0; i < 20; i++) {
  gc();
  sum += (await tensor(Float32Array.from({ length: 4096 }, (_, j) => (j % 7) - 3), [64, 64]).matmul(tensor(new Float32Array(4096).fill(0.5), [64, 64])).sum().data())[0]!;
  await new Promise((r) => setTimeout(r, 50));
}
console.log(`release-app: ok ${sum}`);
