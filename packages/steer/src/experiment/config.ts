// Settings of the KTS experiment (`kts experiment`, `npm run experiment`) and of its quick
// version (`npm run demo`). One place, so the demo is the same protocol with smaller numbers.

export type ModelKind = 'original' | 'kts' | 'kts-random' | 'kts-in-dist';
export type VectorSource = 'base' | 'self';

export interface EvalConcept {
  family: string;
  concept: string;
}

export interface KTSSettings {
  steps: number;
  batchSize: number;
  lr: number;
  rank: number;
  /** Probability that a step is steered (the paper: 0.125). */
  prob: number;
  /** Coefficients are c·U(−1, 1) with c = rangeFactor × the largest evaluated non-degenerate coefficient. */
  rangeFactor: number;
  maxTokens: number;
}

export interface ExperimentConfig {
  model: string;
  data: string;
  out: string;
  /** Resumable state (measurements, checkpoints); not part of the results. */
  work: string;
  device: 'auto' | 'cpu' | 'webgpu';
  /** Steering layers ('default': the paper's fraction of the depth). */
  layers: number[] | 'default';
  /** Families whose vectors KTS trains on. */
  trainFamilies: string[];
  /** Held out entirely from training: no vector of these families is ever trained on. */
  heldOutFamilies: string[];
  /** The held-out concepts evaluated (family 'sentiment', concept 'negative': the negative − positive vector). */
  evalConcepts: EvalConcept[];
  /** Negatives of a concept's contrast pairs: each example's own contrast (same text, another concept of the family) or other concepts' examples shuffled (the official code's way). */
  negatives: 'matched' | 'shuffled';
  /** Examples per concept used for extraction (at most). */
  examplesPerConcept: number;
  /** Concepts per family whose vectors are made (null: all); evaluated concepts are always made. */
  conceptsPerFamily: number | null;
  /** Geometric coefficients from KL ≈ klLow to KL ≈ entropy, plus multiples of the top one (degenerate region). */
  coefficients: { count: number; klLow: number; beyond: number[]; scanStep: number; explicit?: number[] };
  kts: KTSSettings;
  /** Seeds of the KTS models; controls use controlSeeds. */
  seeds: number[];
  /** Controls: KTS on random directions of matched norm, and on the training plus the evaluated vectors. */
  controls: { random: boolean; inDist: boolean; seeds: number[]; protocols: VectorSource[] };
  protocols: VectorSource[];
  benignEval: number;
  behaviourPrompts: number;
  generationPrompts: number;
  continuationTokens: number;
  levels: number[];
  bootstrap: number;
  batchSize: number;
}

export const FULL: Omit<ExperimentConfig, 'model' | 'data' | 'out' | 'work' | 'device'> = {
  layers: 'default',
  trainFamilies: ['place', 'activity', 'object', 'color'],
  heldOutFamilies: ['weather', 'creature', 'sentiment'],
  // The unsteered model continues "… she felt" with a positive word: the measurable direction is negative.
  evalConcepts: [{ family: 'weather', concept: 'snowy' }, { family: 'creature', concept: 'owl' }, { family: 'sentiment', concept: 'negative' }],
  negatives: 'matched',
  examplesPerConcept: 48,
  conceptsPerFamily: null,
  coefficients: { count: 10, klLow: 0.003, beyond: [1.5, 2], scanStep: Math.SQRT2 },
  // Chosen by scripts/kts-tuning.ts on training families only (results/kts/tuning/tuning.md).
  kts: { steps: 1000, batchSize: 8, lr: 1e-4, rank: 8, prob: 0.125, rangeFactor: 2, maxTokens: 64 },
  seeds: [1, 2, 3, 4, 5],
  controls: { random: true, inDist: true, seeds: [1, 2, 3], protocols: ['base'] },
  protocols: ['base', 'self'],
  benignEval: 96,
  behaviourPrompts: 48,
  generationPrompts: 16,
  continuationTokens: 10,
  levels: [0.25, 0.5, 0.75],
  bootstrap: 1000,
  batchSize: 16,
};

/** The demo's version of the same protocol: one KTS seed, no controls, fewer vectors, coefficients and prompts. */
export const QUICK: Omit<ExperimentConfig, 'model' | 'data' | 'out' | 'work' | 'device'> = {
  ...FULL,
  evalConcepts: [{ family: 'weather', concept: 'snowy' }, { family: 'sentiment', concept: 'negative' }],
  examplesPerConcept: 16,
  conceptsPerFamily: 4,
  coefficients: { count: 5, klLow: 0.003, beyond: [2], scanStep: 2 },
  kts: { ...FULL.kts, steps: 300 },
  seeds: [1],
  controls: { random: false, inDist: false, seeds: [], protocols: [] },
  protocols: ['base'],
  benignEval: 48,
  behaviourPrompts: 32,
  generationPrompts: 8,
  bootstrap: 200,
};

export interface ConfigOptions {
  model: string;
  data: string;
  out: string;
  work?: string;
  device: 'auto' | 'cpu' | 'webgpu';
  quick?: boolean;
  seeds?: number[];
  controlSeeds?: number[];
  /** Fixed coefficients (residual-norm units) instead of the calibrated grid. */
  coeffs?: number[];
  steps?: number;
}

export function configFor(o: ConfigOptions): ExperimentConfig {
  const base = o.quick ? QUICK : FULL;
  const coeffs = o.coeffs?.filter((c) => c !== 0);
  if (coeffs?.some((c) => c < 0)) throw new Error(`--coeffs: coefficients steer towards the concept and must be positive, got ${o.coeffs!.join(',')}`);
  return {
    ...base, model: o.model, data: o.data, out: o.out, work: o.work ?? `${o.out}/work`, device: o.device,
    seeds: o.seeds ?? base.seeds,
    controls: { ...base.controls, seeds: o.controlSeeds ?? base.controls.seeds },
    coefficients: coeffs?.length ? { ...base.coefficients, explicit: [...coeffs].sort((a, b) => a - b) } : base.coefficients,
    kts: { ...base.kts, steps: o.steps ?? base.kts.steps },
  };
}
