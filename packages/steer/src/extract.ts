// Steering-vector extraction from contrast pairs: run both sides through the model, read the
// residual stream (decoder-layer outputs) at the last token or averaged over the answer, and
// take the mean difference or the first principal direction of the differences.
import { noGrad } from '@kts/tensor';
import { chunks, padBatch } from './batch.ts';
import type { ContrastPair } from './data.ts';
import { type ChatFormatter, formatPair, tokenizeFormatted } from './format.ts';
import type { SteerableModel, TokenizerLike } from './model.ts';
import { SteeringVector, meanDifference, pcaDirection } from './vector.ts';

export interface ExtractOptions {
  layers: number[];
  method?: 'mean-diff' | 'pca';
  position?: 'last' | 'answer-mean';
  /** Chat formatter for prompt/answer records (null: raw text). */
  format?: ChatFormatter | null;
  batchSize?: number;
  device?: string;
  /** Recorded in the vector's metadata. */
  meta?: Record<string, string>;
}

/** Residual-stream activations per layer for each text: [layer] → one Float64Array per text. */
export async function collectActivations(
  model: SteerableModel, tok: TokenizerLike, texts: { ids: number[]; answerFrom: number }[],
  layers: number[], position: 'last' | 'answer-mean', batchSize: number, device?: string,
): Promise<Map<number, Float64Array[]>> {
  const out = new Map<number, Float64Array[]>(layers.map((l) => [l, []]));
  const D = model.config.hiddenSize;
  for (const group of chunks(texts, batchSize)) {
    const batch = padBatch(group.map((t) => t.ids), { side: 'left', padId: Math.max(tok.padId ?? 0, 0), device });
    const T = batch.ids.shape[1]!;
    const { hidden } = noGrad(() => model.forward(batch.ids, { attentionMask: batch.mask, capture: { layers, positions: position === 'last' ? 'last' : 'all' } }));
    for (const layer of layers) {
      const h = hidden.get(layer);
      if (!h) throw new Error(`extract: the model returned no activations for layer ${layer}`);
      const data = await h.data();
      group.forEach((t, b) => {
        const row = new Float64Array(D);
        if (position === 'last') {
          for (let k = 0; k < D; k++) row[k] = data[b * D + k]!;
        } else {
          // Left padding: token i of the text sits at T − len + i.
          const offset = T - t.ids.length;
          const from = offset + t.answerFrom;
          const n = T - from;
          if (n <= 0) throw new Error(`extract: text ${b} has no answer tokens (answerFrom ${t.answerFrom} ≥ length ${t.ids.length})`);
          for (let p = from; p < T; p++) for (let k = 0; k < D; k++) row[k]! += data[(b * T + p) * D + k]! / n;
        }
        out.get(layer)!.push(row);
      });
    }
  }
  return out;
}

export async function extractVector(model: SteerableModel, tok: TokenizerLike, pairs: ContrastPair[], opts: ExtractOptions): Promise<SteeringVector> {
  if (pairs.length === 0) throw new Error('extractVector: no contrast pairs');
  const { method = 'mean-diff', position = 'last', format = null, batchSize = 16 } = opts;
  const enc = (answer: string, prompt?: string) => tokenizeFormatted(tok, formatPair(format, prompt, answer));
  const pos = pairs.map((p) => enc(p.positive, p.prompt));
  const neg = pairs.map((p) => enc(p.negative, p.prompt));
  const acts = await collectActivations(model, tok, [...pos, ...neg], opts.layers, position, batchSize, opts.device);
  const directions = new Map<number, Float32Array>();
  for (const layer of opts.layers) {
    const rows = acts.get(layer)!;
    const P = rows.slice(0, pairs.length);
    const N = rows.slice(pairs.length);
    const d = method === 'pca' ? pcaDirection(P, N) : meanDifference(P, N);
    directions.set(layer, Float32Array.from(d));
  }
  return new SteeringVector(directions, { method, position, ...opts.meta });
}
