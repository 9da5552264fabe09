// From the experiment's measurements to what people read: summary.json (the schema of issue
// 10), report.md, curves.svg, ratios.svg and benign_eval.jsonl (exactly the texts the KL was
// computed on). The finding is the rule fixed before the run: KTS's side effects are lower at
// equal effect ("holds") only if the 95 % interval of the KL ratio lies below 1 at every effect
// level, for every held-out concept, with both base-model and re-extracted vectors.
import { join } from '@kts/tensor/host';
import { markdownTable, writeAtomic } from '../report.ts';
import type { ModelKind } from './config.ts';
import { type CurveRow, type RatioRow, curvesSvg, ratiosSvg } from './plots.ts';
import { adapterDirName, conceptName, type ExperimentState } from './run.ts';
import { maxAbsCos } from './vectors.ts';
import { bootstrapRatios, effectCurve, equalEffectRatios, meanCI, meanOf, pooledKL } from './stats.ts';

export interface SummaryCurve extends CurveRow {
  rawCoeff: number;
  degenerate: boolean;
  /** Inside the coefficient range the model was trained on (always for the original). */
  inTrainedRange: boolean;
  /** The vector file rawCoeff multiplies, relative to the results folder. */
  vectorFile: string;
  accuracy: number;
  answerNLL: number;
  continuationRate: number;
  badGenerationRate: number;
}

export interface EqualEffect {
  model: ModelKind;
  concept: string;
  vectorSource: string;
  level: number;
  effect: number;
  originalKL: number;
  klRatio: { mean: number | null; ci95: [number | null, number | null] };
  seedsReached: number;
}

export interface Summary {
  seeds: number[];
  entropy: number;
  benignEval: string;
  trainConcepts: string[];
  evalConcepts: string[];
  heldOutFamilies: string[];
  /** Largest |cos| per layer between any held-out vector (evaluated or not) and any training vector. */
  maxAbsCosEvalTrain: ExperimentState['maxAbsCos'];
  /** The same for each evaluated vector alone: the vectors the finding rests on. */
  maxAbsCosEvaluated: { concept: string; layer: number; maxAbsCos: number; train: string }[];
  curves: SummaryCurve[];
  equalEffect: EqualEffect[];
  finding: { holds: boolean; statement: string };
  costAtZero: Record<string, { mean: number; sd: number; ci95: [number, number]; perSeed: number[]; accuracy: number }>;
  steerability: { concept: string; family: string; continuationRateUnsteered: number; continuationGain: number; maxEffectBelowQuarterEntropy: number; coeff: number; sideEffectKL: number; steerable: boolean }[];
  settings: Record<string, unknown>;
}

/** JSON has no Infinity or NaN: an unbounded ratio is null. */
const finite = (x: number): number | null => (Number.isFinite(x) ? +x.toPrecision(4) : null);

/** Benign questions the unsteered original answers correctly (greedy): accuracy is measured on these. */
function knownAnswers(state: ExperimentState): number[] {
  const correct = state.curves.find((c) => c.model === 'original')!.points[0]!.m.correct;
  return correct.flatMap((ok, i) => (ok ? [i] : []));
}

const accuracyOn = (correct: number[], known: number[]): number => meanOf(known.map((i) => correct[i]!));

function rows(state: ExperimentState): SummaryCurve[] {
  const out: SummaryCurve[] = [];
  const known = knownAnswers(state);
  for (const c of state.curves) {
    const pts = effectCurve(c);
    const selfFile = state.selfVectors.find((s) => s.model === c.model && s.seed === c.seed && s.concept === c.concept)?.file;
    const vectorFile = c.vectorSource === 'self' && c.model !== 'original' ? selfFile ?? '' : join('vectors', `${c.concept}.gguf`);
    c.points.forEach((p, i) => {
      out.push({
        model: c.model, seed: c.seed, concept: c.concept, vectorSource: c.vectorSource, coeff: p.coeff, rawCoeff: +p.rawCoeff.toPrecision(6),
        steeringEffect: pts[i]!.effect, sideEffectKL: pts[i]!.kl, degenerate: pts[i]!.kl > state.entropy, inTrainedRange: p.coeff <= c.trainedRange * (1 + 1e-9),
        vectorFile, accuracy: accuracyOn(p.m.correct, known), answerNLL: meanOf(p.m.answerNLL), continuationRate: meanOf(p.m.hit), badGenerationRate: meanOf(p.m.bad),
      });
    });
  }
  return out;
}

function evaluatedCos(state: ExperimentState): Summary['maxAbsCosEvaluated'] {
  const train = state.trainConcepts.map((n) => state.vectors.get(n)!);
  return state.cfg.evalConcepts.map(conceptName).flatMap((concept) =>
    maxAbsCos([state.vectors.get(concept)!], train, state.layers).map((x) => ({ concept, layer: x.layer, maxAbsCos: +x.maxAbsCos.toFixed(4), train: x.train })));
}

function equalEffects(state: ExperimentState): EqualEffect[] {
  const out: EqualEffect[] = [];
  const { cfg } = state;
  for (const concept of cfg.evalConcepts.map(conceptName)) {
    const original = state.curves.find((c) => c.model === 'original' && c.concept === concept && c.vectorSource === 'base')!;
    for (const vectorSource of cfg.protocols) {
      for (const model of ['kts', 'kts-random', 'kts-in-dist'] as const) {
        const kts = state.curves.filter((c) => c.model === model && c.concept === concept && c.vectorSource === vectorSource);
        if (!kts.length) continue;
        const est = equalEffectRatios(original, kts, state.entropy, cfg.levels);
        const ci = bootstrapRatios(original, kts, state.entropy, cfg.levels, cfg.bootstrap, 7);
        // No interval where the estimate itself is undefined (the original shows no effect at all).
        est.forEach((e, i) => out.push({
          model, concept, vectorSource, level: e.level, effect: +e.effect.toPrecision(4), originalKL: +e.originalKL.toPrecision(4),
          klRatio: { mean: finite(e.ratio), ci95: Number.isNaN(e.ratio) ? [null, null] : [finite(ci[i]![0]), finite(ci[i]![1])] }, seedsReached: e.seedsReached,
        }));
      }
    }
  }
  return out;
}

function finding(eq: EqualEffect[]): Summary['finding'] {
  const main = eq.filter((e) => e.model === 'kts');
  const below = main.filter((e) => e.klRatio.ci95[1] !== null && e.klRatio.ci95[1] < 1);
  const above = main.filter((e) => e.klRatio.ci95[0] !== null && e.klRatio.ci95[0] > 1);
  const holds = main.length > 0 && below.length === main.length;
  const fmt = (e: EqualEffect) => `${e.concept}/${e.vectorSource} at ${Math.round(e.level * 100)} %: ${e.klRatio.mean ?? '∞'} [${e.klRatio.ci95.map((x) => x ?? '∞').join(', ')}]`;
  const statement = holds
    ? `Holds: at equal steering effect the KTS models' side-effect KL is lower than the original's for every held-out concept, level and vector source (95 % CIs below 1). ${main.map(fmt).join('; ')}.`
    : `Does not hold by the pre-registered rule (every CI below 1): ${below.length} of ${main.length} (concept, vector source, level) cases have the CI below 1, ${above.length} above 1, the rest include 1 or are unbounded. ${main.map(fmt).join('; ')}.`;
  return { holds, statement };
}

function costAtZero(state: ExperimentState): Summary['costAtZero'] {
  const out: Summary['costAtZero'] = {};
  const first = conceptName(state.cfg.evalConcepts[0]!);
  for (const model of ['kts', 'kts-random', 'kts-in-dist']) {
    const cs = state.curves.filter((c) => c.model === model && c.concept === first && c.vectorSource === 'base');
    if (!cs.length) continue;
    const per = cs.map((c) => pooledKL(c.points[0]!.m));
    out[model] = { ...meanCI(per), perSeed: per, accuracy: meanOf(cs.map((c) => accuracyOn(c.points[0]!.m.correct, knownAnswers(state)))) };
  }
  return out;
}

/**
 * The issue's check: does a coefficient move the behaviour while the original's KL stays below a
 * quarter of its entropy? "Moves" = the share of greedy continuations with a target word rises
 * by at least one half (the target probability itself is reported too).
 */
function steerability(state: ExperimentState): Summary['steerability'] {
  return state.cfg.evalConcepts.map((c) => {
    const curve = state.curves.find((x) => x.model === 'original' && x.concept === conceptName(c) && x.vectorSource === 'base')!;
    const hit0 = meanOf(curve.points[0]!.m.hit);
    const pts = effectCurve(curve).map((p, i) => ({ ...p, gain: meanOf(curve.points[i]!.m.hit) - hit0 }));
    const ok = pts.filter((p) => p.kl < state.entropy / 4);
    const best = ok.reduce((a, p) => (p.gain > a.gain || (p.gain === a.gain && p.effect > a.effect) ? p : a), ok[0]!);
    return {
      concept: conceptName(c), family: c.family, continuationRateUnsteered: hit0, continuationGain: best.gain, maxEffectBelowQuarterEntropy: Math.max(...ok.map((p) => p.effect)),
      coeff: best.coeff, sideEffectKL: best.kl, steerable: best.gain >= 0.5,
    };
  });
}

function report(s: Summary, state: ExperimentState): string {
  const pct = (x: number) => `${Math.round(x * 100)} %`;
  const ratio = (e: EqualEffect) => `${e.klRatio.mean ?? '∞'} [${e.klRatio.ci95.map((x) => x ?? '∞').join(', ')}]`;
  const table = (model: string) => markdownTable(s.equalEffect.filter((e) => e.model === model).map((e) => ({
    concept: e.concept, vectors: e.vectorSource, level: pct(e.level), effect: e.effect, originalKL: e.originalKL, 'KL ratio [95 % CI]': ratio(e), seedsReached: e.seedsReached,
  })));
  const curveTable = (concept: string, source: string) => {
    const orig = s.curves.filter((r) => r.model === 'original' && r.concept === concept && r.vectorSource === source);
    const kts = s.curves.filter((r) => r.model === 'kts' && r.concept === concept && r.vectorSource === source);
    return markdownTable(orig.map((o) => {
      const k = kts.filter((r) => r.coeff === o.coeff);
      return {
        coeff: o.coeff, 'original effect': o.steeringEffect, 'original KL': o.sideEffectKL, 'original acc.': o.accuracy, 'original cont.': o.continuationRate, 'original bad gen.': o.badGenerationRate,
        'KTS effect': meanOf(k.map((r) => r.steeringEffect)), 'KTS KL': meanOf(k.map((r) => r.sideEffectKL)), 'KTS acc': meanOf(k.map((r) => r.accuracy)),
        'KTS bad gen.': meanOf(k.map((r) => r.badGenerationRate)), degenerate: o.degenerate ? 'yes' : '',
      };
    }));
  };
  const cfg = state.cfg;
  return [
    '# KTS experiment: does KL-then-steer lower side effects at equal steering effect?',
    '',
    `Model \`${cfg.model}\`, steering layers ${state.layers.join(', ')}, ${state.device} (${state.deviceDescription}); ${state.seconds.toFixed(0)} s for this invocation.`,
    '',
    `**Finding.** ${s.finding.statement}`,
    '',
    `Entropy of the original model on the ${cfg.benignEval} benign evaluation texts (\`benign_eval.jsonl\`): **${s.entropy.toFixed(4)} nats/token**. Points whose side-effect KL exceeds it are degenerate and are not used by the finding.`,
    '',
    `Training vectors: ${s.trainConcepts.length} (${cfg.trainFamilies.join(', ')}); held-out families: ${cfg.heldOutFamilies.join(', ')}; evaluated: ${s.evalConcepts.join(', ')}.`,
    `Largest |cos| between a held-out and a training vector: ${s.maxAbsCosEvalTrain.map((x) => `layer ${x.layer}: ${x.maxAbsCos.toFixed(3)} (${x.heldOut} / ${x.train})`).join('; ')}` +
      `${s.maxAbsCosEvalTrain.some((x) => x.maxAbsCos >= 0.5) ? ' (at or above 0.5: that held-out vector is not clean; it is not one of the evaluated vectors, which are listed next)' : ''}.`,
    `Largest |cos| between each evaluated vector and any training vector: ${s.maxAbsCosEvaluated.map((x) => `${x.concept} layer ${x.layer}: ${x.maxAbsCos.toFixed(3)} (${x.train})`).join('; ')}.`,
    '',
    '## Steerability of the original model (with KL < entropy / 4: the largest rise in the share of greedy continuations naming the target, and the largest rise in its probability)',
    '',
    markdownTable(s.steerability.map((x) => ({ ...x, steerable: x.steerable ? 'yes' : 'no' }))),
    '',
    '## Cost of KTS when not steered (KL to the original at coefficient 0, nats/token)',
    '',
    markdownTable(Object.entries(s.costAtZero).map(([model, c]) => ({ model, mean: c.mean, sd: c.sd, 'ci95 lo': c.ci95[0], 'ci95 hi': c.ci95[1], seeds: c.perSeed.length, 'accuracy at 0': c.accuracy }))),
    '',
    '## KL ratio at equal effect (KTS / original), held-out vectors',
    '',
    table('kts'),
    '',
    '## Controls',
    '',
    'KTS trained on random directions of matched norm:',
    '',
    table('kts-random'),
    '',
    'KTS trained with the evaluated vectors included (in-distribution upper bound):',
    '',
    table('kts-in-dist'),
    '',
    '## Curves (original, and the mean over KTS seeds)',
    '',
    ...cfg.evalConcepts.map(conceptName).flatMap((c) => cfg.protocols.flatMap((p) => [`### ${c}, ${p} vectors`, '', curveTable(c, p), ''])),
    '## Settings',
    '',
    '```json',
    JSON.stringify(s.settings, null, 2),
    '```',
    '',
  ].join('\n');
}

export async function writeResults(state: ExperimentState): Promise<Summary> {
  const { cfg } = state;
  writeAtomic(join(cfg.out, 'benign_eval.jsonl'), state.benign.map((r) => JSON.stringify({ prompt: r.prompt, response: r.response })).join('\n') + '\n');
  const eq = equalEffects(state);
  const summary: Summary = {
    seeds: cfg.seeds, entropy: state.entropy, benignEval: 'benign_eval.jsonl', trainConcepts: state.trainConcepts, evalConcepts: cfg.evalConcepts.map(conceptName),
    heldOutFamilies: cfg.heldOutFamilies, maxAbsCosEvalTrain: state.maxAbsCos, maxAbsCosEvaluated: evaluatedCos(state), curves: rows(state), equalEffect: eq, finding: finding(eq),
    costAtZero: costAtZero(state), steerability: steerability(state),
    settings: {
      model: cfg.model, data: cfg.data, layers: state.layers, device: state.device, negatives: cfg.negatives, examplesPerConcept: cfg.examplesPerConcept,
      coefficients: cfg.coefficients, grids: state.grids, trainedRange: state.trainedRange, kts: cfg.kts, controls: cfg.controls, protocols: cfg.protocols,
      benignEval: cfg.benignEval, behaviourPrompts: cfg.behaviourPrompts, generationPrompts: cfg.generationPrompts, continuationTokens: cfg.continuationTokens,
      levels: cfg.levels, bootstrap: cfg.bootstrap, residualNorms: state.residualNorms, scales: Object.fromEntries(state.scales),
      adapters: state.training.map((t) => ({ ...t, adapter: join('adapters', adapterDirName(t.model, t.seed)) })),
    },
  };
  writeAtomic(join(cfg.out, 'summary.json'), `${JSON.stringify(summary, null, 1)}\n`);
  writeAtomic(join(cfg.out, 'report.md'), report(summary, state));
  writeAtomic(join(cfg.out, 'curves.svg'), await curvesSvg(summary.curves, state.entropy, 'Steering effect vs side effects: original and KTS (held-out vectors)'));
  const ratioRows: RatioRow[] = eq.map((e) => ({ model: e.model, concept: e.concept, vectorSource: e.vectorSource, level: e.level, mean: e.klRatio.mean, lo: e.klRatio.ci95[0], hi: e.klRatio.ci95[1] }));
  writeAtomic(join(cfg.out, 'ratios.svg'), await ratiosSvg(ratioRows, 'KL ratio at equal effect (below 1: KTS has fewer side effects)'));
  return summary;
}

