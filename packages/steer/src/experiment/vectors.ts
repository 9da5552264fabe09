// Steering vectors for the experiment: one mean-difference vector per concept (its examples
// against examples of other concepts, shuffled, as the official code pairs them), the sentiment
// vector from minimal pairs, a calibration that gives coefficients the same meaning for every
// vector, random directions of matched norm, and the cosine check between held-out and training
// vectors.
import { Generator, noGrad } from '@kts/tensor';
import { chunks, padBatch } from '../batch.ts';
import { type ContrastPair, conceptPairs } from '../data.ts';
import { extractVector } from '../extract.ts';
import type { SteerableModel, TokenizerLike } from '../model.ts';
import { SteeringVector } from '../vector.ts';
import type { ExperimentConfig } from './config.ts';
import type { ExperimentData } from './data.ts';

/**
 * Contrast pairs for one concept. 'matched': each example against its own contrast (the same
 * text with another concept of the family, drawn at random). 'shuffled': the examples against
 * examples of every other concept, shuffled with `seed`, as the official code pairs concept
 * sentences with a shuffled pool of others.
 */
export function familyConceptPairs(
  concepts: ExperimentData['concepts'], family: string, concept: string, negatives: 'matched' | 'shuffled', n: number, seed: number, file = 'concepts',
): ContrastPair[] {
  const own = concepts.get(family)?.get(concept);
  if (!own) throw new Error(`${file}: no examples of ${family}:${concept}`);
  if (negatives === 'matched') {
    const missing = own.findIndex((e) => e.contrast === undefined);
    if (missing >= 0) throw new Error(`${file}: example ${missing + 1} of ${family}:${concept} has no contrast (needed for matched negatives)`);
    return own.slice(0, n).map((e) => splitAtDifference(e.sentence, e.contrast!));
  }
  const byConcept = new Map<string, string[]>();
  for (const [f, cs] of concepts) for (const [c, ex] of cs) byConcept.set(f === family && c === concept ? concept : `${f}:${c}`, ex.slice(0, n).map((e) => e.sentence));
  return conceptPairs(byConcept, concept, false, file, seed);
}

/**
 * A minimal pair as (shared prompt, positive answer, negative answer), split at the space before
 * the first differing word, so that 'answer-mean' averages from that word to the end.
 */
export function splitAtDifference(a: string, b: string): ContrastPair {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  const cut = a.lastIndexOf(' ', i - 1);
  if (cut <= 0) return { positive: a, negative: b };
  return { prompt: a.slice(0, cut), positive: a.slice(cut), negative: b.slice(cut) };
}

export interface VectorContext {
  model: SteerableModel;
  tok: TokenizerLike;
  layers: number[];
  device?: string;
  batchSize: number;
}

/** The vector of a concept (sentiment: positive − negative minimal pairs). */
export async function conceptVector(ctx: VectorContext, data: ExperimentData, cfg: Pick<ExperimentConfig, 'negatives' | 'examplesPerConcept'>, family: string, concept: string): Promise<SteeringVector> {
  const pairs = family === 'sentiment'
    ? data.sentimentPairs.slice(0, cfg.examplesPerConcept).map((p) => (concept === 'positive' ? splitAtDifference(p.positive, p.negative) : splitAtDifference(p.negative, p.positive)))
    : familyConceptPairs(data.concepts, family, concept, cfg.negatives, cfg.examplesPerConcept, hashSeed(`${family}:${concept}`), data.files.concepts);
  // Minimal pairs differ from one word on: average over that span (the tokens before it are identical).
  // Unpaired (shuffled) examples: the last token, as the official code reads them.
  const position = pairs.every((p) => p.prompt !== undefined) ? 'answer-mean' : 'last';
  return extractVector(ctx.model, ctx.tok, pairs, {
    layers: ctx.layers, method: 'mean-diff', position, batchSize: ctx.batchSize, device: ctx.device,
    meta: { concept: `${family}:${concept}`, family, pairs: String(pairs.length), negatives: family === 'sentiment' ? 'minimal-pairs' : cfg.negatives },
  });
}

/** A stable seed from a name (FNV-1a), so each concept's negatives are drawn the same way in every run. */
export function hashSeed(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Mean L2 norm of the residual stream at each layer over every token of `texts` but the first (BOS). */
export async function residualNorms(ctx: VectorContext, texts: number[][]): Promise<Map<number, number>> {
  const sums = new Map(ctx.layers.map((l) => [l, 0]));
  let count = 0;
  const D = ctx.model.config.hiddenSize;
  for (const group of chunks(texts, ctx.batchSize)) {
    const b = padBatch(group, { side: 'right', device: ctx.device });
    const T = b.ids.shape[1]!;
    const { hidden } = noGrad(() => ctx.model.forward(b.ids, { attentionMask: b.mask, capture: { layers: ctx.layers, positions: 'all' } }));
    for (const l of ctx.layers) {
      const h = await hidden.get(l)!.data();
      let s = 0;
      group.forEach((seq, i) => {
        for (let t = 1; t < seq.length; t++) {
          let n = 0;
          for (let k = 0; k < D; k++) n += h[(i * T + t) * D + k]! ** 2;
          s += Math.sqrt(n);
        }
      });
      sums.set(l, sums.get(l)! + s);
    }
    count += group.reduce((a, s) => a + s.length - 1, 0);
  }
  return new Map([...sums].map(([l, s]) => [l, s / count]));
}

/**
 * The multiplier that makes coefficient 1 mean "one residual-stream norm": the vector times it
 * has, in root mean square over the steered layers, the norm of the residual stream there. The
 * raw coefficient of the stored (raw) vector is then coeff × scale.
 */
export function calibrationScale(v: SteeringVector, norms: Map<number, number>, layers: number[]): number {
  const ms = layers.reduce((a, l) => a + (v.norm(l) / norms.get(l)!) ** 2, 0) / layers.length;
  if (!(ms > 0)) throw new Error(`calibration: vector ${v.meta.concept ?? ''} is zero at layers ${layers.join(',')}`);
  return 1 / Math.sqrt(ms);
}

/** A Gaussian random direction per layer with the norm of `like` at that layer. */
export function randomLike(like: SteeringVector, seed: number): SteeringVector {
  const g = new Generator(seed);
  const dirs = new Map(like.layers.map((l) => {
    const d = Float32Array.from({ length: like.dim }, () => g.normal());
    const k = like.norm(l) / Math.hypot(...d);
    return [l, d.map((x) => x * k)] as const;
  }));
  return new SteeringVector(dirs, { ...like.meta, concept: `random(${like.meta.concept})`, method: 'random' });
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! ** 2;
    bb += b[i]! ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

/** Per layer: the largest |cosine| between any held-out and any training vector, and which pair. */
export function maxAbsCos(heldOut: SteeringVector[], training: SteeringVector[], layers: number[]): { layer: number; maxAbsCos: number; heldOut: string; train: string }[] {
  return layers.map((layer) => {
    let best = { layer, maxAbsCos: 0, heldOut: '', train: '' };
    for (const h of heldOut) {
      for (const t of training) {
        const c = Math.abs(cosine(h.get(layer), t.get(layer)));
        if (c > best.maxAbsCos) best = { layer, maxAbsCos: c, heldOut: h.meta.concept ?? '', train: t.meta.concept ?? '' };
      }
    }
    return best;
  });
}
