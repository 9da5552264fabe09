// The KTS goldens (reference/goldens/kts/kts.json, from reference/kts_ref.py) on the WebGPU
// backend: steered logits, the KL loss, and one KTS step (LoRA gradients, clipping, the fused
// AdamW update). Tolerance 1e-3 (absolute, plus 1e-3 relative): f32 kernels with f32
// accumulation; the CPU run of the same goldens (golden-kts.test.ts) holds 1e-5.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad, optim, tensor, type Tensor } from '@kts/tensor';
import { loadModel } from '@kts/llama';
import { initWebGPU, shutdownWebGPU } from '@kts/webgpu';
import {
  SteeringVector, attachLoRA, collectActivations, ktsLoss, meanDifference, pcaDirection, loadLoRAStateDict, loraParameters, loraStateDict, padBatch, setLoRAEnabled,
  steerSpec,
} from '@kts/steer';

interface Arr { shape: number[]; data: number[] }
const DIR = new URL('../../reference/goldens/kts/', import.meta.url).pathname;
const G = JSON.parse(readFileSync(join(DIR, 'kts.json'), 'utf8'));
const DEVICE = 'webgpu';
const TOL = 1e-3;

function close(what: string, got: ArrayLike<number>, want: ArrayLike<number>, keep: (i: number) => boolean = () => true): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!keep(i)) continue;
    const err = Math.abs(got[i]! - want[i]!);
    assert.ok(err <= TOL + TOL * Math.abs(want[i]!), `${what}[${i}]: ${got[i]} vs golden ${want[i]} (|diff| ${err})`);
  }
}

const vectorOf = (vs: Record<string, number[]>) => new SteeringVector(new Map(Object.entries(vs).map(([l, d]) => [Number(l), Float32Array.from(d)])));
const model = async () => (await loadModel(join(DIR, G.model), { device: DEVICE }));

before(async () => {
  await initWebGPU();
});
after(() => shutdownWebGPU());

test('webgpu: extraction (activations at last / answer-mean with left padding, mean-diff, PCA) matches torch within 1e-3', async () => {
  const m = await model();
  const { pairs, layers, batch_size: batchSize } = G.extract;
  const texts = [
    ...pairs.map((p: { positive: number[]; answer_from: number }) => ({ ids: p.positive, answerFrom: p.answer_from })),
    ...pairs.map((p: { negative: number[]; answer_from: number }) => ({ ids: p.negative, answerFrom: p.answer_from })),
  ];
  const tok = { padId: 0, bosId: null, eosId: null, encode: () => [], decode: () => '' };
  for (const [position, gold] of [['last', G.extract.last], ['answer-mean', G.extract.answer_mean]] as const) {
    const acts = await collectActivations(m, tok, texts, layers, position, batchSize, DEVICE);
    for (const l of layers) {
      const rows = acts.get(l)!;
      close(`${position} activations layer ${l}`, rows.flatMap((r) => [...r]), gold.acts[l].data);
      const P = rows.slice(0, pairs.length);
      const N = rows.slice(pairs.length);
      close(`${position} mean-diff layer ${l}`, meanDifference(P, N), gold.mean_diff[l].data);
      close(`${position} pca layer ${l}`, pcaDirection(P, N), gold.pca[l].data);
    }
  }
});

test('webgpu: steered logits (per-sequence coefficients) and ktsLoss match torch within 1e-3', async () => {
  const m = await model();
  const batch = padBatch(G.steer.benign, { side: 'right', padId: 0, device: DEVICE });
  const spec = steerSpec(vectorOf(G.steer.vectors), G.steer.layers, G.steer.coeffs, DEVICE);
  const steered = noGrad(() => m.forward(batch.ids, { attentionMask: batch.mask, steer: spec }).logits);
  const original = noGrad(() => m.forward(batch.ids, { attentionMask: batch.mask }).logits);
  assert.equal(steered.device, DEVICE);
  const mask = await batch.mask.data();
  const V = m.config.vocabSize;
  close('steered logits', await steered.data(), G.steer.logits.data, (i) => mask[Math.floor(i / V)] === 1);
  close('ktsLoss', [await ktsLoss(steered, original, batch.mask).itemAsync()], [G.steer.loss]);
});

test('webgpu: one KTS step — LoRA gradients, clipped norm, AdamW update — match torch within 1e-3', async () => {
  const m = await model();
  const S = G.step;
  const lora = attachLoRA(m, { rank: G.lora.rank, alpha: G.lora.alpha, targets: G.lora.targets });
  const init: Record<string, Tensor> = Object.fromEntries(Object.entries(G.lora.init as Record<string, Arr>).map(([k, a]) => [k, tensor(Float32Array.from(a.data), a.shape)]));
  loadLoRAStateDict(lora, init);
  const params = loraParameters(lora);
  assert.ok(params.every((p) => p.device === DEVICE));
  const opt = new optim.AdamW(params, { lr: S.lr, weightDecay: S.weight_decay });
  const batch = padBatch(G.steer.benign, { side: 'right', padId: 0, device: DEVICE });
  setLoRAEnabled(lora, false);
  const ref = noGrad(() => m.forward(batch.ids, { attentionMask: batch.mask }).logits);
  setLoRAEnabled(lora, true);
  const { logits } = m.forward(batch.ids, { attentionMask: batch.mask, steer: steerSpec(vectorOf(G.steer.vectors), G.steer.layers, S.coeffs, DEVICE) });
  const loss = ktsLoss(logits, ref, batch.mask);
  loss.backward();
  close('loss', [await loss.itemAsync()], [S.loss]);
  for (const [path, mod] of lora.modules) {
    for (const part of ['lora_A', 'lora_B'] as const) {
      const g = mod[part].grad;
      assert.ok(g, `${path}.${part} has no gradient`);
      close(`grad ${path}.${part}`, await g.data(), S.grads[`${path}.${part}`].data);
    }
  }
  close('grad norm', [await optim.clipGradNorm(params, S.max_grad_norm).itemAsync()], [S.grad_norm]);
  opt.step();
  for (const [k, v] of Object.entries(loraStateDict(lora))) close(`after AdamW ${k}`, await v.data(), S.after[k].data);
});

test('webgpu: trainKTS writes checkpoints and PEFT adapters from GPU tensors, and resumes exactly', async () => {
  const { mkdtempSync, rmSync, existsSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { trainKTS, savePeftAdapter } = await import('@kts/steer');
  const out = mkdtempSync(join(tmpdir(), 'kts-webgpu-ckpt-'));
  try {
    const opts = { steps: 3, layers: G.steer.layers, batchSize: 2, prob: 1, rank: 2, lr: 1e-2, device: DEVICE, checkpointEvery: 1 };
    const full = await trainKTS(await model(), G.steer.benign, [vectorOf(G.steer.vectors)], { ...opts, outDir: join(out, 'a') });
    let n = 0;
    await trainKTS(await model(), G.steer.benign, [vectorOf(G.steer.vectors)], { ...opts, outDir: join(out, 'b'), shouldStop: () => ++n === 2 });
    const resumed = await trainKTS(await model(), G.steer.benign, [vectorOf(G.steer.vectors)], { ...opts, outDir: join(out, 'b'), resume: true });
    assert.deepEqual(resumed.history.map((h) => h.loss), full.history.map((h) => h.loss));
    await savePeftAdapter(join(out, 'peft'), resumed.lora, 'golden');
    assert.ok(existsSync(join(out, 'peft', 'adapter_model.safetensors')));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
