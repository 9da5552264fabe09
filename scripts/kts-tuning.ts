// Chooses the KTS training regime (p, lr, steps) for `npm run experiment` without looking at the
// experiment's held-out families or its benign evaluation set: the experiment's protocol on
// training families only — KTS trains on places, activities and colours, the "held-out"
// validation family is object (a training family in the real run), and side effects are
// measured on 80 texts split off benign_train (KTS trains on the other 400).
//
//   node --conditions=source --import tsx scripts/kts-tuning.ts [--device auto] [--out results/kts/tuning]
//
// Rule, fixed before running: among regimes whose unsteered cost (KL at coefficient 0) is at
// most 0.002 nats/token, the lowest KL ratio at 50 % of the original's largest non-degenerate
// effect wins. Resumable like the experiment (each regime's work folder is kept).
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { experiment as E, markdownTable, releaseDevice } from '@kts/steer';

const o = new Command('kts-tuning')
  .option('--device <d>', 'auto | cpu | webgpu', 'auto')
  .option('--model <dir>', 'model folder', 'models/default')
  .option('--out <dir>', 'output folder', 'results/kts/tuning')
  .option('--work <dir>', 'resumable state', 'runs/kts-tuning')
  .parse()
  .opts<{ device: string; model: string; out: string; work: string }>();

const REGIMES = [
  { name: 'p0.5-lr1e-3-300', prob: 0.5, lr: 1e-3, steps: 300 },
  { name: 'p0.125-lr1e-3-1000', prob: 0.125, lr: 1e-3, steps: 1000 },
  { name: 'p0.25-lr1e-3-1000', prob: 0.25, lr: 1e-3, steps: 1000 },
  { name: 'p0.5-lr1e-3-1000', prob: 0.5, lr: 1e-3, steps: 1000 },
  { name: 'p0.5-lr3e-4-1000', prob: 0.5, lr: 3e-4, steps: 1000 },
  // Added after the five above all cost 0.017–0.031 nats/token unsteered: shorter or slower training.
  { name: 'p0.5-lr1e-3-100', prob: 0.5, lr: 1e-3, steps: 100 },
  { name: 'p0.125-lr1e-4-1000', prob: 0.125, lr: 1e-4, steps: 1000 },
];
const MAX_COST = 0.002;

// Validation data: benign_train split 400 / 80; everything else as shipped.
const data = join(o.work, 'data');
mkdirSync(data, { recursive: true });
for (const f of ['concepts.jsonl', 'sentiment_pairs.jsonl', 'behaviour_eval.jsonl', 'lexicon.json']) copyFileSync(join('data', f), join(data, f));
const train = readFileSync('data/benign_train.jsonl', 'utf8').trim().split('\n');
writeFileSync(join(data, 'benign_train.jsonl'), `${train.slice(0, 400).join('\n')}\n`);
writeFileSync(join(data, 'benign_eval.jsonl'), `${train.slice(400).join('\n')}\n`);

const rows: Record<string, string | number>[] = [];
let first: E.ExperimentConfig | null = null;
for (const r of REGIMES) {
  const base = E.configFor({ model: o.model, data, out: join(o.work, r.name), device: o.device as 'auto' | 'cpu' | 'webgpu' });
  const cfg: E.ExperimentConfig = {
    ...base, trainFamilies: ['place', 'activity', 'color'], heldOutFamilies: ['object'], evalConcepts: [{ family: 'object', concept: 'kite' }],
    kts: { ...base.kts, prob: r.prob, lr: r.lr, steps: r.steps }, seeds: [1], controls: { random: false, inDist: false, seeds: [], protocols: [] },
    protocols: ['base'], benignEval: 80, bootstrap: 500,
  };
  // The vectors, the coefficient grid and the original's curve do not depend on the regime.
  if (first && !existsSync(join(cfg.work, 'grids.json'))) {
    cpSync(join(first.out, 'vectors'), join(cfg.out, 'vectors'), { recursive: true });
    mkdirSync(join(cfg.work, 'curves'), { recursive: true });
    copyFileSync(join(first.work, 'grids.json'), join(cfg.work, 'grids.json'));
    copyFileSync(join(first.work, 'curves', 'original-0-kite-base.json'), join(cfg.work, 'curves', 'original-0-kite-base.json'));
  }
  const state = await E.runExperiment(cfg, (l) => process.stderr.write(`[${r.name}] ${l}\n`));
  if (!state) throw new Error('stopped');
  const s = await E.writeResults(state);
  first ??= cfg;
  const ratio = (level: number) => s.equalEffect.find((e) => e.level === level)!.klRatio;
  const fmt = (x: E.EqualEffect['klRatio']) => `${x.mean ?? '∞'} [${x.ci95.map((v) => v ?? '∞').join(', ')}]`;
  rows.push({
    regime: r.name, p: r.prob, lr: r.lr, steps: r.steps, 'cost at 0 (nats/token)': s.costAtZero.kts!.mean,
    'ratio 25 %': fmt(ratio(0.25)), 'ratio 50 %': fmt(ratio(0.5)), 'ratio 75 %': fmt(ratio(0.75)), _r50: ratio(0.5).mean ?? Infinity,
  });
}
const ok = rows.filter((x) => (x['cost at 0 (nats/token)'] as number) <= MAX_COST);
const best = (ok.length ? ok : rows).reduce((a, b) => ((b._r50 as number) < (a._r50 as number) ? b : a));
const table = markdownTable(rows.map(({ _r50, ...x }) => x));
mkdirSync(o.out, { recursive: true });
writeFileSync(join(o.out, 'tuning.md'), [
  '# KTS regime for the experiment, chosen on training families only',
  '',
  'KTS trained on place, activity and colour vectors; validated on the object family\'s "kite" vector; side effects on 80 texts split off benign_train (KTS trained on the other 400). One seed per regime.',
  `Rule (fixed before running): among regimes with unsteered cost ≤ ${MAX_COST} nats/token, the lowest KL ratio at 50 % of the original's largest non-degenerate effect.`,
  '',
  table,
  '',
  `Chosen: **${best.regime}**${ok.length ? '' : ` (no regime met the cost bound; the lowest ratio was taken)`}.`,
  '',
].join('\n'));
process.stdout.write(`${table}\nchosen: ${best.regime}\n`);
releaseDevice();
