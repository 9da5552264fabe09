// Runs inside Chromium for browser.test.ts: the op goldens forward and backward on WebGPU, the
// default model's logits, and a steered generation with a GGUF vector given as bytes — the same
// code the Node tests run, bundled for a browser (test/helpers/golden-ops.ts needs no Node) — and
// a pixel count for the playground's screenshot.
import { generate, loadModelFrom } from '@kts/llama';
import { SteeringVector, batchSteer } from '@kts/steer';
import { noGrad, tensor } from '@kts/tensor';
import { adapterInfo, initWebGPU, webgpuDebug } from '@kts/webgpu';
import { golden, runGoldenCase } from '../helpers/golden-ops.ts';
import type { Checks } from './checks.ts';

const MODEL = 'models/default/';

const checks: Checks = {
  async init() {
    return { description: await initWebGPU(), info: adapterInfo() };
  },

  async goldens() {
    webgpuDebug.poison = true;
    const failures: string[] = [];
    for (const c of golden.cases) {
      try {
        await runGoldenCase(c, 'webgpu', { rtol: 1e-4, atol: 1e-5 });
      } catch (e) {
        failures.push(`${c.op}: ${c.name}: ${(e as Error).message}`);
      }
    }
    webgpuDebug.poison = false;
    return { total: golden.cases.length, failures };
  },

  async logits(ids) {
    const model = await loadModelFrom(MODEL, { device: 'webgpu' });
    const { logits } = noGrad(() => model.forward(tensor(Int32Array.from(ids), [1, ids.length], { device: 'webgpu' })));
    return Array.from(await logits.data());
  },

  async steered(ids, gguf, coeff, maxNewTokens) {
    const model = await loadModelFrom(MODEL, { device: 'webgpu' });
    const v = SteeringVector.fromBytes(Uint8Array.from(gguf), 'vector.gguf');
    v.checkFits(model.config);
    const [out] = await generate(model, [ids], { maxNewTokens, steer: batchSteer(v, v.layers, [coeff], 'webgpu') });
    return out!;
  },

  async ink(base64) {
    const img = new Image();
    img.src = `data:image/png;base64,${base64}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    [canvas.width, canvas.height] = [img.width, img.height];
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(img, 0, 0);
    const px = new Uint32Array(ctx.getImageData(0, 0, img.width, img.height).data.buffer);
    const counts = new Map<number, number>();
    for (const p of px) counts.set(p, (counts.get(p) ?? 0) + 1);
    return 1 - Math.max(...counts.values()) / px.length;
  },
};

(globalThis as { checks?: Checks }).checks = checks;
document.title = 'checks ready';
