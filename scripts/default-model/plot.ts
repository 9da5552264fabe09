// The training loss curve as SVG (Vega-Lite, rendered headless).
import * as vega from 'vega';
import * as vl from 'vega-lite';

export async function lossCurveSvg(log: { step: number; loss: number; valLoss?: number }[]): Promise<string> {
  const values = log.flatMap((e) => [
    { step: e.step, loss: e.loss, split: 'train' },
    ...(e.valLoss === undefined ? [] : [{ step: e.step, loss: e.valLoss, split: 'validation' }]),
  ]);
  const spec: vl.TopLevelSpec = {
    title: 'default model: cross-entropy (nats / token)',
    width: 420,
    height: 260,
    data: { values },
    mark: { type: 'line', point: false },
    encoding: {
      x: { field: 'step', type: 'quantitative' },
      y: { field: 'loss', type: 'quantitative', scale: { type: 'log' } },
      color: { field: 'split', type: 'nominal' },
    },
  };
  return new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' }).toSVG();
}
