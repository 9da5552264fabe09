// Linear probes: the logistic regression itself (optimality conditions, decay, standardisation),
// its features on a tiny random model (layer, position, padding), save/load, the judge, and a
// held-out check on the default model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, noGrad, tensor } from '@kts/tensor';
import { LlamaForCausalLM, loadModel, loadTokenizer, makeConfig } from '@kts/llama';
import {
  LinearProbe, probeActivations, probeJudge, readJsonl,
  type ProbeExample, type SteerableModel, type TokenizerLike,
} from '@kts/steer';

const dir = mkdtempSync(join(tmpdir(), 'kts-probe-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const config = makeConfig({ vocabSize: 61, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 3, numAttentionHeads: 2, maxPositionEmbeddings: 64, tieWordEmbeddings: true });
const model = new LlamaForCausalLM(config, { generator: new Generator(7) });

/** Characters → ids 2..60 (BOS = 1), enough for a tokenizer-shaped stub. */
const charTok: TokenizerLike = {
  bosId: 1, eosId: null, padId: 0,
  encode: (text, opts = {}) => [...(opts.bos ? [1] : []), ...[...text].map((ch) => 2 + (ch.charCodeAt(0) % 59))],
  decode: (ids) => ids.filter((i) => i > 1).map((i) => String.fromCharCode(i - 2 + 59)).join(''),
};

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i]!, 0);

test('fit: at the unregularised optimum, the logistic-regression score equations hold', () => {
  // Overlapping classes (no separation), so the maximum-likelihood fit is finite. At the optimum,
  // Σ (p_i − y_i) = 0 (intercept) and Σ (p_i − y_i)·x_i = 0 (each standardised feature).
  const g = new Generator(1);
  const rows: Float64Array[] = [];
  const labels: (0 | 1)[] = [];
  for (let i = 0; i < 200; i++) {
    const y = (i % 2) as 0 | 1;
    rows.push(Float64Array.from([3 + 0.8 * y + g.normal(), -2 + g.normal() * 5 - 3 * y, 10 + g.normal() * 0.1]));
    labels.push(y);
  }
  const f = LinearProbe.fit(rows, labels, { epochs: 1500, lr: 0.05, weightDecay: 0 });
  const probe = new LinearProbe(0, 'last', f.weights, f.bias, f.mean, f.std);
  const p = probe.probaFromActivations(rows);
  const resid = p.map((pi, i) => pi - labels[i]!);
  assert.ok(Math.abs(resid.reduce((a, b) => a + b, 0)) < 0.02, `Σ(p − y) = ${resid.reduce((a, b) => a + b, 0)}`);
  for (let k = 0; k < 3; k++) {
    const score = resid.reduce((a, r, i) => a + (r * (rows[i]![k]! - f.mean[k]!)) / f.std[k]!, 0);
    assert.ok(Math.abs(score) < 0.05, `score equation for feature ${k}: ${score}`);
  }
  // Standardisation is stored as fitted: per-feature mean and (population) std.
  const m0 = rows.reduce((a, r) => a + r[0]!, 0) / rows.length;
  assert.ok(Math.abs(f.mean[0]! - m0) < 1e-9);
  assert.ok(Math.abs(f.std[2]! - Math.sqrt(rows.reduce((a, r) => a + (r[2]! - f.mean[2]!) ** 2, 0) / rows.length)) < 1e-9);
  assert.ok(f.losses[0]! > f.losses.at(-1)!, 'the loss fell');
  // Both informative features get the right sign; the near-constant one matters little.
  assert.ok(f.weights[0]! > 0 && f.weights[1]! < 0, `weights ${[...f.weights]}`);
});

test('fit: separable data is classified perfectly; weight decay shrinks the weights', () => {
  const g = new Generator(2);
  const dir5 = [1, -2, 0.5, 0, 3];
  const rows = Array.from({ length: 60 }, () => Float64Array.from({ length: 5 }, () => g.normal()));
  const labels = rows.map((r) => (dot(r, dir5) > 0 ? 1 : 0) as 0 | 1);
  const free = LinearProbe.fit(rows, labels, { epochs: 400, weightDecay: 0 });
  const decayed = LinearProbe.fit(rows, labels, { epochs: 400, weightDecay: 0.1 });
  for (const f of [free, decayed]) {
    const p = new LinearProbe(0, 'last', f.weights, f.bias, f.mean, f.std).probaFromActivations(rows);
    assert.equal(p.filter((q, i) => (q >= 0.5) === (labels[i] === 1)).length, rows.length);
  }
  const norm = (w: Float64Array) => Math.hypot(...w);
  assert.ok(norm(decayed.weights) < 0.8 * norm(free.weights), `|w| decayed ${norm(decayed.weights)} vs free ${norm(free.weights)}`);
  // The learnt direction (in raw feature space: w / std) points along the true one.
  const raw = [...free.weights].map((w, k) => w / free.std[k]!);
  assert.ok(dot(raw, dir5) / (Math.hypot(...raw) * Math.hypot(...dir5)) > 0.9);
  assert.throws(() => LinearProbe.fit(rows, rows.map(() => 1 as const)), /both labels/);
  assert.throws(() => LinearProbe.fit(rows, labels.slice(1)), /60 activation rows but 59 labels/);
});

test('features: the probe reads its layer at the last token or averaged after BOS, independent of padding', async () => {
  const seqs = [charTok.encode('a cat sat', { bos: true }), charTok.encode('no', { bos: true }), charTok.encode('the dog ran far', { bos: true })];
  const capture = (s: number[], layer: number) => noGrad(() => model.forward(tensor(Int32Array.from(s), [1, s.length]), { capture: { layers: [layer], positions: 'all' } }).hidden.get(layer)!.toArray());
  const D = config.hiddenSize;
  for (const layer of [0, 2]) {
    const last = await probeActivations(model, charTok, seqs, layer, 'last', { batchSize: 3 });
    const mean = await probeActivations(model, charTok, seqs, layer, 'mean', { batchSize: 3 });
    seqs.forEach((s, i) => {
      const h = capture(s, layer);
      for (let k = 0; k < D; k++) {
        const want = Array.from({ length: s.length - 1 }, (_, t) => h[(t + 1) * D + k]!).reduce((a, b) => a + b, 0) / (s.length - 1);
        assert.ok(Math.abs(last[i]![k]! - h[(s.length - 1) * D + k]!) < 1e-4, `layer ${layer} seq ${i} last unit ${k}`);
        assert.ok(Math.abs(mean[i]![k]! - want) < 1e-4, `layer ${layer} seq ${i} mean unit ${k}: ${mean[i]![k]} vs ${want}`);
      }
    });
  }
});

/** Sequences whose label is whether they contain token 9 (anywhere after BOS). */
function tokenTask(n: number, seed: number): ProbeExample[] {
  const g = new Generator(seed);
  return Array.from({ length: n }, (_, i) => {
    const label = (i % 2) as 0 | 1;
    const ids = [1, ...Array.from({ length: 2 + g.int(3) }, () => 10 + g.int(50))];
    if (label) ids[1 + g.int(ids.length - 1)] = 9;
    return { ids, label };
  });
}

test('train on a tiny model: learns a token-presence feature and generalises; batching does not change predictions', async () => {
  const train = tokenTask(80, 11);
  const heldOut = tokenTask(200, 12);
  const probe = await LinearProbe.train(model, charTok, train, { layer: 0, position: 'mean', epochs: 300, lr: 0.05, weightDecay: 0.01, seed: 0 });
  assert.equal(probe.layer, 0);
  assert.equal(probe.position, 'mean');
  const trainAcc = await probe.accuracy(model, charTok, train);
  const testAcc = await probe.accuracy(model, charTok, heldOut);
  console.log(`tiny model probe: train ${trainAcc}, held-out ${testAcc}`);
  // Observed: train 0.975, held-out 0.90 (a random 16-wide model mixes the tokens noisily).
  assert.ok(trainAcc >= 0.9, `train accuracy ${trainAcc}`);
  assert.ok(testAcc >= 0.75, `held-out accuracy ${testAcc}`);
  const seqs = heldOut.map((e) => e.ids);
  const batched = await probe.predictProba(model, charTok, seqs, { batchSize: 16 });
  const single = await probe.predictProba(model, charTok, seqs, { batchSize: 1 });
  batched.forEach((p, i) => assert.ok(Math.abs(p - single[i]!) < 1e-5, `seq ${i}: ${p} vs ${single[i]}`));
  // Training is deterministic for a seed.
  const again = await LinearProbe.train(model, charTok, train, { layer: 0, position: 'mean', epochs: 300, seed: 0 });
  assert.deepEqual([...again.weights], [...probe.weights]);
  // Thresholds: above 1 nothing is flagged, 0 flags everything.
  assert.ok((await probe.withThreshold(1.01).flag(model, charTok, seqs)).every((f) => !f));
  assert.ok((await probe.withThreshold(0).flag(model, charTok, seqs)).every((f) => f));
  await assert.rejects(LinearProbe.train(model, charTok, train, { layer: 3 }), /layer 3 out of range/);
});

test('save/load round-trips the probe; bad files are named', async () => {
  const probe = await LinearProbe.train(model, charTok, tokenTask(20, 3), { layer: 1, position: 'last', epochs: 20, threshold: 0.7 });
  const path = join(dir, 'probe.json');
  probe.save(path);
  const loaded = LinearProbe.load(path);
  assert.deepEqual(loaded.toJSON(), probe.toJSON());
  assert.equal(loaded.threshold, 0.7);
  assert.equal(loaded.layer, 1);
  const seqs = tokenTask(6, 4).map((e) => e.ids);
  assert.deepEqual(await loaded.predictProba(model, charTok, seqs), await probe.predictProba(model, charTok, seqs));
  const json = probe.toJSON();
  assert.equal(json.format, 'kts-linear-probe');
  assert.equal(json.weights.length, 16);
  assert.equal(json.mean.length, 16);
  assert.equal(json.std.length, 16);
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...json, format: 'other' }));
  assert.throws(() => LinearProbe.load(join(dir, 'bad.json')), /bad\.json: not a kts linear probe/);
  writeFileSync(join(dir, 'short.json'), JSON.stringify({ ...json, mean: [0] }));
  assert.throws(() => LinearProbe.load(join(dir, 'short.json')), /one entry per hidden unit/);
  const wide = new LinearProbe(0, 'last', new Float64Array(8), 0, new Float64Array(8), new Float64Array(8).fill(1));
  await assert.rejects(wide.predictProba(model, charTok, seqs), /8 inputs, the model's hidden size is 16/);
});

test('probeJudge scores texts by the probe probability', async () => {
  const probe = await LinearProbe.train(model, charTok, tokenTask(20, 5), { layer: 1, position: 'mean', epochs: 30 });
  const texts = ['hello there', 'abc', 'a longer text here'];
  const judged = await probeJudge(model, charTok, probe)(texts);
  const direct = await probe.predictProba(model, charTok, texts.map((t) => charTok.encode(t, { bos: true })));
  assert.deepEqual(judged, direct);
  assert.ok(judged.every((p) => p > 0 && p < 1));
});

test('default model: a layer-1 probe tells weather slots from other attribute slots on unseen story prompts', { timeout: 60_000 }, async () => {
  // data/behaviour_eval.jsonl: story text cut where the weather word goes (label 1) or where a
  // place, creature, activity or object word goes (label 0), read at the last token. The first
  // 32 prompts of each family train the probe, the other 32 test it. Observed (CPU, seed 0): held-out
  // accuracy 1.000 on 64 prompts, recall 1.000.
  type R = { family: string; prompt: string };
  const model = await loadModel('models/default');
  const tok = await loadTokenizer('models/default');
  const recs = readJsonl<R>('data/behaviour_eval.jsonl').filter((r) => ['weather', 'place', 'creature', 'activity', 'object'].includes(r.family));
  const byFamily = (f: string) => recs.filter((r) => r.family === f);
  const ex = (r: R): ProbeExample => ({ ids: tok.encode(r.prompt, { bos: true }), label: r.family === 'weather' ? 1 : 0 });
  const families = ['weather', 'place', 'creature', 'activity', 'object'];
  const train = families.flatMap((f) => byFamily(f).slice(0, 32)).map(ex);
  const test = families.flatMap((f) => byFamily(f).slice(32, f === 'weather' ? 64 : 40)).map(ex);
  const probe = await LinearProbe.train(model, tok, train, { layer: 1, position: 'last', seed: 0 });
  const acc = await probe.accuracy(model, tok, test);
  const p = await probe.predictProba(model, tok, test.map((e) => e.ids));
  const recall = test.filter((e, i) => e.label === 1 && p[i]! >= 0.5).length / test.filter((e) => e.label === 1).length;
  console.log(`default model probe (layer 1, last): held-out accuracy ${acc.toFixed(3)} on ${test.length} prompts, recall ${recall.toFixed(3)}`);
  assert.equal(test.length, 64);
  assert.ok(acc >= 0.9, `held-out accuracy ${acc}`);
  assert.ok(recall >= 0.8, `recall ${recall}`);
});
