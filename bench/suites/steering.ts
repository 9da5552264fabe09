/**
 * Fused residual-stream steering (kernels/steering.wgsl via the webgpu fusedOps) vs the
 * same op composed from separate WebGPU kernels (the composite of packages/tensor/src/attention.ts
 * addSteering: mul, sum, cast, mul, add — one dispatch each), Tensor level, forward and
 * forward+backward (gradients for vectors and coeffs). Target: fused ≥ 1.5× faster.
 * GB/s = bytes of h read + out written (fwd). Timing: `reps` calls per sample, one submit,
 * awaited with onSubmittedWorkDone (no readback).
 *
 * Peers on the same shapes (bench/peers.ts): kts-cpu (addSteering on the CPU backend, fwd and
 * fwd+bwd), tfjs cpu/wasm (sum of broadcast products, add), gpu.js webgpu/cpu (one kernel: one
 * output element per thread, a K loop), PyTorch eager (fwd and fwd+bwd).
 * Flags: the peer flags of bench/peers.ts (--peers=, --no-peers, --peer-cap-ms=, --torch-threads=)
 */
import { addSteering, addSteeringComposite, tensor, type Tensor } from '@kts/tensor';
import { adapterInfo, currentDevice, flush, initWebGPU, shutdownWebGPU } from '@kts/webgpu';
import { BenchSuite, fillRandom, timeFn, type SuiteContext } from '../lib.ts';
import { Peers, tf, type KernelFn, type KernelThis, type TorchJob } from '../peers.ts';

// gpu.js: out[b][t][d] = h[b][t][d] + mask[b][t] · Σ_k coeffs[b][k] · vectors[k][d]
const gpuSteer: KernelFn = function (this: KernelThis, h: number[][][], mask: number[][], coeffs: number[][], vectors: number[][]) {
  const b = this.thread.z;
  let delta = 0;
  for (let k = 0; k < this.constants.K!; k++) delta += coeffs[b]![k]! * vectors[k]![this.thread.x]!;
  return h[b]![this.thread.y]![this.thread.x]! + mask[b]![this.thread.y]! * delta;
};

export default async function run(ctx: SuiteContext): Promise<void> {
  await initWebGPU();
  const info = adapterInfo();
  const device = currentDevice();
  const suite = new BenchSuite('steering', { baseline: 'webgpu separate kernels' });
  const peers = await Peers.create(suite, ctx, { webgpu: info, peers: ['kts-cpu', 'tfjs-cpu', 'tfjs-wasm', 'gpu.js-webgpu', 'gpu.js-cpu', 'pytorch-cpu'] });
  const shapes: [number, number, number, number][] = [[1, 512, 4096, 1], [1, 512, 4096, 4], [8, 128, 2048, 2], [8, 1, 4096, 1]];
  const torchJobs: TorchJob[] = [];
  for (const [B, T, D, K] of shapes) {
    const hA = fillRandom(new Float32Array(B * T * D), 1);
    const vA = fillRandom(new Float32Array(K * D), 2);
    const cA = fillRandom(new Float32Array(B * K), 3);
    const mA = Int32Array.from({ length: B * T }, (_, i) => (i % 4 === 0 ? 0 : 1));
    const gA = fillRandom(new Float32Array(B * T * D), 4);
    const h = tensor(hA, [B, T, D], { device: 'webgpu' });
    const vectors = tensor(vA, [K, D], { device: 'webgpu', requiresGrad: true });
    const coeffs = tensor(cA, [B, K], { device: 'webgpu', requiresGrad: true });
    const mask = tensor(mA, [B, T], { dtype: 'int32', device: 'webgpu' });
    const g = tensor(gA, [B, T, D], { device: 'webgpu' });
    const bytes = 2 * B * T * D * 4;
    const reps = Math.max(1, Math.min(40, Math.round((4e6 / (B * T * D)) * 8)));
    const label = `[${B},${T},${D}] K=${K}`;
    for (const [impl, fn] of [['webgpu fused', addSteering], ['webgpu separate kernels', addSteeringComposite]] as const) {
      for (const bwd of [false, true]) {
        const once = (): void => {
          const out = fn(h, vectors, coeffs, mask);
          if (bwd) {
            out.backward(g);
            vectors.grad = null;
            coeffs.grad = null;
          }
        };
        const t = await timeFn(async () => {
          for (let r = 0; r < reps; r++) once();
          flush();
          await device.queue.onSubmittedWorkDone();
        }, { method: 'median', minSamples: 5, maxSamples: 9, targetMs: 800, warmup: 2 });
        suite.record(bwd ? `${label} fwd+bwd` : label, impl, { medianMs: t.medianMs / reps, minMs: t.minMs / reps, samples: t.samples, method: 'median' }, {
          bytes: bwd ? undefined : bytes, meta: { reps },
        });
      }
    }

    // Peers (CPU tensors: the same values).
    const hc = tensor(hA, [B, T, D], { device: 'cpu' });
    const vc = tensor(vA, [K, D], { device: 'cpu', requiresGrad: true });
    const cc = tensor(cA, [B, K], { device: 'cpu', requiresGrad: true });
    const mc = tensor(mA, [B, T], { dtype: 'int32', device: 'cpu' });
    const gc = tensor(gA, [B, T, D], { device: 'cpu' });
    await peers.op({
      shape: label, work: B * T * D, bytes,
      kts: () => addSteering(hc, vc, cc, mc),
      ktsBwd: {
        shape: `${label} fwd+bwd`, work: 3 * B * T * D,
        run: () => {
          addSteering(hc, vc, cc, mc).backward(gc);
          vc.grad = null;
          cc.grad = null;
        },
      },
      tfjs: () => {
        const th = tf.tensor3d(hA, [B, T, D]);
        const tv = tf.tensor2d(vA, [K, D]);
        const tc = tf.tensor2d(cA, [B, K]);
        const tm = tf.tensor2d(mA, [B, T], 'int32');
        const run = (): tf.Tensor => {
          const delta = tf.sum(tf.mul(tf.expandDims(tc, -1), tv), 1); // [B, D]
          return tf.add(th, tf.mul(tf.expandDims(tf.cast(tm, 'float32'), -1), tf.expandDims(delta, 1)));
        };
        return { run, inputs: [th, tv, tc, tm] };
      },
      gpujs: async (mode, gpu) => {
        const k = gpu.createKernel(gpuSteer, { output: [D, T, B], constants: { K }, pipeline: mode === 'webgpu' });
        const H = await peers.resident(mode, hA, [D, T, B]);
        const M = await peers.resident(mode, Float32Array.from(mA), [T, B]);
        const C = await peers.resident(mode, cA, [K, B]);
        const V = await peers.resident(mode, vA, [D, K]);
        return { run: () => k(H, M, C, V), release: [k, H, M, C, V] };
      },
    });
    torchJobs.push({ id: label, op: 'steering', B, T, D, K }, { id: `${label} fwd+bwd`, op: 'steering', B, T, D, K, bwd: true });
  }
  peers.torch(torchJobs, (j) => (j.bwd ? {} : { bytes: 2 * (j.B as number) * (j.T as number) * (j.D as number) * 4 }));
  await peers.close();
  suite.note(`device: ${info.device || info.vendor} (${info.description}); backend ${info.backend}`);
  suite.note('Tensor-level calls (allocation included); per call = sample time / reps, reps calls per submit; fwd+bwd = forward + backward(g) with vectors and coeffs requiring grad');
  suite.note('separate kernels: the composite (coeffs·vectors, sum over K, mask cast, mul, add) on the same backend, one dispatch per primitive (~37 µs each on llvmpipe)');
  suite.note('peers: kts-cpu = addSteering on the CPU backend (its composite), same tensors requiring grad; tfjs/gpu.js forward only; PyTorch fwd under no_grad and fwd+bwd with autograd');
  suite.finish();
  shutdownWebGPU();
}
