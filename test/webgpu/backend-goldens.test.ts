// The PyTorch op goldens (reference/goldens/ops.json) on the WebGPU backend: every case of
// test/tensor/golden-ops.test.ts with its inputs on 'webgpu' — forward output and the gradient of
// loss = sum(out * w) for every input. Tolerances: the case's rtol/atol, widened to at least
// rtol 1e-4 / atol 1e-5 (f32 kernels with f32 accumulation; the CPU backend accumulates sums in
// double). Output buffers are NaN-poisoned (webgpuDebug.poison).
import { after, before, describe, test } from 'node:test';
import { initWebGPU, shutdownWebGPU, webgpuDebug } from '@kts/webgpu';
import { golden, runGoldenCase } from '../helpers/golden-ops.ts';

describe('golden ops on webgpu', () => {
  before(async () => {
    await initWebGPU();
    webgpuDebug.poison = true;
  });
  after(() => shutdownWebGPU());
  for (const c of golden.cases) {
    test(`${c.op}: ${c.name}`, () => runGoldenCase(c, 'webgpu', { rtol: 1e-4, atol: 1e-5 }));
  }
});
