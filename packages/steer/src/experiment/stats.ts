// Statistics of the experiment: effect and side-effect curves from per-prompt measurements, the
// KL ratio (KTS / original) at equal steering effect, and bootstrap confidence intervals that
// resample benign texts, behaviour prompts and KTS seeds.
import { Generator } from '@kts/tensor';
import type { PointMeasure } from './measure.ts';

export interface CurvePoint {
  coeff: number;
  rawCoeff: number;
  m: PointMeasure;
}

/** One model (one seed), one concept, one vector source; points sorted by coefficient, the first at 0. */
export interface Curve {
  model: string;
  seed: number | null;
  concept: string;
  vectorSource: string;
  /** Largest |coefficient| the model was trained on (Infinity for the original). */
  trainedRange: number;
  points: CurvePoint[];
}

/** Indices to average over: all by default, or a bootstrap resample. */
export interface Resample {
  texts?: number[];
  prompts?: number[];
}

const mean = (xs: number[], idx?: number[]): number => {
  const ii = idx ?? xs.map((_, i) => i);
  return ii.reduce((a, i) => a + xs[i]!, 0) / Math.max(1, ii.length);
};

/** Pooled per-token KL over the (resampled) benign texts. */
export function pooledKL(m: PointMeasure, idx?: number[]): number {
  const ii = idx ?? m.klSum.map((_, i) => i);
  let s = 0;
  let c = 0;
  for (const i of ii) {
    s += m.klSum[i]!;
    c += m.klCount[i]!;
  }
  return s / c;
}

/** Steering effect: mean over prompts of the change in target probability against the same model unsteered. */
export function effect(m: PointMeasure, base: PointMeasure, idx?: number[]): number {
  const ii = idx ?? m.slotP.map((_, i) => i);
  return ii.reduce((a, i) => a + m.slotP[i]! - base.slotP[i]!, 0) / Math.max(1, ii.length);
}

export interface EffectKL {
  coeff: number;
  effect: number;
  kl: number;
}

export function effectCurve(c: Curve, r: Resample = {}): EffectKL[] {
  const base = c.points[0]!.m;
  return c.points.map((p) => ({ coeff: p.coeff, effect: effect(p.m, base, r.prompts), kl: pooledKL(p.m, r.texts) }));
}

/** Largest effect among points whose KL does not exceed `entropy` (the non-degenerate region). */
export function maxNonDegenerateEffect(points: EffectKL[], entropy: number): number {
  return Math.max(0, ...points.filter((p) => p.kl <= entropy).map((p) => p.effect));
}

/**
 * Coefficient and side-effect KL where the effect first reaches `level`, walking up the
 * coefficients no further than `maxCoeff`: the coefficient is interpolated linearly in effect
 * between the bracketing points, the KL geometrically (linearly when one end is 0). Null when
 * the level is not reached.
 */
export function atEffect(points: EffectKL[], level: number, maxCoeff = Infinity): { coeff: number; kl: number } | null {
  if (points[0] && points[0].effect >= level) return { coeff: points[0].coeff, kl: points[0].kl };
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1]!, points[i]!];
    if (b.coeff > maxCoeff * (1 + 1e-9)) return null;
    if (b.effect >= level) {
      const f = (level - a.effect) / (b.effect - a.effect);
      const kl = a.kl > 0 && b.kl > 0 ? Math.exp(Math.log(a.kl) + f * (Math.log(b.kl) - Math.log(a.kl))) : a.kl + f * (b.kl - a.kl);
      return { coeff: a.coeff + f * (b.coeff - a.coeff), kl };
    }
  }
  return null;
}

export function klAtEffect(points: EffectKL[], level: number, maxCoeff = Infinity): number {
  return atEffect(points, level, maxCoeff)?.kl ?? NaN;
}

export interface RatioEstimate {
  level: number;
  /** Effect level in absolute units (fraction × the original's largest non-degenerate effect). */
  effect: number;
  originalKL: number;
  /** Geometric mean over seeds of KL_kts / KL_original; Infinity if a seed never reaches the effect in its trained range. */
  ratio: number;
  seedsReached: number;
}

/** KL ratios at equal effect for each level, from the original's curve and the KTS seeds' curves. */
export function equalEffectRatios(original: Curve, kts: Curve[], entropy: number, levels: number[], r: Resample = {}, seeds?: number[]): RatioEstimate[] {
  const orig = effectCurve(original, r);
  const emax = maxNonDegenerateEffect(orig, entropy);
  const chosen = (seeds ?? kts.map((_, i) => i)).map((i) => kts[i]!);
  const curves = chosen.map((c) => ({ points: effectCurve(c, r), range: c.trainedRange }));
  return levels.map((level) => {
    const target = level * emax;
    const originalKL = emax > 0 ? klAtEffect(orig.filter((p) => p.kl <= entropy), target) : NaN;
    const logs = curves.map((c) => Math.log(klAtEffect(c.points, target, c.range) / originalKL));
    const reached = logs.filter((x) => Number.isFinite(x)).length;
    const ratio = !(originalKL > 0) ? NaN : reached < logs.length ? Infinity : Math.exp(mean(logs));
    return { level, effect: target, originalKL, ratio, seedsReached: reached };
  });
}

function resample(g: Generator, n: number): number[] {
  return Array.from({ length: n }, () => g.int(n));
}

/** Percentile interval of `xs` (NaN dropped; Infinity kept, so a CI can be unbounded). */
export function percentile(xs: number[], q: number): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  if (lo === hi || s[lo] === s[hi]) return s[lo]!;
  return s[lo]! + (pos - lo) * (s[hi]! - s[lo]!);
}

/** Bootstrap 95 % intervals of the equal-effect ratios: benign texts, behaviour prompts and seeds resampled together. */
export function bootstrapRatios(original: Curve, kts: Curve[], entropy: number, levels: number[], replicates: number, seed = 0): [number, number][] {
  const g = new Generator(seed);
  const nT = original.points[0]!.m.klSum.length;
  const nP = original.points[0]!.m.slotP.length;
  const samples: number[][] = levels.map(() => []);
  for (let b = 0; b < replicates; b++) {
    const r = { texts: resample(g, nT), prompts: resample(g, nP) };
    const seeds = resample(g, kts.length);
    equalEffectRatios(original, kts, entropy, levels, r, seeds).forEach((e, i) => samples[i]!.push(e.ratio));
  }
  return samples.map((xs) => [percentile(xs, 0.025), percentile(xs, 0.975)]);
}

/** Mean and a normal-approximation 95 % interval over seeds (for the cost at coefficient 0). */
export function meanCI(xs: number[]): { mean: number; sd: number; ci95: [number, number] } {
  const m = mean(xs);
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1)) : 0;
  const h = (1.96 * sd) / Math.sqrt(Math.max(1, xs.length));
  return { mean: m, sd, ci95: [m - h, m + h] };
}

export const meanOf = mean;
