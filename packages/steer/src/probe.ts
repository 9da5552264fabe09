// Linear probes on the residual stream: logistic regression on one layer's activations (at the
// last token, or averaged over the text), trained with @kts/tensor autograd and AdamW on
// standardised features. Used as a pluggable judge and as the gate of classifier-gated steering.
//
//   p(label = 1 | text) = σ(w · (h − μ) / σ_h + b),   h = decoder-layer `layer` output.
import { readFileSync, writeFileSync } from '@kts/tensor/host';
import { Generator, crossEntropy, optim, stack, tensor, zeros } from '@kts/tensor';
import type { Judge } from './eval.ts';
import { collectActivations } from './extract.ts';
import type { SteerableModel, TokenizerLike } from './model.ts';

export interface ProbeExample {
  ids: number[];
  label: 0 | 1;
}

export type ProbePosition = 'last' | 'mean';

export interface ProbeFitOptions {
  /** Full-batch AdamW steps. */
  epochs?: number;
  lr?: number;
  /** Decoupled weight decay on w (never on the bias). */
  weightDecay?: number;
  /** Seeds the (small, random) initial weights. */
  seed?: number;
  /** p ≥ threshold flags a text (see `flag`). */
  threshold?: number;
}

export interface ProbeTrainOptions extends ProbeFitOptions {
  layer: number;
  position?: ProbePosition;
  /** Activation batch size. */
  batchSize?: number;
  device?: string;
}

export interface ProbeRunOptions {
  batchSize?: number;
  device?: string;
}

/** The JSON a probe is saved as. */
export interface ProbeJSON {
  format: 'kts-linear-probe';
  layer: number;
  position: ProbePosition;
  weights: number[];
  bias: number;
  mean: number[];
  std: number[];
  threshold: number;
  /** Training loss per epoch (first, last) and anything the caller wants recorded. */
  meta: Record<string, string | number>;
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Per-feature mean and standard deviation (population); constant features get std 1. */
function standardisation(rows: Float64Array[]): { mean: Float64Array; std: Float64Array } {
  const D = rows[0]!.length;
  const mean = new Float64Array(D);
  const std = new Float64Array(D);
  for (const r of rows) for (let k = 0; k < D; k++) mean[k]! += r[k]! / rows.length;
  for (const r of rows) for (let k = 0; k < D; k++) std[k]! += (r[k]! - mean[k]!) ** 2 / rows.length;
  for (let k = 0; k < D; k++) std[k] = Math.sqrt(std[k]!) > 1e-8 ? Math.sqrt(std[k]!) : 1;
  return { mean, std };
}

export class LinearProbe {
  constructor(
    /** kts layer index (HF model.layers[i] output) the probe reads. */
    readonly layer: number,
    readonly position: ProbePosition,
    readonly weights: Float64Array,
    readonly bias: number,
    readonly mean: Float64Array,
    readonly std: Float64Array,
    /** p ≥ threshold flags a text. Above 1 nothing is flagged; 0 flags everything. */
    public threshold = 0.5,
    readonly meta: Record<string, string | number> = {},
  ) {
    if (weights.length !== mean.length || weights.length !== std.length) {
      throw new Error(`LinearProbe: weights (${weights.length}), mean (${mean.length}) and std (${std.length}) must have one entry per hidden unit`);
    }
  }

  /** Trains a probe on `examples` read from `model` at `layer` (activations via collectActivations). */
  static async train(model: SteerableModel, tok: TokenizerLike, examples: ProbeExample[], opts: ProbeTrainOptions): Promise<LinearProbe> {
    const { layer, position = 'last', batchSize = 16, device } = opts;
    if (layer < 0 || layer >= model.config.numHiddenLayers) throw new Error(`LinearProbe.train: layer ${layer} out of range (model has ${model.config.numHiddenLayers})`);
    const rows = await probeActivations(model, tok, examples.map((e) => e.ids), layer, position, { batchSize, device });
    const fitted = LinearProbe.fit(rows, examples.map((e) => e.label), opts);
    return new LinearProbe(layer, position, fitted.weights, fitted.bias, fitted.mean, fitted.std, fitted.threshold, { ...fitted.meta, examples: examples.length });
  }

  /**
   * Logistic regression on activation rows (the pure part of `train`): standardise, then minimise
   * mean binary cross-entropy with full-batch AdamW (decay on w only). Returns the probe's
   * parameters with layer/position left to the caller.
   */
  static fit(rows: Float64Array[], labels: (0 | 1)[], opts: ProbeFitOptions = {}): {
    weights: Float64Array; bias: number; mean: Float64Array; std: Float64Array; threshold: number; losses: number[]; meta: Record<string, number>;
  } {
    const { epochs = 300, lr = 0.05, weightDecay = 0.01, seed = 0, threshold = 0.5 } = opts;
    if (rows.length !== labels.length) throw new Error(`LinearProbe.fit: ${rows.length} activation rows but ${labels.length} labels`);
    if (!labels.includes(0) || !labels.includes(1)) throw new Error('LinearProbe.fit: needs examples of both labels (0 and 1)');
    const N = rows.length;
    const D = rows[0]!.length;
    const { mean, std } = standardisation(rows);
    const x = new Float32Array(N * D);
    rows.forEach((r, i) => { for (let k = 0; k < D; k++) x[i * D + k] = (r[k]! - mean[k]!) / std[k]!; });
    const X = tensor(x, [N, D]);
    const y = tensor(Int32Array.from(labels), [N]);
    const g = new Generator(seed);
    const w = tensor(Float32Array.from({ length: D }, () => 0.01 * g.normal()), [D, 1], { requiresGrad: true });
    const b = zeros([1], { requiresGrad: true });
    const optW = new optim.AdamW([w], { lr, weightDecay });
    const optB = new optim.AdamW([b], { lr, weightDecay: 0 });
    const zeroLogit = zeros([N]);
    const losses: number[] = [];
    for (let epoch = 0; epoch < epochs; epoch++) {
      const z = X.matmul(w).reshape([N]).add(b); // logit of label 1
      // Binary cross-entropy as two-class cross-entropy on logits [0, z]: log(1 + e^z) − y·z, stable.
      const loss = crossEntropy(stack([zeroLogit, z], 1), y);
      loss.backward();
      optW.step();
      optB.step();
      optW.zeroGrad();
      optB.zeroGrad();
      losses.push(loss.item());
    }
    return {
      weights: Float64Array.from(w.toArray()), bias: b.item(), mean, std, threshold, losses,
      meta: { epochs, lr, weightDecay, seed, firstLoss: losses[0] ?? NaN, finalLoss: losses.at(-1) ?? NaN },
    };
  }

  /** p(label 1) for each activation row (raw, unstandardised activations of this probe's layer/position). */
  probaFromActivations(rows: Float64Array[]): number[] {
    return rows.map((r) => {
      if (r.length !== this.weights.length) throw new Error(`LinearProbe: activation has ${r.length} units, the probe ${this.weights.length}`);
      let z = this.bias;
      for (let k = 0; k < r.length; k++) z += (this.weights[k]! * (r[k]! - this.mean[k]!)) / this.std[k]!;
      return sigmoid(z);
    });
  }

  async predictProba(model: SteerableModel, tok: TokenizerLike, seqs: number[][], opts: ProbeRunOptions = {}): Promise<number[]> {
    if (model.config.hiddenSize !== this.weights.length) throw new Error(`LinearProbe: probe has ${this.weights.length} inputs, the model's hidden size is ${model.config.hiddenSize}`);
    if (seqs.length === 0) return [];
    return this.probaFromActivations(await probeActivations(model, tok, seqs, this.layer, this.position, opts));
  }

  /** p ≥ threshold per sequence: the gate of classifier-gated steering. */
  async flag(model: SteerableModel, tok: TokenizerLike, seqs: number[][], opts: ProbeRunOptions = {}): Promise<boolean[]> {
    return (await this.predictProba(model, tok, seqs, opts)).map((p) => p >= this.threshold);
  }

  /** Share of examples whose flag (p ≥ threshold) equals their label. */
  async accuracy(model: SteerableModel, tok: TokenizerLike, examples: ProbeExample[], opts: ProbeRunOptions = {}): Promise<number> {
    if (examples.length === 0) throw new Error('LinearProbe.accuracy: no examples');
    const flags = await this.flag(model, tok, examples.map((e) => e.ids), opts);
    return flags.filter((f, i) => f === (examples[i]!.label === 1)).length / examples.length;
  }

  /** A copy with another threshold. */
  withThreshold(threshold: number): LinearProbe {
    return new LinearProbe(this.layer, this.position, this.weights, this.bias, this.mean, this.std, threshold, this.meta);
  }

  toJSON(): ProbeJSON {
    return {
      format: 'kts-linear-probe', layer: this.layer, position: this.position, weights: [...this.weights], bias: this.bias,
      mean: [...this.mean], std: [...this.std], threshold: this.threshold, meta: this.meta,
    };
  }

  static fromJSON(j: ProbeJSON, label = 'probe'): LinearProbe {
    if (j?.format !== 'kts-linear-probe') throw new Error(`${label}: not a kts linear probe (format '${String(j?.format)}')`);
    if (j.position !== 'last' && j.position !== 'mean') throw new Error(`${label}: position must be 'last' or 'mean', got '${String(j.position)}'`);
    for (const k of ['weights', 'mean', 'std'] as const) {
      if (!Array.isArray(j[k]) || !j[k].every(Number.isFinite)) throw new Error(`${label}: '${k}' must be an array of finite numbers`);
    }
    return new LinearProbe(j.layer, j.position, Float64Array.from(j.weights), j.bias, Float64Array.from(j.mean), Float64Array.from(j.std), j.threshold ?? 0.5, j.meta ?? {});
  }

  save(path: string): void {
    writeFileSync(path, `${JSON.stringify(this.toJSON())}\n`);
  }

  static load(path: string): LinearProbe {
    let j: ProbeJSON;
    try {
      j = JSON.parse(readFileSync(path, 'utf8')) as ProbeJSON;
    } catch (e) {
      throw new Error(`${path}: invalid JSON (${(e as Error).message})`);
    }
    return LinearProbe.fromJSON(j, path);
  }
}

/**
 * The probe's features: decoder-layer `layer` outputs at the last token, or averaged over the
 * text's tokens after BOS (the BOS position is the same for every text and would otherwise add a
 * 1/length term).
 */
export async function probeActivations(model: SteerableModel, tok: TokenizerLike, seqs: number[][], layer: number, position: ProbePosition, opts: ProbeRunOptions = {}): Promise<Float64Array[]> {
  const texts = seqs.map((ids) => {
    if (ids.length === 0) throw new Error('probe: empty token sequence');
    const skipBos = position === 'mean' && ids.length > 1 && tok.bosId != null && ids[0] === tok.bosId;
    return { ids, answerFrom: skipBos ? 1 : 0 };
  });
  const acts = await collectActivations(model, tok, texts, [layer], position === 'last' ? 'last' : 'answer-mean', opts.batchSize ?? 16, opts.device);
  return acts.get(layer)!;
}

/**
 * The paper's pluggable judge, as a probe: scores each text by the probe's probability of
 * label 1 (texts are tokenised with BOS, as the probe's training texts should be).
 */
export function probeJudge(model: SteerableModel, tok: TokenizerLike, probe: LinearProbe, opts: ProbeRunOptions & { bos?: boolean; parseSpecial?: boolean } = {}): Judge {
  const { bos = true, parseSpecial = false, ...run } = opts;
  return (texts) => probe.predictProba(model, tok, texts.map((t) => tok.encode(t, { bos, parseSpecial })), run);
}
