/**
 * Square f32 matmul on the CPU, measured in the same process: kts on its WebAssembly SIMD kernels
 * (kernels/gemm.wat through the Tensor API; one thread and every core) and on its TypeScript loops
 * (`matmulStrided`, one thread), next to @tensorflow/tfjs 'cpu' (plain JS) and
 * @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD, one thread under Node), onnxruntime-node (CPU EP,
 * every core; `npm run bench:peers`) and PyTorch eager (reference/bench_ops.py) on one thread and
 * every core. Every row is checked against kts-js's result. The notes give each impl's fraction
 * of the machine's float32 peak at the largest size.
 * Flags: --sizes=256,512,1024 --peak-gflops=438 (2 cores × 2 AVX-512 FMA units × 16 lanes × 2 × ~3.4 GHz)
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { cpuKernels, noGrad, setCpuKernels, setCpuThreads, stopCpuThreads, tensor } from '@kts/tensor';
import { matmulStrided } from '../../packages/tensor/src/cpu/matmul.ts';
import { BenchSuite, fillRandom, matmulFlops, numberListFlag, type BenchRow, type SuiteContext } from '../lib.ts';
import { maxAbsDiff, Peers, torchOps } from '../peers.ts';

export default async function run(ctx: SuiteContext): Promise<void> {
  const sizes = numberListFlag(ctx, 'sizes', [256, 512, 1024]);
  const peak = Number(ctx.flags['peak-gflops'] ?? 438);
  const cores = Math.min(8, availableParallelism());
  const suite = new BenchSuite('matmul-cpu', { baseline: 'tfjs-wasm' });
  const rows: BenchRow[] = [];
  const keep = (r: BenchRow | null): void => {
    if (r) rows.push(r);
  };

  const inputs = sizes.map((n) => ({
    n,
    a: fillRandom(new Float32Array(n * n), 2 * n + 1),
    b: fillRandom(new Float32Array(n * n), 2 * n + 2),
  }));
  const ref = new Map<number, Float32Array>();
  const verify = (n: number, out: ArrayLike<number>, who: string): number => {
    const { maxDiff, maxAbs } = maxAbsDiff(ref.get(n)!, out);
    if (!(maxDiff <= 1e-4 * maxAbs)) throw new Error(`${who} and kts-js disagree at n=${n}: ${maxDiff}`);
    return maxDiff;
  };

  // kts on the TypeScript loops (the reference result), one thread
  for (const { n, a, b } of inputs) {
    const c = new Float32Array(n * n);
    keep(await suite.measure(`${n}x${n}x${n}`, 'kts-js', () => matmulStrided(a, 0, n, 1, b, 0, n, 1, c, 0, n, n, n), {
      flops: matmulFlops(n, n, n), meta: { dtype: 'float32', threads: 1 },
    }));
    ref.set(n, c);
  }

  // kts on the WebAssembly kernels, through the Tensor API (operands already on the kernels' heap)
  const kernels = cpuKernels();
  if (kernels.kernels === 'wasm') {
    for (const t of [...new Set([1, cores])]) {
      setCpuThreads(t);
      for (const { n, a, b } of inputs) {
        const ta = tensor(a, [n, n]);
        const tb = tensor(b, [n, n]);
        const diff = verify(n, noGrad(() => ta.matmul(tb)).toArray(), `kts-wasm-${t}t`);
        // the product is disposed, as the tfjs rows dispose theirs: its heap block is reused at once
        keep(await suite.measure(`${n}x${n}x${n}`, `kts-wasm-${t}t`, () => noGrad(() => ta.matmul(tb)).dispose(), {
          flops: matmulFlops(n, n, n), meta: { dtype: 'float32', threads: t, maxAbsDiffVsKtsJs: diff, relaxedSimd: kernels.relaxedSimd },
        }));
      }
    }
    setCpuThreads(cores);
    stopCpuThreads();
    suite.note(`kts-wasm-Nt: kernels/gemm.wat (packed 4x8 micro-kernel, ${kernels.reason}) on N threads (setCpuThreads), through a.matmul(b); kts-js: the TypeScript matmulStrided (packed 4x3, double accumulation), one thread`);
  } else {
    suite.note(`kts-wasm: not run (${kernels.reason})`);
  }
  setCpuKernels('wasm');

  // tfjs: cpu (plain JS) and wasm (XNNPACK). In Node the wasm backend loads its .wasm files from
  // the package's dist folder with fs; point it there (a plain directory path, trailing slash).
  const require = createRequire(import.meta.url);
  setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep);
  for (const backend of ['cpu', 'wasm'] as const) {
    const ok = await tf.setBackend(backend);
    await tf.ready();
    if (!ok || tf.getBackend() !== backend) {
      suite.note(`tfjs backend '${backend}' could not be initialised; skipped`);
      continue;
    }
    const meta: Record<string, unknown> = { dtype: 'float32', backend, threads: 1 };
    if (backend === 'wasm') {
      const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
      const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
      Object.assign(meta, { simd, threads });
      suite.note(`tfjs-wasm: SIMD ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off (tfjs-backend-wasm disables them under Node): single-threaded'}`);
    }
    for (const { n, a, b } of inputs) {
      const ta = tf.tensor2d(a, [n, n]);
      const tb = tf.tensor2d(b, [n, n]);
      const check = tf.matMul(ta, tb);
      const diff = verify(n, check.dataSync(), `tfjs-${backend}`);
      check.dispose();
      keep(await suite.measure(`${n}x${n}x${n}`, `tfjs-${backend}`, () => {
        const c = tf.matMul(ta, tb);
        c.dataSync();
        c.dispose();
      }, { flops: matmulFlops(n, n, n), meta: { ...meta, maxAbsDiffVsKtsJs: diff } }));
      ta.dispose();
      tb.dispose();
    }
  }

  // onnxruntime-node (every core) and PyTorch (one thread and every core)
  const peers = await Peers.create(suite, ctx, { peers: ['onnxruntime-cpu'] });
  if (peers.on('onnxruntime-cpu')) {
    for (const { n, a, b } of inputs) {
      const session = await peers.ortMatmul(n, n, n, false);
      if (!session) continue;
      const T = peers.ort!.Tensor;
      const feeds = { A: new T('float32', a, [n, n]), B: new T('float32', b, [n, n]) };
      const call = async (): Promise<Float32Array> => (await session.run(feeds)).Y!.data;
      const diff = verify(n, await call(), 'onnxruntime-cpu');
      keep(await peers.measure(`${n}x${n}x${n}`, 'onnxruntime-cpu', call, { work: n ** 3, flops: matmulFlops(n, n, n), meta: { threads: peers.ortThreads, maxAbsDiffVsKtsJs: diff } }));
      await session.release();
    }
  }
  await peers.close();
  for (const t of [...new Set([1, cores])]) {
    const res = torchOps(inputs.map(({ n }) => ({ id: `${n}x${n}x${n}`, op: 'matmul', M: n, N: n, K: n, transB: false, targetMs: 1000 })), t);
    if (typeof res === 'string') {
      suite.note(res);
      break;
    }
    for (const r of res.results) {
      if (r.medianMs === undefined) continue;
      const n = Number(r.id.split('x')[0]);
      keep(suite.record(r.id, `pytorch-${t}t`, { medianMs: r.medianMs, minMs: r.minMs, samples: r.samples, method: 'median' }, { flops: matmulFlops(n, n, n), meta: { torch: res.torch, threads: res.threads } }));
    }
    if (t === 1) suite.note(`pytorch-Nt: torch ${res.torch} eager float32 (reference/bench_ops.py), N threads`);
  }

  const largest = `${sizes.at(-1)}x${sizes.at(-1)}x${sizes.at(-1)}`;
  const share = rows.filter((r) => r.shape === largest && r.gflops).map((r) => `${r.impl} ${((100 * r.gflops!) / peak).toFixed(1)}%`);
  suite.note(`fraction of the machine's float32 peak (${peak} GFLOP/s, --peak-gflops=) at ${largest}: ${share.join(', ')}. WebAssembly SIMD is 128-bit: with 2 cores at most a quarter of the AVX-512 peak`);
  suite.finish();
}
