/**
 * WebGPU f32 matmul (kernels/matmul.wgsl, and kernels/matmul-packed.wgsl for large shapes on
 * llvmpipe) through Dawn. On machines without a GPU this is
 * Mesa llvmpipe (CPU) via Dawn's OpenGL ES backend.
 *
 * Timing: each sample records `reps` identical dispatches into one compute pass, submits once and
 * awaits queue.onSubmittedWorkDone(); the reported time is per dispatch (no readback, no upload).
 *
 * Peers on the same shapes (bench/peers.ts): kts-cpu (Tensor matmul, worker threads), tfjs-cpu,
 * tfjs-wasm, gpu.js-webgpu, gpu.js-cpu, onnxruntime-cpu and pytorch-cpu; each checked against
 * kts-cpu's result once.
 * Flags: --sizes=256,512,1024,2048  --tokens=1,512  --peak=220 (GFLOP/s used for "% of peak")
 *        --no-llama (square sizes only), and the peer flags of bench/peers.ts (--peers=, --no-peers,
 *        --peer-cap-ms=, --torch-threads=)
 */
import { adapterInfo, destroyDevice, getDevice, getPool, writeBuffer, getBatch } from '@kts/webgpu';
import { matmul, planMatmul, usePackedMatmul, type MatmulShape } from '@kts/webgpu/kernels';
import { cpuThreads, tensor } from '@kts/tensor';
import { BenchSuite, fillRandom, gflops, matmulFlops, numberListFlag, timeFn, type SuiteContext } from '../lib.ts';
import { drop, Peers, tf, type GpuJsKernel, type KernelFn, type KernelThis, type TorchJob } from '../peers.ts';

interface Job {
  label: string;
  M: number;
  N: number;
  K: number;
  transB: boolean;
  /** The op is split into this many equal N-chunks (each a separate buffer and dispatch). */
  parts: number;
}

export default async function run(ctx: SuiteContext): Promise<void> {
  const device = await getDevice();
  const info = adapterInfo();
  const pool = await getPool();
  const batch = await getBatch();
  const suite = new BenchSuite('matmul', { baseline: 'kts-webgpu' });
  const peers = await Peers.create(suite, ctx, { webgpu: info });
  const peak = Number(ctx.flags.peak ?? 220);
  const llvm = info.isLlvmpipe;
  const sizes = numberListFlag(ctx, 'sizes', [256, 512, 1024, 2048]);
  const tokens = numberListFlag(ctx, 'tokens', [1, 512]);
  const maxBind = device.limits.maxStorageBufferBindingSize;

  const jobs: Job[] = sizes.map((n) => ({ label: `${n}x${n}x${n}`, M: n, N: n, K: n, transB: false, parts: 1 }));
  if (ctx.flags['no-llama'] !== true) {
    for (const T of tokens) {
      for (const [name, N, K] of [
        ['q/k/v/o', 4096, 4096],
        ['gate/up', 11008, 4096],
        ['down', 4096, 11008],
      ] as const) {
        // Split N so that each weight chunk fits maxStorageBufferBindingSize (128 MiB on llvmpipe:
        // an 11008x4096 f32 weight is 172 MiB).
        let parts = 1;
        while ((N / parts) * K * 4 > maxBind || N % parts !== 0) parts++;
        jobs.push({ label: `llama7b ${name} [${T},${K}]x[${N},${K}]T`, M: T, N, K, transB: true, parts });
      }
    }
  }

  for (const job of jobs) {
    const n = job.N / job.parts;
    const shape: MatmulShape = { M: job.M, N: n, K: job.K, transB: job.transB };
    const a = fillRandom(new Float32Array(job.M * job.K), 1);
    const b = fillRandom(new Float32Array(n * job.K), 2);
    const A = pool.acquire(a.byteLength);
    const Bs: GPUBuffer[] = [];
    const Cs: GPUBuffer[] = [];
    writeBuffer(A, a);
    for (let p = 0; p < job.parts; p++) {
      const B = pool.acquire(b.byteLength);
      writeBuffer(B, b);
      Bs.push(B);
      Cs.push(pool.acquire(job.M * n * 4));
    }
    const flops = matmulFlops(job.M, job.N, job.K);
    // Aim for ~150 ms of GPU work per sample, ≥ 1 dispatch.
    const estMs = flops / 1e9 / (llvm ? 30 : 2000) * 1000;
    const reps = Math.max(1, Math.min(50, Math.round(150 / Math.max(estMs, 0.05))));
    const once = async (): Promise<void> => {
      for (let r = 0; r < reps; r++) for (let p = 0; p < job.parts; p++) matmul(A, Bs[p]!, Cs[p]!, shape, batch);
      batch.flush();
      await device.queue.onSubmittedWorkDone();
    };
    const t = await timeFn(once, { method: 'median', minSamples: 5, maxSamples: 9, targetMs: 1200, warmup: 1 });
    const per = { medianMs: t.medianMs / reps, minMs: t.minMs / reps, samples: t.samples, method: t.method };
    const plan = planMatmul(shape);
    const g = gflops(flops, per.medianMs);
    suite.record(job.label, 'kts-webgpu', per, {
      flops,
      meta: {
        dispatchesPerSample: reps * job.parts,
        parts: job.parts,
        entryPoint: usePackedMatmul(shape, plan, device) ? 'pack_a + main_packed (matmul-packed.wgsl)' : plan.entryPoint,
        workgroups: plan.workgroups,
        pctOfPeak: Math.round((g / peak) * 1000) / 10,
        device: info.device || info.description,
      },
    });
    console.log(
      `  ${job.label}: ${per.medianMs.toFixed(2)} ms/op, ${g.toFixed(1)} GFLOP/s = ${((g / peak) * 100).toFixed(1)} % of ${peak}` +
        ` (${reps * job.parts} dispatches/sample${job.parts > 1 ? `, N split in ${job.parts}` : ''})`,
    );
    pool.release(A);
    for (const B of Bs) pool.release(B);
    for (const C of Cs) pool.release(C);
  }
  // Peers after all kts rows: multi-threaded peers (onnxruntime's spinning pool, PyTorch) and
  // gpu.js's second llvmpipe context otherwise linger into the next shape's kts measurement
  // (1024³ measured 25 GFLOP/s interleaved vs 41 alone).
  for (const job of jobs) await peerRows(peers, job, maxBind);
  peers.torch(jobs.map((j): TorchJob => ({ id: j.label, op: 'matmul', M: j.M, N: j.N, K: j.K, transB: j.transB })),
    (j) => ({ flops: matmulFlops(j.M as number, j.N as number, j.K as number) }));
  if (jobs.some((j) => j.transB) && (peers.on('tfjs-cpu') || peers.on('tfjs-wasm'))) {
    suite.note('tfjs rows of the llama7b shapes: the [N,K] weight is transposed once to [K,N] outside the timing (tfjs dense-layer layout) and multiplied with tf.matMul(a, w); tf.matMul(a, w, false, true) on [N,K] runs at ~3.6 GFLOP/s in tfjs-backend-wasm 4.22 vs ~46 in this layout');
  }
  await peers.close();

  suite.note(
    `device: ${info.device || info.vendor} (${info.description}); backend ${info.backend}; ` +
      `llvmpipe lanes ${info.simdLanes}; flags ${info.flags.join(' ')}`,
  );
  suite.note(`"% of peak" uses ${peak} GFLOP/s (llvmpipe AVX2 peak on this 2-core machine; override with --peak=)`);
  suite.note('times are per dispatch: several dispatches per submit, awaited with onSubmittedWorkDone, no readback');
  if (llvm) suite.note('llvmpipe: each dispatch also costs ~37 µs fixed overhead (dominates the tokens=1 rows)');
  suite.finish();
  destroyDevice();
}

// gpu.js kernels: C[y][x] = Σ_k A[y][k]·B[k][x] (B as [K,N]) or Σ_k A[y][k]·B[x][k] (B as [N,K]).
const gpuMatmul: KernelFn = function (this: KernelThis, a: number[][], b: number[][]) {
  let s = 0;
  for (let k = 0; k < this.constants.K!; k++) s += a[this.thread.y]![k]! * b[k]![this.thread.x]!;
  return s;
};
const gpuMatmulT: KernelFn = function (this: KernelThis, a: number[][], b: number[][]) {
  let s = 0;
  for (let k = 0; k < this.constants.K!; k++) s += a[this.thread.y]![k]! * b[this.thread.x]![k]!;
  return s;
};

/** The peers of one job: same A [M,K] and B ([K,N], or [N,K] for transB), checked against kts-cpu. */
async function peerRows(peers: Peers, job: Job, maxBind: number): Promise<void> {
  const { M, N, K, transB, label } = job;
  const a = fillRandom(new Float32Array(M * K), 11);
  const b = fillRandom(new Float32Array(N * K), 12);
  const flops = matmulFlops(M, N, K);
  const base = { flops, work: flops };
  let ref: Float32Array | null = null;

  if (peers.on('kts-cpu')) {
    const at = tensor(a, [M, K]);
    const bt = transB ? tensor(b, [N, K]).transpose(0, 1) : tensor(b, [K, N]);
    ref = at.matmul(bt).toArray() as Float32Array;
    await peers.measure(label, 'kts-cpu', () => at.matmul(bt), { ...base, meta: { threads: cpuThreads() } });
  }

  for (const backend of ['cpu', 'wasm'] as const) {
    if (!peers.on(`tfjs-${backend}`)) continue;
    const meta = await peers.tfjs(backend);
    if (!meta) continue;
    const ta = tf.tensor2d(a, [M, K]);
    // [N,K] weights are transposed once, outside the timing, to tfjs's own dense layout [K,N]:
    // tf.matMul(a, b, false, true) takes a far slower path in tfjs-backend-wasm (see README).
    const tb = transB ? tf.tidy(() => tf.transpose(tf.tensor2d(b, [N, K]))) : tf.tensor2d(b, [K, N]);
    const run = (): Float32Array => {
      const c = tf.matMul(ta, tb);
      const d = c.dataSync() as Float32Array;
      c.dispose();
      return d;
    };
    const row = await peers.measure(label, `tfjs-${backend}`, run, { ...base, meta: { ...meta, ...(transB ? { weightLayout: '[K,N] (transposed once, untimed)' } : {}) } });
    await peers.verify(row, ref, run);
    ta.dispose();
    tb.dispose();
  }

  for (const mode of ['webgpu', 'cpu'] as const) {
    if (!peers.on(`gpu.js-${mode}`)) continue;
    // Same N split as kts-webgpu where one B chunk would pass maxStorageBufferBindingSize.
    let parts = 1;
    while (mode === 'webgpu' && ((N / parts) * K * 4 > maxBind || N % parts !== 0)) parts++;
    const n = N / parts;
    const gpu = peers.gpu(mode);
    const A = await peers.resident(mode, a, [K, M]);
    const Bs: unknown[] = [];
    const kernels: GpuJsKernel[] = [];
    for (let p = 0; p < parts; p++) {
      Bs.push(await peers.resident(mode, b.subarray(p * n * K, (p + 1) * n * K), transB ? [K, n] : [n, K]));
      kernels.push(gpu.createKernel(transB ? gpuMatmulT : gpuMatmul, { output: [n, M], constants: { K }, pipeline: mode === 'webgpu' }));
    }
    const meta = { mode, ...(parts > 1 ? { parts } : {}) };
    const row = mode === 'webgpu'
      ? await peers.measure(label, 'gpu.js-webgpu', async () => {
        for (let p = 0; p < parts; p++) drop(await kernels[p]!(A, Bs[p]));
      }, { ...base, meta, sync: peers.gpuSync })
      : await peers.measure(label, 'gpu.js-cpu', () => {
        for (let p = 0; p < parts; p++) kernels[p]!(A, Bs[p]);
      }, { ...base, meta: { ...meta, threads: 1 } });
    if (parts === 1) await peers.verify(row, ref, async () => peers.read(await kernels[0]!(A, Bs[0])));
    peers.release(...kernels, A, ...Bs);
  }

  if (peers.on('onnxruntime-cpu')) {
    const session = await peers.ortMatmul(M, N, K, transB);
    if (session) {
      const Tensor = peers.ort!.Tensor;
      const feeds = { A: new Tensor('float32', a, [M, K]), B: new Tensor('float32', b, transB ? [N, K] : [K, N]) };
      const run = async (): Promise<Float32Array> => (await session.run(feeds)).Y!.data;
      const row = await peers.measure(label, 'onnxruntime-cpu', run, { ...base, meta: { threads: peers.ortThreads } });
      await peers.verify(row, ref, run);
      await session.release();
    }
  }
}
