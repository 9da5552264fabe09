// The KTS experiment (packages/steer/src/experiment): its statistics on curves with known
// answers, its contrast pairs, its errors for bad input, and the whole protocol end to end on a
// tiny random model — resumable, and reproducible by `kts eval` from the files it writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '@kts/llama';
import { saveTinyModel } from '../helpers/tiny-model.ts';
import { chatFormatterFor, experiment as E } from '@kts/steer';

/** A curve with given effects and KLs at coefficients 0, 1, 2, … (one prompt, one benign text of one token). */
function curve(model: string, effects: number[], kls: number[], trainedRange = Infinity): E.Curve {
  return {
    model, seed: 0, concept: 'c', vectorSource: 'base', trainedRange,
    points: effects.map((e, i) => ({ coeff: i, rawCoeff: i, m: { klSum: [kls[i]!], klCount: [1], answerNLL: [0], correct: [1], slotP: [0.1 + e], hit: [0], bad: [0] } })),
  };
}

test('experiment stats: KL at equal effect is interpolated, limited to the trained range and the non-degenerate points', () => {
  const pts = E.effectCurve(curve('original', [0, 0.2, 0.4, 0.6], [0, 0.01, 0.04, 2]));
  assert.ok(Math.abs(E.klAtEffect(pts, 0.3) - 0.02) < 1e-12, 'geometric between 0.01 and 0.04');
  assert.ok(Math.abs(E.atEffect(pts, 0.3)!.coeff - 1.5) < 1e-12);
  assert.ok(Math.abs(E.klAtEffect(pts, 0.1) - 0.005) < 1e-12, 'linear from KL 0');
  assert.ok(Number.isNaN(E.klAtEffect(pts, 0.5, 2)), 'not reached within coefficient 2');
  assert.equal(E.maxNonDegenerateEffect(pts, 1), 0.4, 'the point with KL 2 > entropy 1 does not count');
  // KTS: the same effects at a quarter of the KL → ratio 1/4 at every level; one seed never reaching → ∞.
  const orig = curve('original', [0, 0.2, 0.4, 0.6], [0, 0.01, 0.04, 0.09]);
  const kts = curve('kts', [0, 0.2, 0.4, 0.6], [0.0001, 0.0025, 0.01, 0.0225]);
  const r = E.equalEffectRatios(orig, [kts, kts], 1, [0.25, 0.5, 0.75]);
  for (const x of r.slice(1)) assert.ok(Math.abs(x.ratio - 0.25) < 1e-9, JSON.stringify(x));
  const weak = curve('kts', [0, 0.05, 0.1, 0.15], [0.0001, 0.001, 0.002, 0.003]);
  assert.equal(E.equalEffectRatios(orig, [kts, weak], 1, [0.5])[0]!.ratio, Infinity);
  assert.equal(E.equalEffectRatios(orig, [curve('kts', [0, 0.2, 0.4, 0.6], [0, 0.0025, 0.01, 0.0225], 1)], 1, [0.75])[0]!.ratio, Infinity, 'effect beyond the trained range');
  const ci = E.bootstrapRatios(orig, [kts, kts], 1, [0.5], 50);
  assert.ok(ci[0]![0] <= 0.25 + 1e-9 && ci[0]![1] >= 0.25 - 1e-9, JSON.stringify(ci));
  assert.equal(E.percentile([1, 2, 3, 4, Infinity], 1), Infinity);
  assert.equal(E.percentile([1, 2, 3], 0.5), 2);
});

test('experiment vectors: minimal pairs split at the first differing word; shuffled negatives come from many concepts', () => {
  assert.deepEqual(E.splitAtDifference('She had a pet owl.', 'She had a pet fox.'), { prompt: 'She had a pet', positive: ' owl.', negative: ' fox.' });
  const concepts = new Map([['f', new Map(['a', 'b', 'c', 'd'].map((c) => [c, Array.from({ length: 12 }, (_, i) => ({ sentence: `${c}${i}` }))]))]]);
  const pairs = E.familyConceptPairs(concepts, 'f', 'a', 'shuffled', 12, 1, 'concepts.jsonl');
  assert.equal(pairs.length, 12);
  assert.ok(pairs.every((p) => p.positive.startsWith('a') && !p.negative.startsWith('a')));
  assert.ok(new Set(pairs.map((p) => p.negative[0])).size >= 2, 'negatives from more than one other concept (issue 10: v_sea = −v_space)');
  assert.throws(() => E.familyConceptPairs(concepts, 'f', 'a', 'matched', 12, 1, 'concepts.jsonl'), /concepts\.jsonl: example 1 of f:a has no contrast/);
});

test('experiment data: too few examples, unknown families and degenerate coefficients get messages naming the file or value', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kts-exp-bad-'));
  try {
    const file = join(dir, 'concepts.jsonl');
    writeFileSync(file, ['x', 'y'].flatMap((c) => Array.from({ length: c === 'x' ? 3 : 9 }, (_, i) => JSON.stringify({ family: 'f', concept: c, sentence: `${c} ${i}` }))).join('\n'));
    assert.throws(() => E.loadConceptFamilies(file), new RegExp(`${file.replace(/[/\\]/g, '.')}: concept 'x' \\(family 'f'\\) has 3 example\\(s\\); a vector needs at least 8`));
    const all = curve('original', [0, 0.1, 0.2], [0, 3, 5]);
    assert.throws(() => E.checkNotAllDegenerate(all, 1, '--coeffs'), /--coeffs: every coefficient \(1, 2\) gives the original model a side-effect KL above its entropy \(1\.000 nats\/token\) for 'c'; the smallest, 1, gives 3\.000/);
    E.checkNotAllDegenerate(curve('original', [0, 0.1, 0.2], [0, 0.5, 5]), 1, '--coeffs');
    assert.throws(() => E.configFor({ model: 'm', data: 'd', out: 'o', device: 'cpu', coeffs: [0.1, -1] }), /--coeffs: coefficients steer towards the concept and must be positive/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kts experiment end to end on a tiny model: summary schema, resume, and kts eval reproduces a reported KL', { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kts-exp-'));
  try {
    const model = await saveTinyModel(join(dir, 'tiny'), 3);
    const out = join(dir, 'results');
    const cfg: E.ExperimentConfig = {
      ...E.configFor({ model, data: 'data', out, device: 'cpu' }),
      trainFamilies: ['place', 'creature'], heldOutFamilies: ['weather', 'sentiment'], evalConcepts: [{ family: 'weather', concept: 'snowy' }],
      conceptsPerFamily: 2, examplesPerConcept: 8, coefficients: { count: 3, klLow: 0.003, beyond: [2], scanStep: 4 },
      kts: { steps: 3, batchSize: 8, lr: 1e-3, rank: 8, prob: 1, rangeFactor: 2, maxTokens: 32 }, seeds: [1, 2],
      controls: { random: true, inDist: true, seeds: [1], protocols: ['base', 'self'] }, benignEval: 16, behaviourPrompts: 16, generationPrompts: 8, continuationTokens: 4, bootstrap: 20, batchSize: 8,
    };
    const lines: string[] = [];
    const state = await E.runExperiment(cfg, (l) => lines.push(l));
    assert.ok(state);
    const s = await E.writeResults(state);
    for (const k of ['seeds', 'entropy', 'benignEval', 'trainConcepts', 'evalConcepts', 'maxAbsCosEvalTrain', 'curves', 'equalEffect', 'finding']) assert.ok(k in s, k);
    assert.deepEqual(s.seeds, [1, 2]);
    assert.ok(s.entropy > 0);
    assert.deepEqual(s.trainConcepts, ['beach', 'forest', 'dog', 'cat']);
    assert.deepEqual(s.evalConcepts, ['snowy']);
    assert.deepEqual(s.maxAbsCosEvalTrain.map((x) => x.layer), state.layers);
    assert.equal(s.maxAbsCosEvaluated.length, state.cfg.evalConcepts.length * state.layers.length);
    for (const x of s.maxAbsCosEvaluated) assert.ok(x.maxAbsCos <= Math.max(...s.maxAbsCosEvalTrain.map((y) => y.maxAbsCos)) + 1e-4, JSON.stringify(x)); // rounded to 4 digits
    const models = new Set(s.curves.map((r) => `${r.model}/${r.vectorSource}`));
    assert.deepEqual([...models].sort(), ['kts-in-dist/base', 'kts-in-dist/self', 'kts-random/base', 'kts-random/self', 'kts/base', 'kts/self', 'original/base', 'original/self']);
    for (const r of s.curves) {
      for (const k of ['coeff', 'rawCoeff', 'steeringEffect', 'sideEffectKL'] as const) assert.ok(Number.isFinite(r[k]), `${k} ${JSON.stringify(r)}`);
      assert.equal(r.degenerate, r.sideEffectKL > s.entropy);
      if (r.model === 'original' && r.coeff === 0) assert.equal(r.sideEffectKL, 0);
      if (r.coeff === 0) assert.equal(r.steeringEffect, 0);
      assert.ok(existsSync(join(out, r.vectorFile)), r.vectorFile);
    }
    assert.equal(s.equalEffect.filter((e) => e.model === 'kts').length, 2 * 3, 'two vector sources × three levels');
    assert.equal(typeof s.finding.holds, 'boolean');
    assert.ok(s.costAtZero.kts!.perSeed.length === 2);
    assert.equal(readFileSync(join(out, 'benign_eval.jsonl'), 'utf8').trim().split('\n').length, 16);
    for (const f of ['summary.json', 'report.md', 'curves.svg', 'ratios.svg', 'adapters/seed-1/adapter_config.json', 'adapters/kts-random-seed-1/adapter_model.safetensors', 'vectors/snowy.gguf', 'vectors/beach.gguf']) {
      assert.ok(existsSync(join(out, f)), f);
    }
    assert.match(readFileSync(join(out, 'curves.svg'), 'utf8'), /^<svg/);

    // Resume: a second run reads every curve and adapter back and writes the same summary.
    const again = await E.runExperiment(cfg, () => {});
    assert.ok(again);
    assert.deepEqual((await E.writeResults(again)).curves, s.curves);

    // kts eval on a written adapter and vector at a reported raw coefficient gives the reported KL.
    const row = s.curves.find((r) => r.model === 'kts' && r.seed === 1 && r.vectorSource === 'base' && r.coeff > 0 && !r.degenerate) ?? s.curves.find((r) => r.model === 'kts' && r.seed === 1 && r.vectorSource === 'base' && r.coeff > 0)!;
    const report = join(dir, 'eval.json');
    execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', 'packages/steer/src/cli.ts', 'eval', '--model', model, '--adapter', join(out, 'adapters', 'seed-1'),
      '--vector', join(out, row.vectorFile), '--coeffs', String(row.rawCoeff), '--benign', join(out, 'benign_eval.jsonl'), '--out', report, '--device', 'cpu'], { stdio: 'ignore' });
    const kl = (JSON.parse(readFileSync(report, 'utf8')) as { rows: { model: string; sideEffectKL: number }[] }).rows.find((r) => r.model === 'kts')!.sideEffectKL;
    assert.ok(Math.abs(kl - row.sideEffectKL) <= 1e-5 * Math.max(1e-3, row.sideEffectKL), `kts eval ${kl} vs reported ${row.sideEffectKL}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('experiment data: the default data folder loads, with single-token targets for the evaluated concepts', async () => {
  const tok = await loadTokenizer('models/default');
  const cfg = E.configFor({ model: 'models/default', data: 'data', out: join(tmpdir(), 'unused'), device: 'cpu' });
  const data = E.loadExperimentData(cfg, tok, chatFormatterFor(tok));
  assert.equal(data.benignEval.length, cfg.benignEval);
  for (const b of data.benignEval) assert.ok(b.answerFrom > 0 && b.answerFrom < b.ids.length);
  assert.deepEqual(data.targets.get('weather:snowy'), [tok.encode('snowy', { bos: false })[0]]);
  assert.ok(data.targets.get('sentiment:negative')!.length >= 8);
  assert.ok(data.behaviour.get('weather')!.length >= cfg.behaviourPrompts);
});
