// The tiny Llama checkpoint goldens (reference/goldens/llama/*, PyTorch, HF semantics) on the
// WebGPU backend: loadModel(dir, { device: 'webgpu' }) logits within 1e-3 of the golden (single
// sequence and a left-padded batch with an attention mask), plus one training step's gradients
// (cross-entropy backward through every layer) against the CPU backend.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import nodePath from 'node:path';
import { type Tensor, crossEntropy, loadTensors, noGrad, tensor, toDeviceAsync } from '@kts/tensor';
import { loadModel } from '@kts/llama';
import { initWebGPU, shutdownWebGPU, webgpuDebug } from '@kts/webgpu';
import { maxAbsDiff } from '../helpers/compare.ts';

const GOLDEN_DIR = new URL('../../reference/goldens/llama/', import.meta.url).pathname;
const CHECKPOINTS = ['mha_f32', 'gqa_tied_bf16', 'rope_llama3', 'odd_head_dim', 'rope_linear'];
const TOL = 1e-3;

interface GoldenJson {
  single: number[];
  batch: number[][];
}


describe('llama goldens on webgpu', () => {
  before(async () => {
    await initWebGPU();
    webgpuDebug.poison = true;
  });
  after(() => shutdownWebGPU());

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
