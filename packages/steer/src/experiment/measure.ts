// One measurement of one model steered by one vector at one coefficient, kept per prompt so the
// statistics can resample prompts:
//   side effects on the benign evaluation set (capability questions): KL to the unsteered
//     original per text (sum and token count), answer NLL, and whether every answer token is the
//     argmax (= greedy decoding reproduces the reference answer);
//   behaviour on its own prompts (story text cut where the attribute's word goes): probability
//     of the target word(s) next; whether a greedy continuation contains a target word, and
//     whether it repeats itself or uses a word the corpus never does.
import { generate, type LlamaForCausalLM, type SteerSpec } from '@kts/llama';
import { noGrad, type Tensor } from '@kts/tensor';
import { chunks, padBatch } from '../batch.ts';
import { type EvalModel, batchSteer, referenceLogits, sideEffectKLPerText, withAdapters, withAdaptersAsync } from '../eval.ts';
import type { TokenizerLike } from '../model.ts';
import type { SteeringVector } from '../vector.ts';
import type { BenignText } from './data.ts';

export interface PointMeasure {
  klSum: number[];
  klCount: number[];
  answerNLL: number[];
  correct: number[];
  slotP: number[];
  /** Per generation prompt: 1 if the greedy continuation contains a target word. */
  hit: number[];
  /** Per generation prompt: 1 if the continuation repeats a word trigram or a word twice in a row, or uses an unknown word. */
  bad: number[];
}

/** A model as the experiment evaluates it: the Llama (generation needs it) and its adapters, if any. */
export interface ExperimentModel extends EvalModel {
  llama: LlamaForCausalLM;
}

export interface MeasureSetup {
  tok: TokenizerLike;
  layers: number[];
  device?: string;
  batchSize: number;
  benign: BenignText[];
  /** The unsteered original's logits per benign batch (batches of 8, as `kts eval` makes them). */
  reference: Tensor[];
  vocabulary: Set<string>;
  continuationTokens: number;
}

/** Batch size of the side-effect KL: that of `kts eval`, so its numbers are reproduced exactly. */
export const KL_BATCH = 8;

export function referenceFor(original: EvalModel, benign: BenignText[], device?: string): Tensor[] {
  return referenceLogits(original, benign.map((b) => b.ids), { batchSize: KL_BATCH, device });
}

const wordsOf = (text: string): string[] => text.toLowerCase().match(/[a-z]+(?:'[a-z]+)?/g) ?? [];

/** Repeats (a word twice in a row, or a repeated word trigram) or a word the corpus never uses. */
export function badGeneration(text: string, vocabulary: Set<string>): boolean {
  const ws = wordsOf(text);
  if (ws.some((w) => !vocabulary.has(w))) return true;
  if (ws.some((w, i) => i > 0 && w === ws[i - 1])) return true;
  const grams = ws.slice(2).map((_, i) => ws.slice(i, i + 3).join(' '));
  return new Set(grams).size < grams.length;
}

/** Answer NLL (mean over answer tokens) and whether greedy decoding gives the reference answer, from a batch's steered logits. */
async function answerScores(logits: Tensor, texts: BenignText[]): Promise<{ nll: number[]; correct: number[] }> {
  const [, T, V] = logits.shape as [number, number, number];
  const data = await logits.data();
  const nll: number[] = [];
  const correct: number[] = [];
  texts.forEach((t, i) => {
    let sum = 0;
    let ok = 1;
    for (let pos = t.answerFrom; pos < t.ids.length; pos++) {
      const row = (i * T + pos - 1) * V;
      let max = -Infinity;
      let arg = 0;
      for (let v = 0; v < V; v++) if (data[row + v]! > max) [max, arg] = [data[row + v]!, v];
      let z = 0;
      for (let v = 0; v < V; v++) z += Math.exp(data[row + v]! - max);
      sum += max + Math.log(z) - data[row + t.ids[pos]!]!;
      if (arg !== t.ids[pos]) ok = 0;
    }
    nll.push(sum / Math.max(1, t.ids.length - t.answerFrom));
    correct.push(ok);
  });
  return { nll, correct };
}

/** Probability that the next token is one of `targets`, at the end of each prompt. */
async function slotProbabilities(m: EvalModel, setup: MeasureSetup, prompts: number[][], targets: number[], steerOf: (n: number) => ReturnType<typeof batchSteer>): Promise<number[]> {
  const out: number[] = [];
  for (const group of chunks(prompts, setup.batchSize)) {
    const b = padBatch(group, { side: 'left', device: setup.device });
    const logits = noGrad(() => withAdapters(m.lora, true, () => m.model.forward(b.ids, { attentionMask: b.mask, steer: steerOf(group.length) }).logits));
    const [B, T, V] = logits.shape as [number, number, number];
    const p = await logits.narrow(1, T - 1, 1).softmax(-1).data();
    for (let i = 0; i < B; i++) out.push(targets.reduce((s, id) => s + p[i * V + id]!, 0));
  }
  return out;
}

/** Measures model `m` (adapters on, if any) steered by `vector` × `rawCoeff` at the setup's layers. */
export async function measurePoint(
  m: ExperimentModel, setup: MeasureSetup, vector: SteeringVector, rawCoeff: number,
  behaviour: { prompts: number[][]; generationPrompts: number[][]; targets: number[]; targetWords: string[] },
): Promise<PointMeasure> {
  const steerOf = (n: number) => batchSteer(vector, setup.layers, Array(n).fill(rawCoeff), setup.device);
  const nll: number[] = [];
  const correct: number[] = [];
  const kl = await sideEffectKLPerText(m, { vector, layers: setup.layers, coeff: rawCoeff }, setup.benign.map((b) => b.ids), { batchSize: KL_BATCH, device: setup.device }, setup.reference, async (logits, g) => {
    const a = await answerScores(logits, setup.benign.slice(g * KL_BATCH, (g + 1) * KL_BATCH));
    nll.push(...a.nll);
    correct.push(...a.correct);
  });
  const slotP = await slotProbabilities(m, setup, behaviour.prompts, behaviour.targets, steerOf);
  const words = new Set(behaviour.targetWords);
  const hit: number[] = [];
  const bad: number[] = [];
  for (const group of chunks(behaviour.generationPrompts, setup.batchSize)) {
    const outs = await withAdaptersAsync(m.lora, true, () => generate(m.llama, group, {
      maxNewTokens: setup.continuationTokens, ignoreEos: true, steer: steerOf(group.length) as SteerSpec | undefined,
    }));
    for (const ids of outs) {
      const text = setup.tok.decode(ids, { skipSpecial: true });
      hit.push(wordsOf(text).some((w) => words.has(w)) ? 1 : 0);
      bad.push(badGeneration(text, setup.vocabulary) ? 1 : 0);
    }
  }
  return { klSum: kl.map((k) => k.sum), klCount: kl.map((k) => k.count), answerNLL: nll, correct, slotP, hit, bad };
}
