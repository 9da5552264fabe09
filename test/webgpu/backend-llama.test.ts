// The tiny Llama checkpoint goldens (reference/goldens/llama/*, PyTorch, HF semantics) on the
// WebGPU backend, with each kernel family ('gpu' forced here too): loadModel(dir, { device:
// 'webgpu' }) logits within 1e-3 of the golden (single sequence and a left-padded batch with an
// attention mask), plus one training step's gradients (cross-entropy backward through every
// layer) against the CPU backend. Float16 weights (dtype 'float16'): where the adapter has
// shader-f16, logits within F16_TOL·max(1, max|golden|) of the float32 golden (weights rounded to
// 11-bit mantissas, errors compounding over the layers); without it, the clear refusal.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import nodePath from 'node:path';
import { type Tensor, crossEntropy, loadTensors, noGrad, tensor, toDeviceAsync } from '@kts/tensor';
import { loadModel } from '@kts/llama';
import { hasFeature, initWebGPU, setKernelFamily, shutdownWebGPU, webgpuDebug } from '@kts/webgpu';
import { maxAbsDiff } from '../helpers/compare.ts';
import { FAMILIES } from './helpers.ts';

const GOLDEN_DIR = new URL('../../reference/goldens/llama/', import.meta.url).pathname;
const CHECKPOINTS = ['mha_f32', 'gqa_tied_bf16', 'rope_llama3', 'odd_head_dim', 'rope_linear'];
const TOL = 1e-3;
const F16_TOL = 5e-3;

interface GoldenJson {
  single: number[];
  batch: number[][];
}


for (const family of FAMILIES) describe(`llama goldens on webgpu, ${family} kernels`, () => {
  before(async () => {
    await initWebGPU();
    setKernelFamily(family);
    webgpuDebug.poison = true;
  });
  after(() => {
    setKernelFamily(null);
    shutdownWebGPU();
  });

  for (const name of CHECKPOINTS) {
    test(name, async () => {
      const dir = nodePath.join(GOLDEN_DIR, name);
      const model = await loadModel(dir, { device: 'webgpu' });
      const g = loadTensors(nodePath.join(dir, 'golden.safetensors')).tensors;
      const j = JSON.parse(readFileSync(nodePath.join(dir, 'golden.json'), 'utf8')) as GoldenJson;

      const ids = tensor(Int32Array.from(j.single), [1, j.single.length], { dtype: 'int32', device: 'webgpu' });
      const out = noGrad(() => model.forward(ids));
      assert.equal(out.logits.device, 'webgpu');
      assert.deepEqual(out.logits.shape, g['single.logits']!.shape);
      const e = maxAbsDiff(await out.logits.data(), g['single.logits']!.toArray());
      assert.ok(e <= TOL, `${name}: logits max abs error ${e}`);

      // Left-padded batch with an attention mask: compare the real positions only.
      const bids = g['batch.ids']!.to('webgpu');
      const mask = g['batch.mask']!.to('webgpu');
      const bo = noGrad(() => model.forward(bids, { attentionMask: mask }));
      const [B, T] = bids.shape as [number, number];
      const V = bo.logits.shape[2]!;
      const got = await bo.logits.data();
      const want = g['batch.logits']!.toArray();
      j.batch.forEach((p, b) => {
        const t0 = T - p.length;
        const eb = maxAbsDiff(got.slice((b * T + t0) * V, (b + 1) * T * V), want.slice((b * T + t0) * V, (b + 1) * T * V));
        assert.ok(eb <= TOL, `${name}: batch row ${b} logits error ${eb}`);
      });
    });
  }

  test("float16 weights: logits near the float32 golden, or the refusal without shader-f16", async () => {
    for (const name of ['mha_f32', 'odd_head_dim']) {
      const dir = nodePath.join(GOLDEN_DIR, name);
      if (!hasFeature('shader-f16')) {
        await assert.rejects(loadModel(dir, { device: 'webgpu', dtype: 'float16' }), /needs the WebGPU feature 'shader-f16'/);
        continue;
      }
      const model = await loadModel(dir, { device: 'webgpu', dtype: 'float16' });
      assert.equal(new Map(model.namedParameters()).get('model.layers.0.self_attn.q_proj.weight')?.dtype, 'float16');
      const g = loadTensors(nodePath.join(dir, 'golden.safetensors')).tensors;
      const j = JSON.parse(readFileSync(nodePath.join(dir, 'golden.json'), 'utf8')) as GoldenJson;
      const ids = tensor(Int32Array.from(j.single), [1, j.single.length], { dtype: 'int32', device: 'webgpu' });
      const want = g['single.logits']!.toArray();
      const e = maxAbsDiff(await noGrad(() => model.forward(ids)).logits.data(), want);
      let scale = 1;
      for (const v of want) scale = Math.max(scale, Math.abs(v));
      assert.ok(e <= F16_TOL * scale, `${name} f16: logits max abs error ${e} (max |logit| ${scale})`);
    }
    await assert.rejects(loadModel(nodePath.join(GOLDEN_DIR, 'mha_f32'), { device: 'cpu', dtype: 'float16' }), /CPU backend computes in float32/);
  });

  test('training step gradients match the CPU backend (mha_f32)', async () => {
    const dir = nodePath.join(GOLDEN_DIR, 'mha_f32');
    const j = JSON.parse(readFileSync(nodePath.join(dir, 'golden.json'), 'utf8')) as GoldenJson;
    const run = async (device: string): Promise<Map<string, Float32Array>> => {
      const model = await loadModel(dir, { device, requiresGrad: true });
      const ids = tensor(Int32Array.from(j.single), [1, j.single.length], { dtype: 'int32', device });
      const logits = model.forward(ids.narrow(1, 0, j.single.length - 1)).logits;
      const V = logits.shape[2]!;
      const targets = ids.narrow(1, 1, j.single.length - 1).reshape([-1]).contiguous();
      crossEntropy(logits.reshape([-1, V]), targets).backward();
      const grads = new Map<string, Float32Array>();
      for (const [n, p] of model.namedParameters()) {
        if (p.grad) grads.set(n, (await (await toDeviceAsync(p.grad, 'cpu')).data()) as Float32Array);
      }
      return grads;
    };
    const cpu = await run('cpu');
    const gpu = await run('webgpu');
    assert.equal(gpu.size, cpu.size);
    for (const [n, want] of cpu) {
      const got = gpu.get(n)!;
      let scale = 0;
      for (const v of want) scale = Math.max(scale, Math.abs(v));
      const e = maxAbsDiff(got, want);
      assert.ok(e <= 1e-4 * Math.max(scale, 1e-3) + 1e-6, `grad ${n}: max abs error ${e} (max |grad| ${scale})`);
    }
  });
});

export type { Tensor };
