// Results as people read them: JSON, a Markdown table, and an SVG plot of steering effect
// against side-effect KL (rendered headless with Vega-Lite, no browser or canvas needed).
import { renameSync, writeFileSync } from '@kts/tensor/host';
import * as vega from 'vega';
import * as vl from 'vega-lite';

export interface SweepRow {
  model: string;
  concept: string;
  coeff: number;
  steeringEffect: number;
  sideEffectKL: number;
  [extra: string]: string | number;
}

export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function markdownTable(rows: Record<string, string | number>[], columns?: string[]): string {
  if (rows.length === 0) return '';
  const cols = columns ?? Object.keys(rows[0]!);
  const fmt = (v: string | number | undefined) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : v.toFixed(4)) : (v ?? ''));
  return [
    `| ${cols.join(' | ')} |`,
    `| ${cols.map((c) => (typeof rows[0]![c] === 'number' ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${cols.map((c) => fmt(r[c])).join(' | ')} |`),
  ].join('\n');
}

/** Steering effect (y) against side-effect KL (x): a panel per concept, a line per model, points labelled by coefficient. */
export async function sweepPlotSvg(rows: SweepRow[], title: string): Promise<string> {
  // One panel per concept (their scales differ by orders of magnitude), one line per model.
  const spec: vl.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    data: { values: rows },
    facet: { column: { field: 'concept', type: 'nominal', title: null } },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    spec: {
      width: 320,
      height: 260,
      layer: [
        {
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'sideEffectKL', type: 'quantitative', title: 'side-effect KL (nats / token)' },
            y: { field: 'steeringEffect', type: 'quantitative', title: 'steering effect (Δ behaviour vs coeff 0)' },
            color: { field: 'model', type: 'nominal', title: 'model' },
            order: { field: 'coeff', type: 'quantitative' },
          },
        },
        {
          mark: { type: 'text', dx: 8, dy: -6, fontSize: 9 },
          encoding: {
            x: { field: 'sideEffectKL', type: 'quantitative' },
            y: { field: 'steeringEffect', type: 'quantitative' },
            text: { field: 'coeff', type: 'quantitative' },
            color: { field: 'model', type: 'nominal' },
          },
        },
      ],
    },
  };
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}
