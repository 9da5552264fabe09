// Classifier-gated steering: a forced gate must give exactly "steer the flagged sequences one at a
// time"; a gate that flags nothing gives no effect and no KL; one that flags everything gives
// plain steering; the gate reads the original model; and a probe gate on the default model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, noGrad, tensor } from '@kts/tensor';
import { LlamaForCausalLM, loadModel, loadTokenizer, makeConfig } from '@kts/llama';
import {
  type EvalModel, LinearProbe, type SequenceGate, SteeringVector, attachLoRA, experiment, extractVector,
  gatedSteeringReport, lexiconScore, lexiconTokens, readJsonl, sideEffectKL,
  type SteerableModel, type TokenizerLike,
} from '@kts/steer';

const config = makeConfig({ vocabSize: 61, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 3, numAttentionHeads: 2, maxPositionEmbeddings: 64, tieWordEmbeddings: true });
const newModel = () => new LlamaForCausalLM(config, { generator: new Generator(7) });
const tok: TokenizerLike = { bosId: 1, eosId: null, padId: 0, encode: () => [], decode: () => '' };
const g = new Generator(21);
const seqs = (n: number) => Array.from({ length: n }, () => [1, ...Array.from({ length: 2 + g.int(8) }, () => 2 + g.int(59))]);
const targets = seqs(6);
const benign = seqs(7);
const vector = new SteeringVector(new Map([1, 2].map((l) => [l, Float32Array.from({ length: 16 }, () => 2 * g.normal())])));
const layers = [1, 2];
const behaviour = { positive: [3, 4, 5, 6], negative: [7, 8] };

/** A gate that flags fixed sequences (by identity), recording whether adapters were on when asked. */
function forcedGate(flagged: Set<number[]>, onCall?: () => void): SequenceGate {
  return { flag: async (_m, _t, s) => { onCall?.(); return s.map((x) => flagged.has(x)); } };
}

const close = (a: number, b: number, what: string, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol * (1 + Math.abs(b)), `${what}: ${a} vs ${b}`);

test('forced gate: the batched report equals steering each flagged sequence alone', async () => {
  const m: EvalModel = { name: 'original', model: newModel(), lora: null };
  const coeff = 3;
  const flaggedTargets = [targets[0]!, targets[2]!, targets[3]!, targets[5]!];
  const flaggedBenign = [benign[1]!, benign[4]!];
  const gate = forcedGate(new Set([...flaggedTargets, ...flaggedBenign]));
  const r = await gatedSteeringReport(m, tok, { probe: gate, vector, layers, coeff, targetPrompts: targets, benignPrompts: benign, behaviour, batchSize: 4 });
  assert.equal(r.recall, 4 / 6);
  assert.equal(r.falsePositiveRate, 2 / 7);
  assert.deepEqual(r.flags.target, [true, false, true, true, false, true]);
  assert.equal(r.nMisclassifiedBenign, 2);
  assert.deepEqual(r.notes, []);

  // Reference, one sequence at a time with eval.ts: per-sequence lexicon score (mean over positions).
  const one = (s: number[], c: number) => lexiconScore(m, [s], behaviour.positive, behaviour.negative, { vector, layers, coeff: c }, { batchSize: 1 });
  let effect = 0;
  let ungated = 0;
  for (const s of targets) {
    const base = await one(s, 0);
    effect += (await one(s, flaggedTargets.includes(s) ? coeff : 0)) - base;
    ungated += (await one(s, coeff)) - base;
  }
  close(r.effectOnFlagged, effect / targets.length, 'effectOnFlagged');
  close(r.effectUngated, ungated / targets.length, 'effectUngated');
  assert.ok(Math.abs(r.effectUngated) > 1e-4, 'steering changes the behaviour at all');

  // KL pooled over tokens: flagged benign steered one at a time; unflagged ones contribute 0 KL but count.
  const klOf = async (s: number[]) => (await sideEffectKL(m, { vector, layers, coeff }, [s], { batchSize: 1 })) * s.length;
  const flaggedKL = await Promise.all(flaggedBenign.map(klOf));
  const flaggedTokens = flaggedBenign.reduce((a, s) => a + s.length, 0);
  const allTokens = benign.reduce((a, s) => a + s.length, 0);
  close(r.sideEffectKLOnMisclassifiedBenign, flaggedKL.reduce((a, b) => a + b, 0) / flaggedTokens, 'KL on misclassified benign', 1e-5);
  close(r.sideEffectKLAllBenign, flaggedKL.reduce((a, b) => a + b, 0) / allTokens, 'KL on all benign (gated)', 1e-5);
  close(r.sideEffectKLAllBenignUngated, await sideEffectKL(m, { vector, layers, coeff }, benign), 'KL on all benign (ungated)', 1e-5);
  assert.ok(r.sideEffectKLOnMisclassifiedBenign > r.sideEffectKLAllBenign && r.sideEffectKLAllBenign > 0);
});

test('a probe that flags nothing: zero effect and zero KL (with a note); one that flags everything: plain steering', async () => {
  const m: EvalModel = { name: 'original', model: newModel(), lora: null };
  const probe = await LinearProbe.train(m.model, tok, [...targets.map((ids) => ({ ids, label: 1 as const })), ...benign.map((ids) => ({ ids, label: 0 as const }))], { layer: 0, position: 'mean', epochs: 50 });
  const opts = { vector, layers, coeff: 4, targetPrompts: targets, benignPrompts: benign, behaviour };
  const none = await gatedSteeringReport(m, tok, { ...opts, probe: probe.withThreshold(1.01) });
  assert.equal(none.recall, 0);
  assert.equal(none.falsePositiveRate, 0);
  assert.equal(none.effectOnFlagged, 0);
  assert.equal(none.nMisclassifiedBenign, 0);
  assert.equal(none.sideEffectKLOnMisclassifiedBenign, 0);
  assert.ok(Math.abs(none.sideEffectKLAllBenign) < 1e-9, `KL ${none.sideEffectKLAllBenign}`);
  assert.ok(none.notes.some((n) => /no benign prompt was flagged.*n = 0/.test(n)), none.notes.join('; '));
  assert.ok(none.notes.some((n) => /no target prompt was flagged/.test(n)));
  assert.ok(none.effectUngated !== 0 && none.sideEffectKLAllBenignUngated > 0, 'the comparison columns still measure always-on steering');

  const all = await gatedSteeringReport(m, tok, { ...opts, probe: probe.withThreshold(0) });
  assert.equal(all.recall, 1);
  assert.equal(all.falsePositiveRate, 1);
  close(all.effectOnFlagged, all.effectUngated, 'gated = ungated effect');
  close(all.sideEffectKLAllBenign, await sideEffectKL(m, { vector, layers, coeff: 4 }, benign), 'gated = ungated KL', 1e-5);
  close(all.sideEffectKLOnMisclassifiedBenign, all.sideEffectKLAllBenign, 'every benign prompt misclassified');
  assert.ok(!all.notes.some((n) => /probe reads layer/.test(n)), 'a layer-0 probe precedes steering at layers 1, 2');
  const late = new LinearProbe(2, 'last', probe.weights, probe.bias, probe.mean, probe.std, 1.01);
  const lateReport = await gatedSteeringReport(m, tok, { ...opts, probe: late });
  assert.ok(lateReport.notes.some((n) => /probe reads layer 2, not before the first steering layer 1/.test(n)), lateReport.notes.join('; '));
});

test('with KTS adapters: the gate reads the original model, and unsteered prompts still pay the adapters\' KL', async () => {
  const model = newModel();
  const lora = attachLoRA(model, { rank: 2, seed: 3 });
  noGrad(() => { for (const mod of lora.modules.values()) mod.lora_B.backend.assign(mod.lora_B, tensor(Float32Array.from({ length: mod.lora_B.size }, () => 0.2 * g.normal()), [...mod.lora_B.shape])); });
  const m: EvalModel = { name: 'kts', model, lora };
  const seen: boolean[] = [];
  const gate = forcedGate(new Set(), () => seen.push([...lora.modules.values()][0]!.enabled));
  const r = await gatedSteeringReport(m, tok, { probe: gate, vector, layers, coeff: 2, targetPrompts: targets, benignPrompts: benign, behaviour });
  assert.deepEqual(seen, [false, false], 'the gate ran with the adapters off');
  assert.ok([...lora.modules.values()].every((mod) => mod.enabled), 'adapters are back on afterwards');
  // Nothing is steered, but "steered" is the KTS model (adapters on) against the original.
  close(r.sideEffectKLAllBenign, await sideEffectKL(m, { vector, layers, coeff: 0 }, benign), 'adapter-only KL', 1e-5);
  assert.ok(r.sideEffectKLAllBenign > 0);
  assert.equal(r.sideEffectKLOnMisclassifiedBenign, 0);
});

test('default model: a layer-1 probe gates "snowy" steering to weather slots; other story slots keep their distribution', { timeout: 120_000 }, async () => {
  // Gate: the probe of probe.test.ts (layer 1, last token; weather slots vs place, creature,
  // activity and object slots). Steering: the "snowy" vector (16 minimal pairs of
  // data/concepts.jsonl, averaged from the differing word) at layer 2, after the gate's layer.
  // Behaviour: probability that the next word is "snowy". Targets: 32 unseen weather slots;
  // benign: 32 unseen slots of the other families. Observed (CPU): recall 1, FPR 0,
  // effect +0.357 gated = ungated, KL on benign slots 0 gated vs 0.369 ungated.
  type R = { family: string; prompt: string };
  const model = await loadModel('models/default');
  const tk = await loadTokenizer('models/default');
  const recs = readJsonl<R>('data/behaviour_eval.jsonl');
  const families = ['weather', 'place', 'creature', 'activity', 'object'];
  const ids = (r: R) => tk.encode(r.prompt, { bos: true });
  const of = (f: string, from: number, to: number) => recs.filter((r) => r.family === f).slice(from, to);
  const probe = await LinearProbe.train(model, tk, families.flatMap((f) => of(f, 0, 32)).map((r) => ({ ids: ids(r), label: r.family === 'weather' ? 1 : 0 })), { layer: 1, position: 'last', seed: 0 });
  const snowy = readJsonl<{ concept: string; sentence: string; contrast: string }>('data/concepts.jsonl').filter((r) => r.concept === 'snowy').slice(0, 16);
  const pairs = snowy.map((r) => experiment.splitAtDifference(r.sentence, r.contrast));
  const vector = await extractVector(model, tk, pairs, { layers: [2], position: 'answer-mean' });
  const m: EvalModel = { name: 'original', model, lora: null };
  const r = await gatedSteeringReport(m, tk, {
    probe, vector, layers: [2], coeff: 8,
    targetPrompts: of('weather', 32, 64).map(ids),
    benignPrompts: families.slice(1).flatMap((f) => of(f, 32, 40)).map(ids),
    behaviour: { positive: lexiconTokens(tk, ['snowy']), positions: 'last' },
  });
  const { flags: _flags, ...numbers } = r;
  console.log('default model gated steering:', JSON.stringify(numbers));
  assert.equal(r.nTarget, 32);
  assert.equal(r.nBenign, 32);
  assert.ok(r.recall >= 0.8, `recall ${r.recall}`);
  assert.ok(r.falsePositiveRate <= 0.1, `FPR ${r.falsePositiveRate}`);
  assert.ok(r.effectUngated > 0.01, `steering towards "snowy" raises its probability at the weather slot: ${r.effectUngated}`);
  assert.ok(r.effectOnFlagged >= 0.8 * r.effectUngated, `gated effect ${r.effectOnFlagged} vs ungated ${r.effectUngated}`);
  assert.ok(r.sideEffectKLAllBenign <= 0.2 * r.sideEffectKLAllBenignUngated, `gated KL ${r.sideEffectKLAllBenign} vs ungated ${r.sideEffectKLAllBenignUngated}`);
});
