// WebGPU training loops: the PyTorch MLP golden (reference/goldens/mlp.json: Linear → tanh →
// Linear, MSE, AdamW, 50 steps) on the webgpu device, and pooled GPU memory staying flat over
// 1000 forward + backward + AdamW steps. Autograd temporaries are never disposed explicitly:
// their buffers return to the pool through the backend's FinalizationRegistry.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Generator, type Tensor, noGrad, nn, optim, randn, tensor } from '@kts/tensor';
import { collectGarbage, gcPolicy, initWebGPU, poolStats, shutdownWebGPU, webgpuDebug } from '@kts/webgpu';

interface Arr { shape: number[]; data: number[] }
interface MlpGolden {
  steps: number;
  optimizer: { lr: number; betas: [number, number]; eps: number; weightDecay: number };
  inputs: Arr;
  targets: Arr;
  init: Record<string, Arr>;
  losses: number[];
  final: Record<string, Arr>;
  check: { lossAtol: number; lossSteps: number; weightAtol: number; finalLossMax: number };
}

class MLP extends nn.Module {
  fc1: nn.Linear;
  fc2: nn.Linear;
  constructor(i: number, h: number, o: number) {
    super();
    this.fc1 = new nn.Linear(i, h, { device: 'webgpu', generator: new Generator(5) });
    this.fc2 = new nn.Linear(h, o, { device: 'webgpu', generator: new Generator(6) });
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.fc1.forward(x).tanh());
  }
}
const mse = (pred: Tensor, y: Tensor): Tensor => pred.sub(y).square().mean();

/** Lets finalizers run: a GC when one can be requested, then a few event-loop turns. */
async function settle(): Promise<void> {
  collectGarbage();
  for (let i = 0; i < 5; i++) await new Promise(setImmediate);
}

describe('webgpu training memory', () => {
  before(async () => {
    await initWebGPU();
  });
  after(() => shutdownWebGPU());

  test('MLP + AdamW on webgpu matches the torch golden', async () => {
    const golden = JSON.parse(readFileSync(new URL('../../reference/goldens/mlp.json', import.meta.url), 'utf8')) as MlpGolden;
    const build = (a: Arr): Tensor => tensor(Float32Array.from(a.data), a.shape);
    const model = new MLP(8, 32, 4);
    const init: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(golden.init)) init[k] = build(v);
    model.loadStateDict(init);
    const x = build(golden.inputs).to('webgpu');
    const y = build(golden.targets).to('webgpu');
    const opt = new optim.AdamW(model.parameters(), golden.optimizer);
    const losses: number[] = [];
    for (let step = 0; step < golden.steps; step++) {
      opt.zeroGrad();
      const loss = mse(model.forward(x), y);
      losses.push(await loss.itemAsync());
      loss.backward();
      opt.step();
    }
    const finalLoss = await noGrad(() => mse(model.forward(x), y)).itemAsync();
    const { lossAtol, lossSteps, weightAtol, finalLossMax } = golden.check;
    for (let i = 0; i < lossSteps; i++) {
      assert.ok(Math.abs(losses[i]! - golden.losses[i]!) <= lossAtol, `loss at step ${i}: ${losses[i]} vs torch ${golden.losses[i]}`);
    }
    assert.ok(finalLoss < finalLossMax, `final loss ${finalLoss} ≥ ${finalLossMax}`);
    const sd = model.stateDict();
    for (const [name, want] of Object.entries(golden.final)) {
      const got = await sd[name]!.data();
      let worst = 0;
      for (let i = 0; i < want.data.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want.data[i]!));
      assert.ok(worst <= weightAtol, `final ${name}: max |diff| ${worst}`);
    }
  });

  test('1000 forward+backward+AdamW steps keep pooled GPU memory flat', async () => {
    const model = new MLP(16, 64, 4);
    const x = randn([32, 16], { generator: new Generator(1) }).to('webgpu');
    const y = randn([32, 4], { generator: new Generator(2) }).to('webgpu');
    const opt = new optim.AdamW(model.parameters(), { lr: 1e-2 });
    const finalizedBefore = webgpuDebug.finalized;
    let at100 = 0;
    let first = 0;
    let last = 0;
    for (let step = 1; step <= 1000; step++) {
      opt.zeroGrad();
      const loss = mse(model.forward(x), y);
      loss.backward();
      opt.step();
      last = await loss.itemAsync();
      if (step === 1) first = last;
      if (step === 100) {
        await settle();
        at100 = poolStats().bytesInUse;
      }
    }
    await settle();
    const at1000 = poolStats().bytesInUse;
    assert.ok(last < first, `loss did not decrease: ${first} → ${last}`);
    assert.ok(webgpuDebug.finalized > finalizedBefore, 'no storage was released by the FinalizationRegistry');
    // Without a way to request a GC, V8 collects on its own schedule: allow its sawtooth.
    const slack = collectGarbage() ? 256 * 1024 : 128 * 1024 * 1024;
    assert.ok(at1000 <= at100 + slack, `pooled bytes in use grew from ${at100} (step 100) to ${at1000} (step 1000)`);
  });

  test('GC pressure policy bounds memory between collections', async () => {
    const saved = gcPolicy.thresholdBytes;
    gcPolicy.thresholdBytes = 4 * 1024 * 1024;
    try {
      const w = randn([256, 256], { generator: new Generator(3) }).to('webgpu').requiresGrad_();
      const collections = gcPolicy.collections;
      let peak = 0;
      for (let i = 0; i < 60; i++) {
        w.grad = null;
        w.matmul(w).tanh().sum().backward();
        await new Promise(setImmediate);
        peak = Math.max(peak, poolStats().bytesInUse);
      }
      if (collectGarbage()) {
        assert.ok(gcPolicy.collections > collections, 'no collection was requested');
        assert.ok(peak < 64 * 1024 * 1024, `peak ${peak} bytes in use`);
      }
    } finally {
      gcPolicy.thresholdBytes = saved;
    }
  });
});
