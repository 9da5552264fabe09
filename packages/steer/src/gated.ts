// Classifier-gated steering: a probe on an early layer reads each prompt (unsteered), and only
// the prompts it flags are steered — per sequence, in one batch, with coefficient `coeff` for
// flagged prompts and 0 for the rest. Gating trades the probe's errors for side effects: missed
// targets are not steered (less effect), wrongly flagged benign prompts are (side effects).
import { klDivLogits, noGrad } from '@kts/tensor';
import { padBatch } from './batch.ts';
import { type EvalModel, type EvalOptions, batchSteer, withAdapters, withAdaptersAsync } from './eval.ts';
import type { SteerableModel, TokenizerLike } from './model.ts';
import type { SteeringVector } from './vector.ts';

/** Decides per sequence whether to steer. LinearProbe is one (p ≥ threshold). */
export interface SequenceGate {
  flag(model: SteerableModel, tok: TokenizerLike, seqs: number[][], opts?: { batchSize?: number; device?: string }): Promise<boolean[]>;
}

/**
 * The behaviour measured on target prompts: next-token probability mass on `positive` tokens
 * minus that on `negative` tokens, per sequence averaged over its positions (every real
 * position, as lexiconScore does, or the last one only: the next token after the prompt).
 */
export interface TokenMassBehaviour {
  positive: number[];
  negative?: number[];
  positions?: 'all' | 'last';
}

export interface GatedOptions extends EvalOptions {
  probe: SequenceGate;
  vector: SteeringVector;
  layers: number[];
  coeff: number;
  /** Prompts that should be steered (the probe should flag them). */
  targetPrompts: number[][];
  /** Prompts that should be left alone. */
  benignPrompts: number[][];
  behaviour: TokenMassBehaviour;
}

export interface GatedReport {
  nTarget: number;
  nBenign: number;
  /** Share of target prompts flagged. */
  recall: number;
  /** Share of benign prompts flagged. */
  falsePositiveRate: number;
  /**
   * Behaviour change on the target prompts under gated steering vs the unsteered original model,
   * averaged over all target prompts (missed ones are not steered, so they add no change on a
   * model without adapters).
   */
  effectOnFlagged: number;
  /** The same with every target prompt steered: what a perfect gate would give. */
  effectUngated: number;
  /** Benign prompts the probe flags (and so steers). */
  nMisclassifiedBenign: number;
  /** Mean per-token KL(steered ‖ original) over the wrongly flagged benign prompts; 0 when there are none (see notes). */
  sideEffectKLOnMisclassifiedBenign: number;
  /** Mean per-token KL(gated ‖ original) over all benign prompts (unflagged ones: unsteered, adapters on). */
  sideEffectKLAllBenign: number;
  /** Mean per-token KL(steered ‖ original) over all benign prompts with steering always on. */
  sideEffectKLAllBenignUngated: number;
  flags: { target: boolean[]; benign: boolean[] };
  notes: string[];
}

/** Per-sequence statistics of one steered run against the unsteered original. */
interface SeqStats {
  /** Behaviour of the steered run and of the original. */
  score: number;
  originalScore: number;
  /** Sum of per-token KL(steered ‖ original) over real tokens, and the token count. */
  klSum: number;
  tokens: number;
}

function behaviourOf(probs: ArrayLike<number>, row: number, T: number, V: number, len: number, b: TokenMassBehaviour): number {
  const from = (b.positions ?? 'all') === 'last' ? len - 1 : 0;
  let sum = 0;
  for (let t = from; t < len; t++) {
    const base = (row * T + t) * V;
    for (const id of b.positive) sum += probs[base + id]!;
    for (const id of b.negative ?? []) sum -= probs[base + id]!;
  }
  return sum / (len - from);
}

/**
 * For each coefficient assignment (one coefficient per sequence), the per-sequence behaviour and
 * KL against the original model (adapters off, unsteered). Right padding: positions 0..len−1.
 */
async function sequenceStats(m: EvalModel, seqs: number[][], coeffSets: number[][], o: { vector: SteeringVector; layers: number[]; behaviour: TokenMassBehaviour } & EvalOptions): Promise<SeqStats[][]> {
  const out: SeqStats[][] = coeffSets.map(() => []);
  const bs = o.batchSize ?? 8;
  for (let start = 0; start < seqs.length; start += bs) {
    const group = seqs.slice(start, start + bs);
    const b = padBatch(group, { side: 'right', device: o.device });
    const original = noGrad(() => withAdapters(m.lora, false, () => m.model.forward(b.ids, { attentionMask: b.mask }).logits));
    const [, T, V] = original.shape as [number, number, number];
    const origProbs = await original.softmax(-1).data();
    for (const [k, coeffs] of coeffSets.entries()) {
      const steer = batchSteer(o.vector, o.layers, coeffs.slice(start, start + bs), o.device);
      const steered = noGrad(() => withAdapters(m.lora, true, () => m.model.forward(b.ids, { attentionMask: b.mask, steer }).logits));
      const probs = await steered.softmax(-1).data();
      const kl = await klDivLogits(steered, original).data();
      group.forEach((s, i) => {
        let klSum = 0;
        for (let t = 0; t < s.length; t++) klSum += kl[i * T + t]!;
        out[k]!.push({
          score: behaviourOf(probs, i, T, V, s.length, o.behaviour),
          originalScore: behaviourOf(origProbs, i, T, V, s.length, o.behaviour),
          klSum, tokens: s.length,
        });
      });
    }
  }
  return out;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
/** Pooled per-token KL: Σ KL / Σ tokens (0 for no sequences). */
const pooledKL = (st: SeqStats[]) => {
  const tokens = st.reduce((a, s) => a + s.tokens, 0);
  return tokens ? st.reduce((a, s) => a + s.klSum, 0) / tokens : 0;
};

/**
 * Runs the gate on every prompt (original model: adapters off, unsteered), then evaluates
 * gated steering (coefficient `coeff` for flagged prompts, 0 otherwise, in one batch) against
 * the unsteered original model, next to always-on steering.
 */
export async function gatedSteeringReport(m: EvalModel, tok: TokenizerLike, o: GatedOptions): Promise<GatedReport> {
  const { probe, coeff, targetPrompts, benignPrompts } = o;
  if (targetPrompts.length === 0 || benignPrompts.length === 0) throw new Error('gatedSteeringReport: needs at least one target and one benign prompt');
  const run = { batchSize: o.batchSize, device: o.device };
  // The gate reads the original model (adapters off), unsteered: it decides before any steering.
  const flagsOf = (seqs: number[][]) => withAdaptersAsync(m.lora, false, async () => {
    const f = await probe.flag(m.model, tok, seqs, run);
    if (f.length !== seqs.length) throw new Error(`gatedSteeringReport: the gate returned ${f.length} flags for ${seqs.length} prompts`);
    return f;
  });
  const target = await flagsOf(targetPrompts);
  const benign = await flagsOf(benignPrompts);
  const gatedCoeffs = (flags: boolean[]) => flags.map((f) => (f ? coeff : 0));
  const always = (n: number) => Array<number>(n).fill(coeff);

  const [tGated, tAlways] = await sequenceStats(m, targetPrompts, [gatedCoeffs(target), always(targetPrompts.length)], o);
  const [bGated, bAlways] = await sequenceStats(m, benignPrompts, [gatedCoeffs(benign), always(benignPrompts.length)], o);

  const misclassified = bGated!.filter((_, i) => benign[i]);
  const notes: string[] = [];
  if (misclassified.length === 0) notes.push('no benign prompt was flagged: sideEffectKLOnMisclassifiedBenign is 0 by definition (n = 0)');
  if (!target.some(Boolean)) notes.push('no target prompt was flagged: gating never steers the targets');
  const gateLayer = (probe as { layer?: unknown }).layer;
  if (typeof gateLayer === 'number' && o.layers.length && gateLayer >= Math.min(...o.layers)) {
    notes.push(`the probe reads layer ${gateLayer}, not before the first steering layer ${Math.min(...o.layers)}: here it reads a separate unsteered pass, but one forward pass could not both gate and steer`);
  }
  return {
    nTarget: targetPrompts.length,
    nBenign: benignPrompts.length,
    recall: target.filter(Boolean).length / target.length,
    falsePositiveRate: benign.filter(Boolean).length / benign.length,
    effectOnFlagged: mean(tGated!.map((s) => s.score - s.originalScore)),
    effectUngated: mean(tAlways!.map((s) => s.score - s.originalScore)),
    nMisclassifiedBenign: misclassified.length,
    sideEffectKLOnMisclassifiedBenign: pooledKL(misclassified),
    sideEffectKLAllBenign: pooledKL(bGated!),
    sideEffectKLAllBenignUngated: pooledKL(bAlways!),
    flags: { target, benign },
    notes,
  };
}
