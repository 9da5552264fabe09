/**
 * Square f32 matmul on the CPU: kts `matmulStrided` (plain TypeScript, single thread) vs
 * @tensorflow/tfjs 'cpu' backend (plain JS) vs @tensorflow/tfjs-backend-wasm (XNNPACK), all
 * measured in the same process. Flags: --sizes=256,512,1024
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { matmulStrided } from '../../packages/tensor/src/cpu/matmul.ts';
import { BenchSuite, fillRandom, matmulFlops, numberListFlag, type SuiteContext } from '../lib.ts';

export default async function run(ctx: SuiteContext): Promise<void> {
  const sizes = numberListFlag(ctx, 'sizes', [256, 512, 1024]);
  const suite = new BenchSuite('matmul-cpu', { baseline: 'tfjs-cpu' });

  // In Node the wasm backend loads its .wasm files from the package's dist folder with fs; point
  // it there explicitly (a plain directory path with a trailing slash; no file:// URL needed).
  const require = createRequire(import.meta.url);
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
  setWasmPaths(wasmDir);

  const inputs = sizes.map((n) => ({
    n,
    a: fillRandom(new Float32Array(n * n), 2 * n + 1),
    b: fillRandom(new Float32Array(n * n), 2 * n + 2),
  }));
  const ktsOut = new Map<number, Float32Array>();

  // kts CPU kernel
  for (const { n, a, b } of inputs) {
    const c = new Float32Array(n * n);
    await suite.measure(`${n}x${n}x${n}`, 'kts-cpu', () => matmulStrided(a, 0, n, 1, b, 0, n, 1, c, 0, n, n, n), {
      flops: matmulFlops(n, n, n), meta: { dtype: 'float32', threads: 1 },
    });
    ktsOut.set(n, c);
  }

  for (const backend of ['cpu', 'wasm'] as const) {
    const ok = await tf.setBackend(backend);
    await tf.ready();
    if (!ok || tf.getBackend() !== backend) {
      suite.note(`tfjs backend '${backend}' could not be initialised; skipped`);
      continue;
    }
    const meta: Record<string, unknown> = { dtype: 'float32', backend };
    if (backend === 'wasm') {
      const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
      const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
      Object.assign(meta, { simd, threads });
      suite.note(`tfjs-wasm: SIMD ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off (tfjs-backend-wasm disables them under Node): single-threaded'}`);
    }
    for (const { n, a, b } of inputs) {
      const ta = tf.tensor2d(a, [n, n]);
      const tb = tf.tensor2d(b, [n, n]);
      // Check agreement with kts once (max abs difference, relative to the largest output).
      const check = tf.matMul(ta, tb);
      const ref = check.dataSync();
      check.dispose();
      const mine = ktsOut.get(n)!;
      let maxDiff = 0, maxAbs = 0;
      for (let i = 0; i < ref.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(ref[i] - mine[i]));
        maxAbs = Math.max(maxAbs, Math.abs(ref[i]));
      }
      if (maxDiff > 1e-4 * maxAbs) throw new Error(`kts and tfjs-${backend} disagree at n=${n}: ${maxDiff}`);
      await suite.measure(`${n}x${n}x${n}`, `tfjs-${backend}`, () => {
        const c = tf.matMul(ta, tb);
        c.dataSync();
        c.dispose();
      }, { flops: matmulFlops(n, n, n), meta: { ...meta, maxAbsDiffVsKts: maxDiff } });
      ta.dispose();
      tb.dispose();
    }
  }
  suite.note('kts-cpu: plain TypeScript, single thread, packed 4x3 register-tiled micro-kernel, double accumulation');
  suite.finish();
}
