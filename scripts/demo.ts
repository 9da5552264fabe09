// The main job in a few minutes: the KTS experiment's protocol (packages/steer/src/experiment)
// at demo size on the default model, printed next to the committed full run (results/kts).
//
//   npm run demo                 (WebGPU when an adapter exists, else the CPU backend)
//   npm run demo -- --device cpu
//
// Same protocol as `npm run experiment`: vectors for 16 concepts of four training families and
// for held-out families (weather, creature, sentiment); coefficients in residual-norm units,
// calibrated on the original model's KL; one KTS model trained on the training vectors only;
// both models swept with the held-out "snowy" and negative-sentiment vectors; the KL ratio at equal
// steering effect with a bootstrap interval over prompts, at non-degenerate points only.
// Smaller than the full run: 1 seed (not 5), no controls, base-model vectors only, 5+1
// coefficients (not 10+2), 300 KTS steps, 48 benign texts and 32 behaviour prompts.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { generate, loadModel, loadTokenizer, type SteerSpec } from '@kts/llama';
import { batchSteer, chatFormatterFor, experiment, formatPair, loadPeftAdapter, markdownTable, releaseDevice, tokenizeFormatted, withAdaptersAsync } from '@kts/steer';

const program = new Command('demo')
  .option('--device <d>', 'auto | cpu | webgpu', 'auto')
  .option('--model <dir>', 'model folder', 'models/default')
  .option('--data <dir>', 'data folder', 'data')
  .option('--out <dir>', 'output folder', 'demo-output')
  .option('--full <dir>', 'the committed full run to compare with', 'results/kts')
  .option('--steps <n>', 'KTS training steps', (v) => Number(v))
  .parse();
const o = program.opts<{ device: string; model: string; data: string; out: string; full: string; steps?: number }>();

const started = performance.now();
const say = (s: string) => process.stdout.write(`${s}\n`);
const cfg = experiment.configFor({ model: o.model, data: o.data, out: join(o.out, 'experiment'), device: o.device as 'auto' | 'cpu' | 'webgpu', quick: true, steps: o.steps });
rmSync(cfg.out, { recursive: true, force: true }); // the demo always starts from scratch
mkdirSync(o.out, { recursive: true });

const state = await experiment.runExperiment(cfg, say);
if (!state) throw new Error('demo: stopped');
const summary = await experiment.writeResults(state);

// ---- the finding at the 50 % effect level of the held-out topic-like concept (weather: snowy) ----
const CONCEPT = 'snowy';
const curve = (model: string) => state.curves.filter((c) => c.model === model && c.concept === CONCEPT && c.vectorSource === 'base');
const origPts = experiment.effectCurve(curve('original')[0]!);
const ktsPts = experiment.effectCurve(curve('kts')[0]!);
const emax = experiment.maxNonDegenerateEffect(origPts, state.entropy);
const level = 0.5 * emax;
const atO = experiment.atEffect(origPts.filter((p) => p.kl <= state.entropy), level);
const atK = experiment.atEffect(ktsPts, level, state.trainedRange);
const eq = summary.equalEffect.find((e) => e.model === 'kts' && e.concept === CONCEPT && e.vectorSource === 'base' && e.level === 0.5)!;
const holds = eq.klRatio.ci95[1] !== null && eq.klRatio.ci95[1] < 1;
const finding = {
  holds, concept: CONCEPT, level: 0.5, coeff: atO ? +atO.coeff.toPrecision(4) : null, ktsCoeff: atK ? +atK.coeff.toPrecision(4) : null, reachedEqualEffect: atK !== null,
  original: { steeringEffect: level, sideEffectKL: atO?.kl ?? null }, kts: { steeringEffect: level, sideEffectKL: atK?.kl ?? null }, klRatio: eq.klRatio,
};

const sweep = summary.curves.filter((r) => r.vectorSource === 'base').map((r) => ({ model: r.model, concept: r.concept, coeff: r.coeff, steeringEffect: r.steeringEffect, sideEffectKL: r.sideEffectKL, degenerate: r.degenerate }));
say('');
say(markdownTable(sweep.map((r) => ({ ...r, degenerate: r.degenerate ? 'yes' : '' }))));
say('');
say(`entropy of the original on the benign texts: ${state.entropy.toFixed(4)} nats/token (points above it are degenerate and excluded); KTS costs ${summary.costAtZero.kts!.mean.toFixed(5)} nats/token unsteered`);
for (const e of summary.equalEffect) {
  say(`${e.concept}: at ${Math.round(e.level * 100)} % of the original's largest non-degenerate effect (Δp = ${e.effect}), KL ratio KTS/original ${e.klRatio.mean ?? '∞'} [95 % CI ${e.klRatio.ci95.map((x) => x ?? '∞').join(', ')}] (original KL ${e.originalKL})`);
}
say(`${CONCEPT} at the 50 % level: the original needs coefficient ${finding.coeff} (KL ${finding.original.sideEffectKL?.toFixed(4)}), the KTS model ${finding.ktsCoeff ?? 'more than its trained range'} (KL ${finding.kts.sideEffectKL?.toFixed(4) ?? '-'}). ` +
  `In this demo run (one seed, this vector and level only): Paper's finding (equal effect, lower side effects after KTS) ${holds ? 'HOLDS' : 'DOES NOT HOLD'} (the 95 % CI of the ratio ${holds ? 'lies below 1' : 'does not lie below 1'}).`);

// ---- next to the committed full run ----
const fullFile = join(o.full, 'summary.json');
if (existsSync(fullFile)) {
  const full = JSON.parse(readFileSync(fullFile, 'utf8')) as experiment.Summary;
  say(`\nCommitted full run (${o.full}: ${full.seeds.length} KTS seeds, controls, both vector protocols): ${full.finding.statement}`);
  const rows = summary.equalEffect.map((d) => {
    const f = full.equalEffect.find((x) => x.model === 'kts' && x.concept === d.concept && x.vectorSource === d.vectorSource && x.level === d.level);
    const r = (x?: experiment.EqualEffect) => (x ? `${x.klRatio.mean ?? '∞'} [${x.klRatio.ci95.map((v) => v ?? '∞').join(', ')}]` : '-');
    return { concept: d.concept, vectors: d.vectorSource, level: `${Math.round(d.level * 100)} %`, 'demo ratio [CI]': r(d), 'full run ratio [CI]': r(f) };
  });
  say(markdownTable(rows));
} else {
  say(`\n(no committed full run at ${fullFile}; npm run experiment writes it)`);
}

// ---- steered generations at a non-degenerate coefficient ----
const device = state.device;
const base = await loadModel(o.model, { device });
const ktsModel = await loadModel(o.model, { device });
const lora = loadPeftAdapter(ktsModel, join(cfg.out, 'adapters', experiment.adapterDirName('kts', cfg.seeds[0]!)));
const tok = await loadTokenizer(o.model);
const format = chatFormatterFor(tok);
const prompts = ['Tell me a story about a fox.', 'Tell me a story about the castle.'];
const ids = prompts.map((p) => tokenizeFormatted(tok, formatPair(format, p, '')).ids);
const vector = state.vectors.get(CONCEPT)!;
const genCoeff = finding.coeff ?? state.grids[CONCEPT]![1]!;
const gen = async (m: typeof base, adapters: typeof lora | null, coeff: number) => {
  const steer = batchSteer(vector, state.layers, ids.map(() => coeff * state.scales.get(CONCEPT)!), device) as SteerSpec | undefined;
  const outs = await withAdaptersAsync(adapters, true, () => generate(m, ids, { maxNewTokens: 56, steer }));
  return outs.map((x) => tok.decode(x).trim());
};
const ktsCoeff = finding.ktsCoeff ?? genCoeff;
const generations = { originalUnsteered: await gen(base, null, 0), originalSteered: await gen(base, null, genCoeff), ktsSteered: await gen(ktsModel, lora, ktsCoeff) };
say('');
prompts.forEach((p, i) => {
  say(`### ${p}`);
  say(`- original, unsteered: ${generations.originalUnsteered[i]}`);
  say(`- original, ${CONCEPT} ×${genCoeff.toPrecision(3)}: ${generations.originalSteered[i]}`);
  say(`- KTS, ${CONCEPT} ×${ktsCoeff.toPrecision(3)} (same effect): ${generations.ktsSteered[i]}`);
});

// ---- demo-output/: summary.json (the demo's schema), sweep.md, sweep.svg, the vectors ----
const seconds = (performance.now() - started) / 1000;
const training = state.training[0]!;
const out = {
  backend: device, backendDescription: state.deviceDescription, seconds: +seconds.toFixed(1),
  settings: { ...summary.settings, layers: state.layers, kts: { ...cfg.kts, coeff: state.trainedRange } },
  sweep, finding, findings: summary.equalEffect, entropy: state.entropy, costAtZero: summary.costAtZero,
  ktsHistory: { seconds: training.seconds, lossFirst: training.lossFirst, lossLast: training.lossLast },
  generations: { prompts, coefficient: genCoeff, ktsCoefficient: ktsCoeff, ...generations },
};
writeFileSync(join(o.out, 'summary.json'), `${JSON.stringify(out, null, 2)}\n`);
writeFileSync(join(o.out, 'sweep.md'), `${markdownTable(sweep.map((r) => ({ ...r, degenerate: r.degenerate ? 'yes' : '' })))}\n`);
copyFileSync(join(cfg.out, 'curves.svg'), join(o.out, 'sweep.svg'));
for (const c of cfg.evalConcepts.map(experiment.conceptName)) copyFileSync(join(cfg.out, 'vectors', `${c}.gguf`), join(o.out, `${c}.gguf`));
say(`\nwrote ${o.out}/summary.json, sweep.md, sweep.svg, ${cfg.evalConcepts.map(experiment.conceptName).join('.gguf, ')}.gguf and the protocol's outputs in ${cfg.out}/ — ${seconds.toFixed(0)} s in all on ${device}`);
releaseDevice();
