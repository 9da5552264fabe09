// The experiment's two plots as SVG (Vega-Lite rendered headless, like report.ts):
//   curves.svg  steering effect against side-effect KL (log x), a panel per concept and vector
//               source; the original, every KTS seed (thin) and their mean (thick, labelled by
//               coefficient), the controls' means; the degenerate region (KL > entropy) shaded;
//   ratios.svg  KL ratio (KTS / original) at equal effect against the effect level, with 95 %
//               bootstrap intervals, held-out KTS and the controls side by side.
import * as vega from 'vega';
import * as vl from 'vega-lite';

export interface CurveRow {
  model: string;
  seed: number | null;
  concept: string;
  vectorSource: string;
  coeff: number;
  steeringEffect: number;
  sideEffectKL: number;
}

export interface RatioRow {
  model: string;
  concept: string;
  vectorSource: string;
  level: number;
  mean: number | null;
  lo: number | null;
  hi: number | null;
}

const render = (spec: vl.TopLevelSpec): Promise<string> => new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' }).toSVG();

const MODEL_COLORS = { domain: ['original', 'kts', 'kts-random', 'kts-in-dist'], range: ['#444444', '#d62728', '#1f77b4', '#2ca02c'] };

/** Mean over seeds at each coefficient (effect and KL averaged). */
function seedMeans(rows: CurveRow[]): CurveRow[] {
  const groups = new Map<string, CurveRow[]>();
  for (const r of rows) {
    const k = `${r.model}|${r.concept}|${r.vectorSource}|${r.coeff}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((g) => ({
    ...g[0]!, seed: null,
    steeringEffect: g.reduce((a, r) => a + r.steeringEffect, 0) / g.length,
    sideEffectKL: g.reduce((a, r) => a + r.sideEffectKL, 0) / g.length,
  }));
}

export async function curvesSvg(rows: CurveRow[], entropy: number, title: string): Promise<string> {
  const positive = rows.filter((r) => r.sideEffectKL > 0);
  const maxKL = Math.max(...positive.map((r) => r.sideEffectKL), entropy * 2);
  const panels = [...new Set(rows.map((r) => `${r.concept}|${r.vectorSource}`))].map((k) => {
    const [concept, vectorSource] = k.split('|');
    return { concept, vectorSource, x: entropy, x2: maxKL };
  });
  const means = seedMeans(positive).map((r) => ({ ...r, label: r.coeff.toPrecision(2), layer: 'mean' }));
  const seeds = positive.filter((r) => r.model === 'kts').map((r) => ({ ...r, layer: 'seed' }));
  const spec: vl.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    data: { values: [...means, ...seeds, ...panels.map((p) => ({ ...p, layer: 'degenerate' }))] },
    facet: { column: { field: 'concept', type: 'nominal', title: null }, row: { field: 'vectorSource', type: 'nominal', title: 'vector source' } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 300,
      height: 230,
      layer: [
        {
          transform: [{ filter: "datum.layer === 'degenerate'" }],
          mark: { type: 'rect', color: '#bbbbbb', opacity: 0.3 },
          encoding: { x: { field: 'x', type: 'quantitative', scale: { type: 'log' } }, x2: { field: 'x2' } },
        },
        {
          transform: [{ filter: "datum.layer === 'seed'" }],
          mark: { type: 'line', strokeWidth: 0.8, opacity: 0.35 },
          encoding: {
            x: { field: 'sideEffectKL', type: 'quantitative', scale: { type: 'log' } }, y: { field: 'steeringEffect', type: 'quantitative' },
            detail: { field: 'seed', type: 'nominal' }, order: { field: 'coeff', type: 'quantitative' }, color: { field: 'model', type: 'nominal', scale: MODEL_COLORS },
          },
        },
        {
          transform: [{ filter: "datum.layer === 'mean'" }],
          mark: { type: 'line', point: true, strokeWidth: 2 },
          encoding: {
            x: { field: 'sideEffectKL', type: 'quantitative', scale: { type: 'log' }, title: 'side-effect KL on benign text (nats/token, log)' },
            y: { field: 'steeringEffect', type: 'quantitative', title: 'steering effect (Δ target probability)' },
            color: { field: 'model', type: 'nominal', scale: MODEL_COLORS, title: 'model' }, order: { field: 'coeff', type: 'quantitative' },
          },
        },
        {
          transform: [{ filter: "datum.layer === 'mean' && (datum.model === 'original' || datum.model === 'kts')" }],
          mark: { type: 'text', dx: 7, dy: -6, fontSize: 8 },
          encoding: {
            x: { field: 'sideEffectKL', type: 'quantitative', scale: { type: 'log' } }, y: { field: 'steeringEffect', type: 'quantitative' },
            text: { field: 'label' }, color: { field: 'model', type: 'nominal', scale: MODEL_COLORS },
          },
        },
      ],
    },
  };
  return render(spec);
}

/** Ratios are drawn on a log axis capped at `cap` (an unbounded interval ends there). */
export async function ratiosSvg(rows: RatioRow[], title: string, cap = 10): Promise<string> {
  const clip = (x: number | null) => (x === null ? cap : Math.min(cap, Math.max(1 / cap, x)));
  const values = rows.filter((r) => r.mean !== null).map((r) => ({ ...r, mean: clip(r.mean), lo: clip(r.lo), hi: clip(r.hi), levelPct: `${Math.round(r.level * 100)} %` }));
  const spec: vl.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    data: { values },
    facet: { column: { field: 'concept', type: 'nominal', title: null }, row: { field: 'vectorSource', type: 'nominal', title: 'vector source' } },
    spec: {
      width: 220,
      height: 200,
      layer: [
        { mark: { type: 'rule', strokeDash: [4, 3], color: '#888888' }, encoding: { y: { datum: 1, type: 'quantitative' } } },
        {
          mark: { type: 'errorbar', ticks: true },
          encoding: {
            x: { field: 'levelPct', type: 'ordinal', title: 'effect level (share of the original\'s largest non-degenerate effect)' },
            xOffset: { field: 'model', type: 'nominal' },
            y: { field: 'lo', type: 'quantitative', scale: { type: 'log', domain: [1 / cap, cap] }, title: 'KL ratio KTS / original at equal effect (95 % CI)' },
            y2: { field: 'hi' }, color: { field: 'model', type: 'nominal', scale: MODEL_COLORS },
          },
        },
        {
          mark: { type: 'point', filled: true },
          encoding: {
            x: { field: 'levelPct', type: 'ordinal' }, xOffset: { field: 'model', type: 'nominal' },
            y: { field: 'mean', type: 'quantitative' }, color: { field: 'model', type: 'nominal', scale: MODEL_COLORS, title: 'model' },
          },
        },
      ],
    },
  };
  return render(spec);
}
