// KL-then-steer (Stickland et al. 2024): train LoRA adapters so that the model, when steered by
// a random vector with a random coefficient, stays close (in KL) to the original unsteered
// model on benign text. Afterwards the model takes steering with fewer side effects.
//
// One step, per the paper:
//   1. pick a steering vector v from the training set and a coefficient
//      c·U(−1, 1) with probability p, else 0;
//   2. steered forward: LoRA on, v·coeff added to the residual stream at the steering layers;
//   3. reference forward: LoRA off, no steering, no gradients;
//   4. loss = KL(steered+LoRA ‖ original), summed over the vocabulary and averaged over
//      non-padding tokens. (The original code averaged over padding positions too; here padding
//      is masked out, so the loss does not depend on how a batch happens to be padded.)
import { existsSync, join, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from '@kts/tensor/host';
import { Generator, klDivLogits, loadTensors, noGrad, optim, saveTensorsAsync, type Tensor, tensor } from '@kts/tensor';
import { padBatch } from './batch.ts';
import { type AttachedLoRA, attachLoRA, loadLoRAStateDict, loraParameters, loraStateDict, setLoRAEnabled } from './lora.ts';
import type { SteerSpecLike, SteerableModel } from './model.ts';
import type { SteeringVector } from './vector.ts';

export interface KTSOptions {
  steps: number;
  batchSize?: number;
  gradAccum?: number;
  lr?: number;
  warmup?: number;
  weightDecay?: number;
  maxGradNorm?: number;
  rank?: number;
  alpha?: number;
  targets?: string[];
  /** Coefficient scale c: coefficients are c·U(−1, 1). */
  coeff?: number;
  /** Probability p that a step is steered at all. */
  prob?: number;
  /** Layers to steer during training (each gets its own layer's direction). */
  layers: number[];
  seed?: number;
  /** Truncate benign sequences to this many tokens. */
  maxTokens?: number;
  device?: string;
  /** Directory for checkpoints; with `resume`, training continues from the one there. */
  outDir?: string;
  checkpointEvery?: number;
  resume?: boolean;
  /** Re-extract the vectors with the current (LoRA) model every N steps (0: fixed vectors). */
  reextractEvery?: number;
  reextract?: (model: SteerableModel) => Promise<SteeringVector[]>;
  onStep?: (s: StepLog) => void;
  /** Polled after each step; when true, a checkpoint is written and training stops. */
  shouldStop?: () => boolean;
}

export interface StepLog {
  step: number;
  loss: number;
  coeff: number;
  vector: number;
  lr: number;
  tokens: number;
  seconds: number;
}

export interface KTSResult {
  lora: AttachedLoRA;
  history: StepLog[];
  stoppedEarly: boolean;
}

/** Per-step randomness from (seed, step) alone, so a resumed run draws exactly what the uninterrupted one would. */
function stepGenerator(seed: number, stream: number, step: number): Generator {
  return new Generator((Math.imul(seed + 0x9e37, 0x85ebca6b) ^ Math.imul(stream + 1, 0xc2b2ae35) ^ Math.imul(step + 1, 0x27d4eb2f)) >>> 0);
}

/** The benign example indices for one micro-batch: a seeded permutation per epoch. */
function batchIndices(n: number, seed: number, microStep: number, batchSize: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < batchSize; k++) {
    const global = microStep * batchSize + k;
    const epoch = Math.floor(global / n);
    const perm = stepGenerator(seed, 1, epoch).shuffle([...Array(n).keys()]);
    out.push(perm[global % n]!);
  }
  return out;
}

/** Vector and coefficient for a step: c·U(−1, 1) with probability p, else 0. */
export function drawSteering(seed: number, step: number, numVectors: number, c: number, p: number): { vector: number; coeff: number } {
  const g = stepGenerator(seed, 2, step);
  const vector = g.int(numVectors);
  const steered = g.random() < p;
  const u = g.uniform(-1, 1);
  return { vector, coeff: steered ? c * u : 0 };
}

export function steerSpec(v: SteeringVector, layers: number[], coeffs: number[], device?: string): SteerSpecLike {
  const vectors = new Map<number, Tensor>(layers.map((l) => [l, tensor(v.get(l), [1, v.dim], { device })]));
  return { layers, vectors, coeffs: tensor(coeffs, [coeffs.length, 1], { device }) };
}

/** Mean over real tokens of KL(P_steered ‖ P_original) per position. */
export function ktsLoss(steeredLogits: Tensor, originalLogits: Tensor, mask: Tensor): Tensor {
  const kl = klDivLogits(steeredLogits, originalLogits.detach()); // [B, T]
  const m = mask.cast(kl.dtype);
  return kl.mul(m).sum().div(m.sum());
}

interface CheckpointState {
  step: number;
  history: StepLog[];
  optimizerStep: number;
}

async function saveCheckpoint(dir: string, lora: AttachedLoRA, opt: optim.AdamW, state: CheckpointState): Promise<void> {
  // Write everything into a fresh folder, then swap it in: a crash leaves either the old or the new checkpoint.
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await saveTensorsAsync(join(tmp, 'adapter.safetensors'), loraStateDict(lora), { metadata: { format: 'kts-lora', config: JSON.stringify(lora.config) } });
  await saveTensorsAsync(join(tmp, 'optimizer.safetensors'), opt.stateTensors());
  writeFileSync(join(tmp, 'state.json'), JSON.stringify(state));
  const old = `${dir}.old`;
  rmSync(old, { recursive: true, force: true });
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

function findCheckpoint(dir: string): string | null {
  if (existsSync(join(dir, 'state.json'))) return dir;
  if (existsSync(join(`${dir}.old`, 'state.json'))) return `${dir}.old`; // crashed mid-swap
  return null;
}

interface StepContext {
  model: SteerableModel;
  lora: AttachedLoRA;
  params: Tensor[];
  opt: optim.AdamW;
  seqs: number[][];
  layers: number[];
  seed: number;
  batchSize: number;
  gradAccum: number;
  coeff: number;
  prob: number;
  maxGradNorm: number;
  device?: string;
}

/**
 * One KTS step: the paper's steps 1–4, then the optimiser update. One vector and one coefficient
 * are drawn per step and applied to every sequence of the batch (and every micro-batch of it).
 * A step with coefficient 0 still trains: it keeps the adapters from moving the unsteered model.
 */
async function ktsStep(s: StepContext, vectors: SteeringVector[], step: number): Promise<{ loss: number; tokens: number; vector: number; coeff: number }> {
  // 1. draw a vector and a coefficient c·U(−1, 1) with probability p, else 0
  const { vector, coeff } = drawSteering(s.seed, step, vectors.length, s.coeff, s.prob);
  let loss = 0;
  let tokens = 0;
  for (let micro = 0; micro < s.gradAccum; micro++) {
    const idx = batchIndices(s.seqs.length, s.seed, step * s.gradAccum + micro, s.batchSize);
    const batch = padBatch(idx.map((i) => s.seqs[i]!), { side: 'right', padId: 0, device: s.device });
    // 2. reference forward: the original model (adapters off, no steering, no graph)
    setLoRAEnabled(s.lora, false);
    const ref = noGrad(() => s.model.forward(batch.ids, { attentionMask: batch.mask }).logits);
    setLoRAEnabled(s.lora, true);
    // 3. steered forward: adapters on, vector × coefficient added at the steering layers
    const steer = coeff === 0 ? undefined : steerSpec(vectors[vector]!, s.layers, Array(idx.length).fill(coeff), s.device);
    const { logits } = s.model.forward(batch.ids, { attentionMask: batch.mask, steer });
    // 4. loss = KL(steered+LoRA ‖ original) over real tokens; gradients reach the adapters only
    const l = ktsLoss(logits, ref, batch.mask).div(s.gradAccum);
    l.backward();
    loss += await l.itemAsync();
    tokens += batch.lengths.reduce((p, n) => p + n, 0);
  }
  if (Number.isFinite(loss)) {
    optim.clipGradNorm(s.params, s.maxGradNorm);
    s.opt.step();
  }
  s.opt.zeroGrad();
  return { loss, tokens, vector, coeff };
}

export async function trainKTS(model: SteerableModel, benign: number[][], vectorsIn: SteeringVector[], opts: KTSOptions): Promise<KTSResult> {
  const {
    steps, batchSize = 8, gradAccum = 1, lr = 1e-4, warmup = Math.min(10, Math.floor(steps / 10)), weightDecay = 0,
    maxGradNorm = 1, coeff = 1.5, prob = 0.125, seed = 0, maxTokens = 128, device, layers,
  } = opts;
  if (benign.length === 0) throw new Error('trainKTS: no benign training sequences');
  if (vectorsIn.length === 0) throw new Error('trainKTS: no steering vectors');
  for (const v of vectorsIn) for (const l of layers) v.get(l); // fail early if a layer is missing
  let vectors = vectorsIn;
  const lora = attachLoRA(model, { rank: opts.rank ?? 8, alpha: opts.alpha ?? opts.rank ?? 8, targets: opts.targets, seed });
  const params = loraParameters(lora);
  const opt = new optim.AdamW(params, { lr, weightDecay });
  const schedule = optim.warmupCosine({ warmup, total: steps });
  const ckptDir = opts.outDir ? join(opts.outDir, 'checkpoint') : null;
  let history: StepLog[] = [];
  let start = 0;
  if (opts.resume) {
    const found = ckptDir ? findCheckpoint(ckptDir) : null;
    if (!found) throw new Error(`trainKTS: --resume given but no checkpoint in ${ckptDir ?? '(no output dir)'}`);
    const state = JSON.parse(readFileSync(join(found, 'state.json'), 'utf8')) as CheckpointState;
    loadLoRAStateDict(lora, loadTensors(join(found, 'adapter.safetensors'), { device }).tensors, join(found, 'adapter.safetensors'));
    opt.loadStateTensors(loadTensors(join(found, 'optimizer.safetensors'), { device }).tensors, state.optimizerStep);
    history = state.history;
    start = state.step;
    if (opts.reextract && opts.reextractEvery && start > 0) vectors = await opts.reextract(model);
  }
  const seqs = benign.map((s) => s.slice(0, maxTokens));
  const ctx: StepContext = { model, lora, params, opt, seqs, layers, seed, batchSize, gradAccum, coeff, prob, maxGradNorm, device };
  let lastGood = start;
  let stoppedEarly = false;
  for (let step = start; step < steps; step++) {
    if (opts.reextract && opts.reextractEvery && step > 0 && step % opts.reextractEvery === 0 && step !== start) {
      vectors = await opts.reextract(model); // the official code's habit: vectors from the model being trained
    }
    const t0 = performance.now();
    opt.lr = lr * schedule(step);
    const r = await ktsStep(ctx, vectors, step);
    if (!Number.isFinite(r.loss)) {
      throw new Error(`trainKTS: loss is ${r.loss} at step ${step + 1}; stopping. Last good checkpoint: ${ckptDir ? `${ckptDir} (step ${lastGood})` : 'none (no output dir)'}`);
    }
    const log: StepLog = { step: step + 1, loss: r.loss, coeff: r.coeff, vector: r.vector, lr: opt.lr, tokens: r.tokens, seconds: (performance.now() - t0) / 1000 };
    history.push(log);
    opts.onStep?.(log);
    if (opts.shouldStop) await new Promise((r) => setImmediate(r)); // a CPU step never yields: let a Ctrl-C handler run
    const stop = opts.shouldStop?.() ?? false;
    const every = opts.checkpointEvery ?? 0;
    if (ckptDir && (stop || step + 1 === steps || (every > 0 && (step + 1) % every === 0))) {
      await saveCheckpoint(ckptDir, lora, opt, { step: step + 1, history, optimizerStep: opt.stepCount });
      lastGood = step + 1;
    }
    if (stop) {
      stoppedEarly = true;
      break;
    }
  }
  return { lora, history, stoppedEarly };
}
