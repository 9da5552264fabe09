// A coefficient sweep: for each model (original, KTS) and coefficient, the side effects on
// benign text and the behaviour the steering is meant to change.
import { generate } from '@kts/llama';
import type { ABQuestion } from './data.ts';
import { type ABResult, type EvalModel, type EvalOptions, abBehaviour, batchSteer, pairLogOdds, sideEffectKL, withAdaptersAsync } from './eval.ts';
import type { ChatFormatter } from './format.ts';
import type { TokenizerLike } from './model.ts';
import type { SweepRow } from './report.ts';
import type { SteeringVector } from './vector.ts';

export type Behaviour =
  | { kind: 'pairs'; pairs: { positive: number[]; negative: number[] }[] }
  | { kind: 'ab'; questions: ABQuestion[]; format: ChatFormatter; tokenizer: TokenizerLike };

export interface SweepOptions extends EvalOptions {
  concept: string;
  vector: SteeringVector;
  layers: number[];
  coeffs: number[];
  benign: number[][];
  behaviour?: Behaviour;
  /** Prompts whose greedy continuations are compared steered vs unsteered (share that change). */
  continuationPrompts?: number[][];
  continuationTokens?: number;
  onRow?: (row: SweepRow) => void;
}

async function behaviourScore(m: EvalModel, b: Behaviour, vector: SteeringVector, layers: number[], coeff: number, opts: EvalOptions): Promise<{ score: number; ab?: ABResult }> {
  const s = { vector, layers, coeff };
  if (b.kind === 'pairs') return { score: await pairLogOdds(m, b.pairs, s, opts) };
  const ab = await abBehaviour(m, b.tokenizer, b.format, b.questions, s, opts);
  return { score: ab.matchingProbability, ab };
}

/** Share of prompts whose greedy continuation differs from the original model's, unsteered. */
export async function changedContinuations(m: EvalModel, prompts: number[][], vector: SteeringVector, layers: number[], coeff: number, maxNewTokens: number): Promise<number> {
  const run = (adapters: boolean, c: number) => withAdaptersAsync(m.lora, adapters, () => {
    const steer = batchSteer(vector, layers, prompts.map(() => c), m.model.device);
    return generate(m.model, prompts, { maxNewTokens, steer, ignoreEos: true });
  });
  const base = await run(false, 0);
  const steered = await run(true, coeff);
  return steered.filter((s, i) => s.join() !== base[i]!.join()).length / prompts.length;
}

export async function sweep(models: EvalModel[], opts: SweepOptions): Promise<SweepRow[]> {
  const rows: SweepRow[] = [];
  for (const m of models) {
    const baseline = opts.behaviour ? (await behaviourScore(m, opts.behaviour, opts.vector, opts.layers, 0, opts)).score : 0;
    for (const coeff of opts.coeffs) {
      const kl = await sideEffectKL(m, { vector: opts.vector, layers: opts.layers, coeff }, opts.benign, opts);
      const row: SweepRow = { model: m.name, concept: opts.concept, coeff, steeringEffect: 0, sideEffectKL: kl };
      if (opts.behaviour) {
        const b = await behaviourScore(m, opts.behaviour, opts.vector, opts.layers, coeff, opts);
        row.behaviour = b.score;
        row.steeringEffect = b.score - baseline;
        if (b.ab) row.matchingRate = b.ab.matchingRate;
      }
      if (opts.continuationPrompts?.length) {
        row.changedContinuations = await changedContinuations(m, opts.continuationPrompts, opts.vector, opts.layers, coeff, opts.continuationTokens ?? 16);
      }
      rows.push(row);
      opts.onRow?.(row);
    }
  }
  return rows;
}
