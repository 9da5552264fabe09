// End-to-end training golden: Linear(8,32) -> tanh -> Linear(32,4), MSE, AdamW, 50 full-batch
// steps, against PyTorch (reference/goldens/mlp.json, written by reference/mlp_golden.py).
//
// Checks (thresholds come from the JSON's "check" block; see reference/README.md):
//   - the first 20 pre-update losses match torch within 1e-4 absolute,
//   - the loss after the 50th update is below torch's final loss * 1.01,
//   - every final parameter matches torch within 1e-4 absolute.
// The generator measured the drift of a float64 run and of a 1-ulp-perturbed float32 run at
// < 1e-6, so these bounds leave a >100x margin for summation-order differences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Tensor, tensor, noGrad, nn, optim } from '@kts/tensor';

interface Arr { shape: number[]; data: number[] }
interface MlpGolden {
  torch: string;
  steps: number;
  optimizer: { lr: number; betas: [number, number]; eps: number; weightDecay: number };
  inputs: Arr;
  targets: Arr;
  init: Record<string, Arr>;
  losses: number[];
  final_loss: number;
  final: Record<string, Arr>;
  check: { lossAtol: number; lossSteps: number; weightAtol: number; finalLossMax: number };
}

const golden = JSON.parse(
  readFileSync(new URL('../../reference/goldens/mlp.json', import.meta.url), 'utf8'),
) as MlpGolden;

const build = (a: Arr): Tensor => tensor(Float32Array.from(a.data), a.shape);

class MLP extends nn.Module {
  fc1 = new nn.Linear(8, 32);
  fc2 = new nn.Linear(32, 4);
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.fc1.forward(x).tanh());
  }
}

const mse = (pred: Tensor, y: Tensor): Tensor => pred.sub(y).square().mean();

test(`MLP + AdamW training matches torch ${golden.torch}`, async () => {
  const model = new MLP();
  const init: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(golden.init)) init[k] = build(v);
  model.loadStateDict(init); // keys fc1.weight, fc1.bias, fc2.weight, fc2.bias

  const x = build(golden.inputs);
  const y = build(golden.targets);
  const { lr, betas, eps, weightDecay } = golden.optimizer;
  const opt = new optim.AdamW(model.parameters(), { lr, betas, eps, weightDecay });

  const losses: number[] = [];
  for (let step = 0; step < golden.steps; step++) {
    opt.zeroGrad();
    const loss = mse(model.forward(x), y);
    losses.push(loss.item());
    loss.backward();
    opt.step();
  }
  const finalLoss = noGrad(() => mse(model.forward(x), y)).item();

  const { lossAtol, lossSteps, weightAtol, finalLossMax } = golden.check;
  for (let i = 0; i < lossSteps; i++) {
    const diff = Math.abs(losses[i]! - golden.losses[i]!);
    assert.ok(diff <= lossAtol, `loss at step ${i}: got ${losses[i]}, torch ${golden.losses[i]} (|diff| ${diff.toExponential(2)})`);
  }
  assert.ok(finalLoss < finalLossMax,
    `final loss ${finalLoss} not below ${finalLossMax} (torch final loss ${golden.final_loss} * 1.01)`);

  const sd = model.stateDict();
  assert.deepEqual(Object.keys(sd).sort(), Object.keys(golden.final).sort(), 'parameter names');
  for (const [name, want] of Object.entries(golden.final)) {
    const got = await sd[name]!.data();
    assert.deepEqual(sd[name]!.shape, want.shape, `${name} shape`);
    let worst = 0;
    let at = -1;
    for (let i = 0; i < want.data.length; i++) {
      const d = Math.abs(got[i]! - want.data[i]!);
      if (d > worst) { worst = d; at = i; }
    }
    assert.ok(worst <= weightAtol, `final ${name}[${at}]: got ${got[at]}, torch ${want.data[at]} (|diff| ${worst.toExponential(2)})`);
  }
});
