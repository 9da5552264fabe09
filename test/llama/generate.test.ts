// @kts/llama generation: greedy vs the PyTorch goldens, seeded sampling, top-k/top-p, stop ids,
// streaming order, batching with left padding, steering during generation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import nodePath from 'node:path';
import { Generator, randn, tensor } from '@kts/tensor';
import { LlamaForCausalLM, generate, loadModel, makeConfig, sampleToken } from '@kts/llama';

const GOLDEN_DIR = new URL('../../reference/goldens/llama/', import.meta.url).pathname;
const CHECKPOINTS = ['mha_f32', 'gqa_tied_bf16', 'rope_llama3', 'odd_head_dim', 'rope_linear'];

interface GoldenJson {
  greedy: { prompt: number[]; continuation: number[] }[];
  greedy_batch: { prompts: number[][]; continuations: number[][] };
}

function tinyModel(seed = 1): LlamaForCausalLM {
  const cfg = makeConfig({
    vocabSize: 40, hiddenSize: 24, intermediateSize: 40, numHiddenLayers: 2, numAttentionHeads: 4,
    numKeyValueHeads: 2, eosTokenIds: [2], bosTokenId: 1,
  });
  const m = new LlamaForCausalLM(cfg, { generator: new Generator(seed) });
  return m.requiresGrad_(false);
}

const PROMPTS = [[1, 5, 9, 13, 20, 7], [1, 30], [1, 11, 12, 13]];

test('greedy generation (KV cache) equals the PyTorch goldens, single and batched', async () => {
  for (const name of CHECKPOINTS) {
    const dir = nodePath.join(GOLDEN_DIR, name);
    const model = await loadModel(dir);
    const j = JSON.parse(readFileSync(nodePath.join(dir, 'golden.json'), 'utf8')) as GoldenJson;
    for (const { prompt, continuation } of j.greedy) {
      const [out] = await generate(model, [prompt], { maxNewTokens: continuation.length, ignoreEos: true });
      assert.deepEqual(out, continuation, `${name}: greedy continuation of [${prompt}]`);
    }
    const outs = await generate(model, j.greedy_batch.prompts, { maxNewTokens: 32, ignoreEos: true });
    assert.deepEqual(outs, j.greedy_batch.continuations, `${name}: batched (left-padded) greedy`);
  }
});

test('seeded sampling is reproducible and differs across seeds', async () => {
  const model = tinyModel();
  const opts = { maxNewTokens: 20, temperature: 1.2, ignoreEos: true };
  const a = await generate(model, [PROMPTS[0]!], { ...opts, seed: 7 });
  const b = await generate(model, [PROMPTS[0]!], { ...opts, seed: 7 });
  const c = await generate(model, [PROMPTS[0]!], { ...opts, seed: 8 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const greedy = await generate(model, [PROMPTS[0]!], { maxNewTokens: 20, ignoreEos: true });
  assert.notDeepEqual(a, greedy, 'sampling at temperature 1.2 departs from greedy');
  // top-p and top-k sampling are reproducible as well
  const p1 = await generate(model, [PROMPTS[1]!], { ...opts, topP: 0.8, topK: 10, seed: 3 });
  const p2 = await generate(model, [PROMPTS[1]!], { ...opts, topP: 0.8, topK: 10, seed: 3 });
  assert.deepEqual(p1, p2);
});

test('topK = 1 equals greedy', async () => {
  const model = tinyModel(2);
  const greedy = await generate(model, PROMPTS, { maxNewTokens: 12, ignoreEos: true });
  const k1 = await generate(model, PROMPTS, { maxNewTokens: 12, temperature: 1.5, topK: 1, seed: 5, ignoreEos: true });
  assert.deepEqual(k1, greedy);
});

test('sampleToken: greedy ties, top-k support, top-p nucleus', () => {
  const g = new Generator(0);
  assert.equal(sampleToken([1, 3, 3, 2], {}, g), 1, 'first maximum on ties');
  const row = [0, 5, 4.9, -3, 1];
  for (let i = 0; i < 200; i++) {
    const t = sampleToken(row, { temperature: 1, topK: 2 }, g);
    assert.ok(t === 1 || t === 2);
  }
  // p(1) ≈ 0.52, p(2) ≈ 0.47: topP 0.5 keeps only id 1
  for (let i = 0; i < 50; i++) assert.equal(sampleToken(row, { temperature: 1, topP: 0.5 }, g), 1);
  const counts = new Map<number, number>();
  for (let i = 0; i < 2000; i++) {
    const t = sampleToken([0, Math.log(3)], { temperature: 1 }, g);
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  const frac = (counts.get(1) ?? 0) / 2000;
  assert.ok(Math.abs(frac - 0.75) < 0.04, `softmax sampling frequency ${frac}`);
});

test('stop ids (and eos) end a sequence, including the stop token', async () => {
  const model = tinyModel(3);
  const [full] = await generate(model, [PROMPTS[0]!], { maxNewTokens: 16, ignoreEos: true });
  const stopAt = full![4]!;
  const cut = full!.indexOf(stopAt);
  const [stopped] = await generate(model, [PROMPTS[0]!], { maxNewTokens: 16, ignoreEos: true, stopIds: [stopAt] });
  assert.deepEqual(stopped, full!.slice(0, cut + 1));
  // eos from the config stops too (make token `stopAt` the eos of a copy of the config)
  const eosModel = tinyModel(3);
  (eosModel.config as { eosTokenIds: number[] }).eosTokenIds = [stopAt];
  const [eos] = await generate(eosModel, [PROMPTS[0]!], { maxNewTokens: 16 });
  assert.deepEqual(eos, full!.slice(0, cut + 1));
  const [ignored] = await generate(eosModel, [PROMPTS[0]!], { maxNewTokens: 16, ignoreEos: true });
  assert.deepEqual(ignored, full);
});

test('onToken streams in order: step by step, batch index ascending, finished rows skipped', async () => {
  const model = tinyModel(4);
  const free = await generate(model, PROMPTS, { maxNewTokens: 10, ignoreEos: true });
  const stop = free[1]![2]!; // row 1 stops at its first occurrence of this token
  const events: [number, number][] = [];
  const outs = await generate(model, PROMPTS, { maxNewTokens: 10, ignoreEos: true, stopIds: [stop], onToken: (b, t) => events.push([b, t]) });
  const expected: [number, number][] = [];
  for (let s = 0; s < 10; s++) {
    outs.forEach((o, b) => {
      if (s < o.length) expected.push([b, o[s]!]);
    });
  }
  assert.deepEqual(events, expected);
  assert.ok(outs[1]!.length <= 3 && outs[1]![outs[1]!.length - 1] === stop);
});

test('batched generation equals one prompt at a time (greedy, and sampling with seed + b)', async () => {
  const model = tinyModel(5);
  const batched = await generate(model, PROMPTS, { maxNewTokens: 12, ignoreEos: true });
  for (let b = 0; b < PROMPTS.length; b++) {
    const [single] = await generate(model, [PROMPTS[b]!], { maxNewTokens: 12, ignoreEos: true });
    assert.deepEqual(batched[b], single, `greedy row ${b}`);
  }
  const opts = { maxNewTokens: 12, temperature: 0.9, topP: 0.95, ignoreEos: true };
  const sampled = await generate(model, PROMPTS, { ...opts, seed: 100 });
  for (let b = 0; b < PROMPTS.length; b++) {
    const [single] = await generate(model, [PROMPTS[b]!], { ...opts, seed: 100 + b });
    assert.deepEqual(sampled[b], single, `sampled row ${b}`);
  }
});

test('steering during generation: coeff 0 is a no-op, a strong vector changes the output', async () => {
  const model = tinyModel(6);
  const plain = await generate(model, PROMPTS, { maxNewTokens: 8, ignoreEos: true });
  const vectors = randn([1, 24], { generator: new Generator(1) });
  const zero = await generate(model, PROMPTS, { maxNewTokens: 8, ignoreEos: true, steer: { layers: [0, 1], vectors, coeffs: tensor([[0], [0], [0]]) } });
  assert.deepEqual(zero, plain);
  const strong = await generate(model, PROMPTS, { maxNewTokens: 8, ignoreEos: true, steer: { layers: [0], vectors, coeffs: tensor([[8], [8], [8]]) } });
  assert.notDeepEqual(strong, plain);
  const genOnly = await generate(model, PROMPTS, {
    maxNewTokens: 8, ignoreEos: true, steerPositions: 'generated', steer: { layers: [0], vectors, coeffs: tensor([[8], [8], [8]]) },
  });
  // The first token comes from the unsteered prompt.
  genOnly.forEach((o, b) => assert.equal(o[0], plain[b]![0]));
});

test('argument errors', async () => {
  const model = tinyModel();
  await assert.rejects(generate(model, [[]], { maxNewTokens: 3 }), /prompt 0 is empty/);
  await assert.rejects(generate(model, [[1, 99]], { maxNewTokens: 3 }), /token id 99 outside the vocabulary/);
  assert.deepEqual(await generate(model, [[1, 2]], { maxNewTokens: 0 }), [[]]);
});
