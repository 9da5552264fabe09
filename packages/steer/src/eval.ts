// Evaluation of steering: side effects on benign text and the size of the steering effect,
// over a sweep of coefficients, for the original model and the KTS model side by side.
import { klDivLogits, noGrad, type Tensor, tensor } from '@kts/tensor';
import { chunks, padBatch } from './batch.ts';
import type { ABQuestion } from './data.ts';
import type { ChatFormatter } from './format.ts';
import { type AttachedLoRA, setLoRAEnabled } from './lora.ts';
import type { SteerSpecLike, SteerableModel, TokenizerLike } from './model.ts';
import type { SteeringVector } from './vector.ts';

/** A model as evaluated: base weights, optionally with KTS adapters (switched off for "original"). */
export interface EvalModel {
  name: string;
  model: SteerableModel;
  lora: AttachedLoRA | null;
}

export interface SteeringSetting {
  vector: SteeringVector;
  layers: number[];
  coeff: number;
}

export interface EvalOptions {
  batchSize?: number;
  device?: string;
}

/** Steering for a batch: one coefficient per sequence (0 = unsteered). */
export function batchSteer(s: SteeringVector, layers: number[], coeffs: number[], device?: string): SteerSpecLike | undefined {
  if (coeffs.every((c) => c === 0)) return undefined;
  const vectors = new Map<number, Tensor>(layers.map((l) => [l, tensor(s.get(l), [1, s.dim], { device })]));
  return { layers, vectors, coeffs: tensor(coeffs, [coeffs.length, 1], { device }) };
}

/** Runs fn with the adapters on (KTS model) or off (original), restoring them afterwards. */
export function withAdapters<T>(lora: AttachedLoRA | null, on: boolean, fn: () => T): T {
  if (!lora) return fn();
  setLoRAEnabled(lora, on);
  try {
    return fn();
  } finally {
    setLoRAEnabled(lora, true);
  }
}

/** withAdapters for async work: the adapters stay as set until fn's promise settles. */
export async function withAdaptersAsync<T>(lora: AttachedLoRA | null, on: boolean, fn: () => Promise<T>): Promise<T> {
  if (!lora) return fn();
  setLoRAEnabled(lora, on);
  try {
    return await fn();
  } finally {
    setLoRAEnabled(lora, true);
  }
}

/** Logits of `m` (adapters on) under steering, and of the original model (adapters off, unsteered). */
function forwardPair(m: EvalModel, ids: Tensor, mask: Tensor, steer: SteerSpecLike | undefined): { steered: Tensor; original: Tensor } {
  return noGrad(() => {
    const original = withAdapters(m.lora, false, () => m.model.forward(ids, { attentionMask: mask }).logits);
    const steered = withAdapters(m.lora, true, () => m.model.forward(ids, { attentionMask: mask, steer }).logits);
    return { steered, original };
  });
}

/** KL summed over one text's positions, and how many positions it has. */
export interface TextKL {
  sum: number;
  count: number;
}

/**
 * Side effects per benign text: KL(steered ‖ unsteered original) summed over every position of
 * each text (texts batched in order, `batchSize` at a time, right padded). `reference` holds the
 * original model's logits per batch when they were computed before (they never change).
 */
export async function sideEffectKLPerText(
  m: EvalModel, s: SteeringSetting, benign: number[][], opts: EvalOptions = {}, reference?: Tensor[],
  /** Also sees each batch's steered logits (so other scores need no second forward pass). */
  onSteered?: (logits: Tensor, batchIndex: number) => Promise<void>,
): Promise<TextKL[]> {
  const out: TextKL[] = [];
  const groups = chunks(benign, opts.batchSize ?? 8);
  for (const [g, group] of groups.entries()) {
    const b = padBatch(group, { side: 'right', device: opts.device });
    const steer = batchSteer(s.vector, s.layers, group.map(() => s.coeff), opts.device);
    const { steered, original } = reference
      ? { steered: noGrad(() => withAdapters(m.lora, true, () => m.model.forward(b.ids, { attentionMask: b.mask, steer }).logits)), original: reference[g]! }
      : forwardPair(m, b.ids, b.mask, steer);
    const kl = await klDivLogits(steered, original).data();
    await onSteered?.(steered, g);
    const T = b.ids.shape[1]!;
    group.forEach((seq, i) => {
      let sum = 0;
      for (let t = 0; t < seq.length; t++) sum += kl[i * T + t]!;
      out.push({ sum, count: seq.length });
    });
  }
  return out;
}

/** The original model's logits for each batch of `benign`, as sideEffectKLPerText batches them. */
export function referenceLogits(m: EvalModel, benign: number[][], opts: EvalOptions = {}): Tensor[] {
  return chunks(benign, opts.batchSize ?? 8).map((group) => {
    const b = padBatch(group, { side: 'right', device: opts.device });
    return noGrad(() => withAdapters(m.lora, false, () => m.model.forward(b.ids, { attentionMask: b.mask }).logits));
  });
}

/**
 * Side effects: mean per-token KL(steered ‖ unsteered original) over every position of every
 * benign text, pooled. For the KTS model "steered" includes its adapters; "original" never does.
 */
export async function sideEffectKL(m: EvalModel, s: SteeringSetting, benign: number[][], opts: EvalOptions = {}): Promise<number> {
  const per = await sideEffectKLPerText(m, s, benign, opts);
  return per.reduce((a, t) => a + t.sum, 0) / per.reduce((a, t) => a + t.count, 0);
}

/** Next-token probabilities at the last real position of each sequence (left padded). */
async function lastTokenProbs(m: EvalModel, seqs: number[][], steer: (n: number) => SteerSpecLike | undefined, opts: EvalOptions, adapters = true): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const group of chunks(seqs, opts.batchSize ?? 8)) {
    const b = padBatch(group, { side: 'left', device: opts.device });
    const logits = noGrad(() => withAdapters(m.lora, adapters, () => m.model.forward(b.ids, { attentionMask: b.mask, steer: steer(group.length) }).logits));
    const [B, T, V] = logits.shape as [number, number, number];
    const probs = await logits.narrow(1, T - 1, 1).softmax(-1).data();
    for (let i = 0; i < B; i++) out.push(Float32Array.from(probs.subarray(i * V, (i + 1) * V)));
  }
  return out;
}

/** The token id of an answer letter as it follows "(" in the formatted prompt. */
function letterToken(tok: TokenizerLike, text: string): number {
  const ids = tok.encode(text, { bos: true });
  return ids[ids.length - 1]!;
}

export interface ABResult {
  /** Mean probability share of the behaviour-matching letter: P(match) / (P(A) + P(B)). */
  matchingProbability: number;
  /** Fraction of questions where the matching letter is more likely. */
  matchingRate: number;
}

/** CAA-style A/B evaluation: the prompt ends with "(", and we read P(A) and P(B). */
export async function abBehaviour(m: EvalModel, tok: TokenizerLike, format: ChatFormatter, questions: ABQuestion[], s: SteeringSetting, opts: EvalOptions = {}): Promise<ABResult> {
  const seqs = questions.map((q) => tok.encode(format(q.question, '('), { bos: true }));
  const probs = await lastTokenProbs(m, seqs, (n) => batchSteer(s.vector, s.layers, Array(n).fill(s.coeff), opts.device), opts);
  let share = 0;
  let wins = 0;
  questions.forEach((q, i) => {
    const match = letterToken(tok, format(q.question, q.answer_matching_behavior.slice(0, 2)));
    const other = letterToken(tok, format(q.question, q.answer_not_matching_behavior.slice(0, 2)));
    const pm = probs[i]![match]!;
    const po = probs[i]![other]!;
    share += pm / (pm + po || 1);
    if (pm > po) wins++;
  });
  return { matchingProbability: share / questions.length, matchingRate: wins / questions.length };
}

/** Token ids for lexicon words that are a single token (so a token's probability means the word). */
export function lexiconTokens(tok: TokenizerLike, words: string[]): number[] {
  const ids = new Set<number>();
  for (const w of words) {
    const e = tok.encode(w, { bos: false });
    if (e.length === 1) ids.add(e[0]!);
  }
  return [...ids];
}

/**
 * Distribution-level lexicon judge: at every position of each text, the next-token probability
 * mass on the positive lexicon minus that on the negative lexicon, averaged over positions.
 * Cheap (one forward pass), smooth in the coefficient, and needs no sampling.
 */
export async function lexiconScore(m: EvalModel, texts: number[][], positive: number[], negative: number[], s: SteeringSetting, opts: EvalOptions = {}): Promise<number> {
  let sum = 0;
  let count = 0;
  for (const group of chunks(texts, opts.batchSize ?? 8)) {
    const b = padBatch(group, { side: 'right', device: opts.device });
    const steer = batchSteer(s.vector, s.layers, group.map(() => s.coeff), opts.device);
    const probs = noGrad(() => m.model.forward(b.ids, { attentionMask: b.mask, steer }).logits.softmax(-1));
    const [B, T, V] = probs.shape as [number, number, number];
    const p = await probs.data();
    const mask = await b.mask.data();
    for (let i = 0; i < B * T; i++) {
      if (!mask[i]) continue;
      let score = 0;
      for (const id of positive) score += p[i * V + id]!;
      for (const id of negative) score -= p[i * V + id]!;
      sum += score;
      count++;
    }
  }
  return sum / count;
}

/** A judge scores generated texts (higher = more of the behaviour). Plug in an LLM judge here. */
export type Judge = (texts: string[]) => Promise<number[]> | number[];

/** Keyword/regex judge: (matches of `positive`) − (matches of `negative`) per text. */
export function keywordJudge(positive: RegExp, negative?: RegExp): Judge {
  const count = (re: RegExp, s: string) => (s.match(new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`)) ?? []).length;
  return (texts) => texts.map((t) => count(positive, t) - (negative ? count(negative, t) : 0));
}

/** Per-sequence log-likelihood (sum over tokens after the first) of each text under the steered model. */
export async function sequenceLogProbs(m: EvalModel, seqs: number[][], s: SteeringSetting, opts: EvalOptions = {}): Promise<{ logp: number; tokens: number }[]> {
  const out: { logp: number; tokens: number }[] = [];
  for (const group of chunks(seqs, opts.batchSize ?? 8)) {
    const b = padBatch(group, { side: 'right', device: opts.device });
    const steer = batchSteer(s.vector, s.layers, group.map(() => s.coeff), opts.device);
    const lsm = noGrad(() => m.model.forward(b.ids, { attentionMask: b.mask, steer }).logits.logSoftmax(-1));
    const [B, T, V] = lsm.shape as [number, number, number];
    const lp = await lsm.data();
    group.forEach((seq, i) => {
      let sum = 0;
      for (let t = 1; t < seq.length; t++) sum += lp[(i * T + t - 1) * V + seq[t]!]!;
      out.push({ logp: sum, tokens: seq.length - 1 });
    });
    void B;
  }
  return out;
}

/**
 * Contrast-pair behaviour score: mean over pairs of [log p(positive) − log p(negative)] per
 * token. Steering towards the positive side raises it. Works for minimal pairs (same story,
 * different sentiment) and for any {positive, negative} texts.
 */
export async function pairLogOdds(m: EvalModel, pairs: { positive: number[]; negative: number[] }[], s: SteeringSetting, opts: EvalOptions = {}): Promise<number> {
  const pos = await sequenceLogProbs(m, pairs.map((p) => p.positive), s, opts);
  const neg = await sequenceLogProbs(m, pairs.map((p) => p.negative), s, opts);
  let sum = 0;
  pairs.forEach((_, i) => {
    sum += (pos[i]!.logp - neg[i]!.logp) / ((pos[i]!.tokens + neg[i]!.tokens) / 2);
  });
  return sum / pairs.length;
}
