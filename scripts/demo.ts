// The main job: KL-then-steer end to end on the embedded default model, in a few minutes.
//
//   npm run demo                 (WebGPU when an adapter exists, else the CPU backend)
//   npm run demo -- --device cpu
//
// 1. extract two steering vectors (sentiment, topic) from contrast pairs;
// 2. sweep the steering coefficient on the original model: steering effect and side effects;
// 3. train KTS adapters (LoRA, KL to the original model under random steering);
// 4. sweep the KTS model the same way;
// 5. report: table, demo-output/summary.json, a plot, and steered generations side by side.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { generate, loadModel, loadTokenizer, type LlamaForCausalLM, type SteerSpec } from '@kts/llama';
import {
  type EvalModel, Progress, type SweepRow, SteeringVector, batchSteer, chatFormatterFor, conceptPairs,
  extractVector, formatPair, loadBenign, loadConcepts, loadPairs, markdownTable, releaseDevice, selectDevice, withAdaptersAsync,
  sweep, sweepPlotSvg, tokenizeFormatted, trainKTS,
} from '@kts/steer';

const program = new Command('demo')
  .option('--device <d>', 'auto | cpu | webgpu', 'auto')
  .option('--model <dir>', 'model folder', 'models/default')
  .option('--out <dir>', 'output folder', 'demo-output')
  .option('--steps <n>', 'KTS training steps', (v) => Number(v), 60)
  .option('--quick', 'a smaller run (for tests)', false)
  .option('--verbose', "show Dawn's native warnings (hidden by @kts/webgpu/quiet; or set KTS_DEBUG=1)")
  .parse();
const o = program.opts<{ device: string; model: string; out: string; steps: number; quick: boolean }>();

// Demo settings. Coefficients multiply mean-difference vectors, so 1 = one "average" shift.
const COEFFS = (process.env.KTS_DEMO_COEFFS ?? '0,1,2,3,4,5').split(',').map(Number);
const OPERATING_COEFF = Number(process.env.KTS_DEMO_OP ?? 4);
/** Generations use a milder coefficient: at 4 this small model's text already degenerates. */
const GEN_COEFF = 2;
const KTS = { coeff: Number(process.env.KTS_DEMO_C ?? 4), prob: Number(process.env.KTS_DEMO_P ?? 0.5), lr: Number(process.env.KTS_DEMO_LR ?? 1e-3), rank: 8, batchSize: 8, maxTokens: 96 };
const N_EVAL = o.quick ? 8 : 24;

const started = performance.now();
const say = (s: string) => process.stdout.write(`${s}\n`);
mkdirSync(o.out, { recursive: true });

const choice = await selectDevice(o.device as 'auto' | 'cpu' | 'webgpu');
say(`backend: ${choice.description}`);
const device = choice.device;
const base = await loadModel(o.model, { device });
const tok = await loadTokenizer(o.model);
const format = chatFormatterFor(tok);
const layers = [1, 2].filter((l) => l < base.numLayers);
say(`model: ${o.model} (${base.numLayers} layers, dim ${base.config.hiddenSize}, vocab ${base.config.vocabSize}); steering layers ${layers.join(', ')}`);

// ---- data: half of each contrast set extracts the vector, the other half measures behaviour ----
const enc = (text: string) => tok.encode(text, { bos: true });
const sentimentPairs = loadPairs('data/sentiment_pairs.jsonl').pairs;
const concepts = loadConcepts('data/concepts.jsonl');
const half = <T>(xs: T[]) => [xs.slice(0, Math.ceil(xs.length / 2)), xs.slice(Math.ceil(xs.length / 2))] as const;
const [sentTrain, sentEval] = half(sentimentPairs);
const trainConcepts = new Map([...concepts].map(([c, ss]) => [c, half(ss)[0]]));
const evalConcepts = new Map([...concepts].map(([c, ss]) => [c, half(ss)[1]]));
const TOPIC = 'space';
const topicTrain = conceptPairs(trainConcepts, TOPIC, false);
const topicEval = conceptPairs(evalConcepts, TOPIC, false);
const benignEval = loadBenign('data/benign_eval.jsonl').slice(0, N_EVAL).map((r) => tokenizeFormatted(tok, formatPair(format, r.prompt, r.response!)).ids);
const benignTrain = loadBenign('data/benign_train.jsonl').map((r) => tokenizeFormatted(tok, formatPair(format, r.prompt, r.response!)).ids);
const behaviourOf = (pairs: { positive: string; negative: string }[]) => ({ kind: 'pairs' as const, pairs: pairs.slice(0, N_EVAL).map((p) => ({ positive: enc(p.positive), negative: enc(p.negative) })) });

// ---- 1. steering vectors ----
// Evaluated: sentiment and the "space" topic. KTS trains on the OTHER topics' vectors, so the
// evaluation asks the paper's question: does robustness to random steering carry over to
// vectors the adapters never saw?
let t = performance.now();
const vectors: Record<string, SteeringVector> = {
  // Minimal pairs differ from where the sentiment starts to the end: average over the whole text.
  sentiment: await extractVector(base, tok, sentTrain, { layers, method: 'mean-diff', position: 'answer-mean', device, meta: { concept: 'sentiment' } }),
  [TOPIC]: await extractVector(base, tok, topicTrain, { layers, method: 'mean-diff', device, meta: { concept: TOPIC } }),
};
const trainingVectors: SteeringVector[] = [];
for (const concept of [...concepts.keys()].filter((c) => c !== TOPIC)) {
  trainingVectors.push(await extractVector(base, tok, conceptPairs(trainConcepts, concept, false), { layers, method: 'mean-diff', device, meta: { concept } }));
}
for (const [name, v] of Object.entries(vectors)) v.save(join(o.out, `${name}.gguf`), { layerCount: base.numLayers });
say(`vectors: sentiment (${sentTrain.length} pairs), ${TOPIC} (${topicTrain.length} pairs); KTS trains on ${trainingVectors.map((v) => v.meta.concept).join(', ')}; layers ${layers.join(',')} — ${((performance.now() - t) / 1000).toFixed(1)} s; norms ${[...Object.values(vectors), ...trainingVectors].map((v) => `${v.meta.concept} ${v.norm(layers[0]!).toFixed(2)}`).join(', ')}`);

async function evaluate(models: EvalModel[], label: string): Promise<SweepRow[]> {
  const rows: SweepRow[] = [];
  const progress = new Progress(`eval ${label}`, models.length * COEFFS.length * 2, { every: 5 });
  let done = 0;
  for (const [concept, pairs] of [['sentiment', sentEval], [TOPIC, topicEval]] as const) {
    rows.push(...await sweep(models, {
      concept, vector: vectors[concept]!, layers, coeffs: COEFFS, benign: benignEval, behaviour: behaviourOf(pairs), device, batchSize: 8,
      onRow: () => progress.update(++done),
    }));
  }
  progress.stop();
  return rows;
}

// ---- 2. original model ----
t = performance.now();
const original: EvalModel = { name: 'original', model: base, lora: null };
const rows = await evaluate([original], 'original');
say(`original sweep: ${((performance.now() - t) / 1000).toFixed(1)} s`);

// ---- 3. KTS training ----
t = performance.now();
const ktsBase = await loadModel(o.model, { device });
const steps = o.quick ? Math.min(o.steps, 10) : o.steps;
const progress = new Progress('kts train', steps, { every: 10 });
const trained = await trainKTS(ktsBase, benignTrain, trainingVectors, {
  steps, layers, seed: 0, device, ...KTS,
  onStep: (s) => progress.update(s.step, { loss: s.loss, tokens: s.tokens }),
});
progress.stop();
const history = trained.history;
say(`KTS: ${steps} steps in ${((performance.now() - t) / 1000).toFixed(1)} s; mean loss first 10 ${mean(history.slice(0, 10).map((h) => h.loss)).toFixed(5)}, last 10 ${mean(history.slice(-10).map((h) => h.loss)).toFixed(5)}`);

// ---- 4. KTS model ----
t = performance.now();
const kts: EvalModel = { name: 'kts', model: ktsBase, lora: trained.lora };
rows.push(...await evaluate([kts], 'kts'));
say(`KTS sweep: ${((performance.now() - t) / 1000).toFixed(1)} s`);

// ---- 5. report ----
function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

/** Linear interpolation of y at x along points sorted by x (clamped to the ends). */
function interpolate(points: { x: number; y: number }[], x: number): number {
  const p = [...points].sort((a, b) => a.x - b.x);
  if (x <= p[0]!.x) return p[0]!.y;
  for (let i = 1; i < p.length; i++) {
    if (x <= p[i]!.x) {
      const f = (x - p[i - 1]!.x) / (p[i]!.x - p[i - 1]!.x || 1);
      return p[i - 1]!.y + f * (p[i]!.y - p[i - 1]!.y);
    }
  }
  return p.at(-1)!.y;
}

const pick = (model: string, concept: string) => rows.filter((r) => r.model === model && r.concept === concept);
const findings = Object.keys(vectors).map((concept) => {
  const orig = pick('original', concept).find((r) => r.coeff === OPERATING_COEFF)!;
  const ktsRows = pick('kts', concept);
  // Compare at equal steering effect: the KTS coefficient that reaches the original's effect.
  const ktsCoeff = interpolate(ktsRows.map((r) => ({ x: r.steeringEffect, y: r.coeff })), orig.steeringEffect);
  const ktsEffect = interpolate(ktsRows.map((r) => ({ x: r.coeff, y: r.steeringEffect })), ktsCoeff);
  const ktsKL = interpolate(ktsRows.map((r) => ({ x: r.coeff, y: r.sideEffectKL })), ktsCoeff);
  const reached = Math.abs(ktsEffect - orig.steeringEffect) <= 0.05 * Math.abs(orig.steeringEffect) + 1e-9;
  return {
    concept, holds: reached && ktsKL < orig.sideEffectKL, coeff: OPERATING_COEFF, ktsCoeff: +ktsCoeff.toFixed(3), reachedEqualEffect: reached,
    original: { steeringEffect: orig.steeringEffect, sideEffectKL: orig.sideEffectKL },
    kts: { steeringEffect: ktsEffect, sideEffectKL: ktsKL },
  };
});
// The headline finding is for the topic vector: the sentiment vector barely moves this small model.
const finding = findings.find((f) => f.concept === TOPIC)!;

say('');
say(markdownTable(rows.map((r) => ({ model: r.model, concept: r.concept, coeff: r.coeff, steeringEffect: r.steeringEffect, sideEffectKL: r.sideEffectKL }))));
say('');
for (const f of findings) {
  const ratio = f.original.sideEffectKL / Math.max(f.kts.sideEffectKL, 1e-12);
  say(`${f.concept}: at coefficient ${f.coeff} the original model's steering effect is ${f.original.steeringEffect.toFixed(4)} with side-effect KL ${f.original.sideEffectKL.toFixed(5)}; ` +
    `the KTS model reaches ${f.kts.steeringEffect.toFixed(4)} at coefficient ${f.ktsCoeff} with side-effect KL ${f.kts.sideEffectKL.toFixed(5)} (${ratio.toFixed(2)}× ${ratio >= 1 ? 'lower' : 'higher'}). ` +
    `Paper's finding (equal effect, lower side effects after KTS) ${f.holds ? 'HOLDS' : 'DOES NOT HOLD'} here${f.reachedEqualEffect ? '' : ' (the KTS sweep did not reach the same effect)'}.`);
}

// Steered generations side by side.
const prompts = ['Tell me a story about the sea.', 'Tell me a story about school.'];
const promptIds = prompts.map((p) => tokenizeFormatted(tok, formatPair(format, p, '')).ids);
const gen = async (m: LlamaForCausalLM, lora: typeof trained.lora | null, adapters: boolean, coeff: number) => {
  const steer = batchSteer(vectors[TOPIC]!, layers, promptIds.map(() => coeff), device) as SteerSpec | undefined;
  const out = await withAdaptersAsync(lora, adapters, () => generate(m, promptIds, { maxNewTokens: 48, steer }));
  return out.map((ids) => tok.decode(ids).trim());
};
const generations = {
  originalUnsteered: await gen(base, null, false, 0),
  originalSteered: await gen(base, null, false, GEN_COEFF),
  ktsSteered: await gen(ktsBase, trained.lora, true, GEN_COEFF),
};
say('');
prompts.forEach((p, i) => {
  say(`### ${p}`);
  say(`- original, unsteered: ${generations.originalUnsteered[i]}`);
  say(`- original, ${TOPIC} ×${GEN_COEFF}: ${generations.originalSteered[i]}`);
  say(`- KTS, ${TOPIC} ×${GEN_COEFF}: ${generations.ktsSteered[i]}`);
});

const seconds = (performance.now() - started) / 1000;
const summary = {
  backend: device, backendDescription: choice.description, seconds: +seconds.toFixed(1),
  settings: { coeffs: COEFFS, operatingCoeff: OPERATING_COEFF, generationCoeff: GEN_COEFF, layers, kts: { ...KTS, steps }, evalTexts: N_EVAL },
  sweep: rows.map((r) => ({ model: r.model, concept: r.concept, coeff: r.coeff, steeringEffect: r.steeringEffect, sideEffectKL: r.sideEffectKL })),
  finding: { holds: finding.holds, coeff: finding.coeff, ktsCoeff: finding.ktsCoeff, original: finding.original, kts: finding.kts },
  findings, ktsHistory: history, generations: { prompts, ...generations },
};
writeFileSync(join(o.out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
writeFileSync(join(o.out, 'sweep.md'), `${markdownTable(summary.sweep)}\n`);
writeFileSync(join(o.out, 'sweep.svg'), await sweepPlotSvg(rows, 'KTS on the default model: steering effect vs side effects'));
say(`\nwrote ${o.out}/summary.json, sweep.md, sweep.svg, sentiment.gguf, ${TOPIC}.gguf — ${seconds.toFixed(0)} s in all on ${device}`);
releaseDevice();
