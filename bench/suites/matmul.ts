/**
 * WebGPU f32 matmul (kernels/matmul.wgsl) through Dawn. On machines without a GPU this is
 * Mesa llvmpipe (CPU) via Dawn's OpenGL ES backend.
 *
 * Timing: each sample records `reps` identical dispatches into one compute pass, submits once and
 * awaits queue.onSubmittedWorkDone(); the reported time is per dispatch (no readback, no upload).
 * Flags: --sizes=256,512,1024,2048  --tokens=1,512  --peak=220 (GFLOP/s used for "% of peak")
 *        --no-llama (square sizes only)
 */
import { adapterInfo, destroyDevice, getDevice } from '../../packages/webgpu/src/device.ts';
import { getPool, writeBuffer } from '../../packages/webgpu/src/pool.ts';
import { getBatch } from '../../packages/webgpu/src/kernel.ts';
import { matmul, planMatmul, type MatmulShape } from '../../kernels/matmul.ts';
import { BenchSuite, fillRandom, gflops, matmulFlops, numberListFlag, timeFn, type SuiteContext } from '../lib.ts';

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
  const suite = new BenchSuite('matmul', {});
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
        entryPoint: plan.entryPoint,
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
