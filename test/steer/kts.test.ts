// KTS training mechanics on a tiny random model: exact resume, NaN handling, PEFT export and
// loading, merging, and per-sequence steering in one batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, loadTensors, noGrad, tensor } from '@kts/tensor';
import { LlamaForCausalLM, makeConfig } from '@kts/llama';
import {
  SteeringVector, attachLoRA, batchSteer, drawSteering, loadPeftAdapter, loraStateDict, mergeLoRA, savePeftAdapter,
  setLoRAEnabled, trainKTS, padBatch, defaultSteerLayers, parseLayers,
} from '@kts/steer';

const dir = mkdtempSync(join(tmpdir(), 'kts-train-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const config = makeConfig({ vocabSize: 61, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 3, numAttentionHeads: 2, maxPositionEmbeddings: 64, tieWordEmbeddings: true });
const newModel = () => new LlamaForCausalLM(config, { generator: new Generator(7) });
const g = new Generator(3);
const benign = Array.from({ length: 12 }, () => Array.from({ length: 3 + g.int(9) }, () => 1 + g.int(60)));
const vector = (scale = 4) => new SteeringVector(new Map([1, 2].map((l) => [l, Float32Array.from({ length: 16 }, () => scale * g.normal())])));
const vectors = [vector(), vector()];

function weights(lora: ReturnType<typeof attachLoRA>): number[] {
  return Object.values(loraStateDict(lora)).flatMap((t) => [...t.toArray()]);
}

test('drawSteering: coefficient c·U(−1,1) with probability p, else 0', () => {
  const draws = Array.from({ length: 4000 }, (_, s) => drawSteering(0, s, 3, 1.5, 0.125));
  const steered = draws.filter((d) => d.coeff !== 0);
  assert.ok(Math.abs(steered.length / 4000 - 0.125) < 0.02, `share steered ${steered.length / 4000}`);
  assert.ok(steered.every((d) => Math.abs(d.coeff) <= 1.5));
  assert.ok(Math.min(...steered.map((d) => d.coeff)) < -1.3 && Math.max(...steered.map((d) => d.coeff)) > 1.3);
  assert.deepEqual(new Set(draws.map((d) => d.vector)), new Set([0, 1, 2]));
  assert.deepEqual(drawSteering(0, 17, 3, 1.5, 0.125), drawSteering(0, 17, 3, 1.5, 0.125));
});

test('resume continues to exactly the result of an uninterrupted run (CPU)', async () => {
  const opts = { steps: 6, layers: [1, 2], batchSize: 3, rank: 2, lr: 1e-2, prob: 0.6, seed: 5, checkpointEvery: 2 };
  const full = await trainKTS(newModel(), benign, vectors, { ...opts, outDir: join(dir, 'full') });
  let n = 0;
  const first = await trainKTS(newModel(), benign, vectors, { ...opts, outDir: join(dir, 'split'), shouldStop: () => ++n === 3 });
  assert.equal(first.stoppedEarly, true);
  assert.equal(first.history.length, 3);
  const resumed = await trainKTS(newModel(), benign, vectors, { ...opts, outDir: join(dir, 'split'), resume: true });
  assert.deepEqual(resumed.history.map((h) => h.loss), full.history.map((h) => h.loss));
  assert.deepEqual(weights(resumed.lora), weights(full.lora));
  assert.ok(full.history.some((h) => h.coeff !== 0) && full.history.some((h) => h.coeff === 0), 'both steered and unsteered steps occurred');
  assert.ok(weights(full.lora).some((v) => v !== 0));
});

test('a NaN loss stops training and names the step and the last good checkpoint', async () => {
  const bad = new SteeringVector(new Map([[1, new Float32Array(16).fill(NaN)], [2, new Float32Array(16).fill(NaN)]]));
  await assert.rejects(
    trainKTS(newModel(), benign, [bad], { steps: 3, layers: [1, 2], batchSize: 2, prob: 1, outDir: join(dir, 'nan') }),
    /loss is NaN at step 1; stopping\. Last good checkpoint: .*nan\/checkpoint \(step 0\)/,
  );
  await assert.rejects(trainKTS(newModel(), benign, vectors, { steps: 1, layers: [0], batchSize: 2 }), /no direction for layer 0/);
});

test('PEFT export: keys, shapes and config as PEFT writes them; loading restores the adapter', async () => {
  const model = newModel();
  const lora = attachLoRA(model, { rank: 4, alpha: 8, seed: 1 });
  noGrad(() => { for (const m of lora.modules.values()) m.lora_B.backend.assign(m.lora_B, tensor(Float32Array.from({ length: m.lora_B.size }, () => g.normal()), [...m.lora_B.shape])); });
  const out = join(dir, 'peft');
  await savePeftAdapter(out, lora, 'tiny');
  const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
  assert.equal(cfg.peft_type, 'LORA');
  assert.equal(cfg.task_type, 'CAUSAL_LM');
  assert.equal(cfg.r, 4);
  assert.equal(cfg.lora_alpha, 8);
  assert.deepEqual(cfg.target_modules, ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
  const { tensors } = loadTensors(join(out, 'adapter_model.safetensors'));
  const keys = Object.keys(tensors);
  assert.equal(keys.length, 3 * 7 * 2);
  assert.ok(keys.includes('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'));
  assert.ok(keys.includes('base_model.model.model.layers.2.mlp.down_proj.lora_B.weight'));
  assert.deepEqual(tensors['base_model.model.model.layers.0.mlp.gate_proj.lora_A.weight']!.shape, [4, 16]);
  assert.deepEqual(tensors['base_model.model.model.layers.0.mlp.gate_proj.lora_B.weight']!.shape, [24, 4]);
  const reloaded = loadPeftAdapter(newModel(), out);
  assert.deepEqual(weights(reloaded), weights(lora));
});

test('merging the adapter gives the same logits as the adapted model', () => {
  const model = newModel();
  const lora = attachLoRA(model, { rank: 2, alpha: 4, seed: 2 });
  noGrad(() => { for (const m of lora.modules.values()) m.lora_B.backend.assign(m.lora_B, tensor(Float32Array.from({ length: m.lora_B.size }, () => 0.3 * g.normal()), [...m.lora_B.shape])); });
  const ids = tensor(Int32Array.from([1, 5, 9, 33]), [1, 4]);
  const adapted = noGrad(() => model.forward(ids).logits.toArray());
  setLoRAEnabled(lora, false);
  const base = noGrad(() => model.forward(ids).logits.toArray());
  setLoRAEnabled(lora, true);
  mergeLoRA(model, lora);
  const merged = noGrad(() => model.forward(ids).logits.toArray());
  assert.ok(adapted.some((v, i) => Math.abs(v - base[i]!) > 1e-3), 'the adapter changes the logits');
  adapted.forEach((v, i) => assert.ok(Math.abs(v - merged[i]!) < 1e-4, `logit ${i}: ${v} vs ${merged[i]}`));
});

test('batched per-sequence steering equals steering each sequence alone', () => {
  const model = newModel();
  const v = vector(2);
  const seqs = [benign[0]!, benign[1]!, benign[2]!];
  const coeffs = [3, 0, -1.5];
  const b = padBatch(seqs, { side: 'left' });
  const batched = noGrad(() => model.forward(b.ids, { attentionMask: b.mask, steer: batchSteer(v, [1, 2], coeffs) }).logits);
  const T = b.ids.shape[1]!;
  seqs.forEach((s, i) => {
    const one = noGrad(() => model.forward(tensor(Int32Array.from(s), [1, s.length]), { steer: batchSteer(v, [1, 2], [coeffs[i]!]) }).logits.toArray());
    const rows = batched.narrow(0, i, 1).narrow(1, T - s.length, s.length).contiguous().toArray();
    one.forEach((x, k) => assert.ok(Math.abs(x - rows[k]!) < 1e-4, `seq ${i} value ${k}: ${x} vs ${rows[k]}`));
  });
});

test('default steering layers follow the paper\'s range, scaled to the depth', () => {
  assert.deepEqual(defaultSteerLayers(32), Array.from({ length: 20 }, (_, i) => 2 + i));
  assert.deepEqual(defaultSteerLayers(4), [1, 2]);
  assert.deepEqual(parseLayers('-30..-11', 32), Array.from({ length: 20 }, (_, i) => 2 + i));
  assert.deepEqual(parseLayers('3,1,2..3', 6), [1, 2, 3]);
  assert.throws(() => parseLayers('9', 4), /out of range/);
});
