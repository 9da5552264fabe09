// The KTS experiment end to end, resumable: every finished curve and KTS model is kept under
// cfg.work, so a killed run continues where it stopped (KTS training from its last checkpoint).
//
//  1. vectors: one per concept of every family (base model), calibrated to residual-norm units;
//     cosines between held-out and training vectors;
//  2. coefficients per evaluated concept: geometric, from KL ≈ klLow to KL ≈ entropy on the
//     original model, plus multiples of the top one (degenerate for the original);
//  3. the original model's curves;
//  4. KTS models (seeds), and controls: random directions of matched norm, and training vectors
//     plus the evaluated ones (in-distribution);
//  5. every KTS model's curves, with base-model vectors and with vectors re-extracted from it;
//  6. statistics, plots, report and summary.json (see summarize.ts).
import { existsSync, join, mkdirSync, readFileSync, resolve, rmSync } from '@kts/tensor/host';
import { type LlamaForCausalLM, loadModel, loadTokenizer } from '@kts/llama';
import { noGrad, type Tensor } from '@kts/tensor';
import { loadPeftAdapter, savePeftAdapter } from '../adapter.ts';
import { sideEffectKLPerText } from '../eval.ts';
import { selectDevice } from '../device.ts';
import { chatFormatterFor } from '../format.ts';
import { trainKTS } from '../kts.ts';
import { defaultSteerLayers, resolveLayers } from '../layers.ts';
import { Progress } from '../progress.ts';
import { writeAtomic } from '../report.ts';
import { SteeringVector, checkVectorFits } from '../vector.ts';
import type { EvalConcept, ExperimentConfig, ModelKind, VectorSource } from './config.ts';
import { type ExperimentData, conceptKey, loadExperimentData } from './data.ts';
import { type ExperimentModel, KL_BATCH, type MeasureSetup, measurePoint, referenceFor } from './measure.ts';
import { type Curve, pooledKL } from './stats.ts';
import { type VectorContext, calibrationScale, conceptVector, maxAbsCos, randomLike, residualNorms } from './vectors.ts';

/** A concept's name in results and file names (concept names are unique across families; sentiment's are positive / negative). */
export const conceptName = (c: EvalConcept): string => c.concept;

export interface ExperimentState {
  cfg: ExperimentConfig;
  device: string;
  deviceDescription: string;
  layers: number[];
  entropy: number;
  residualNorms: Record<number, number>;
  trainConcepts: string[];
  maxAbsCos: ReturnType<typeof maxAbsCos>;
  /** Base-model vectors (raw) and their calibration scales, by concept name. */
  vectors: Map<string, SteeringVector>;
  scales: Map<string, number>;
  grids: Record<string, number[]>;
  trainedRange: number;
  curves: Curve[];
  /** Per KTS model: training history (loss per step) and seconds. */
  training: { model: ModelKind; seed: number; adapter: string; seconds: number; lossFirst: number; lossLast: number }[];
  /** Self vectors (file, scale) per model/seed/concept. */
  selfVectors: { model: ModelKind; seed: number; concept: string; file: string; scale: number }[];
  /** The benign texts the KL is computed on, as records. */
  benign: { prompt: string; response: string }[];
  seconds: number;
}

interface Ctx {
  cfg: ExperimentConfig;
  say: (s: string) => void;
  device: string;
  tok: Awaited<ReturnType<typeof loadTokenizer>>;
  data: ExperimentData;
  setup: MeasureSetup;
  layers: number[];
  norms: Map<number, number>;
  shouldStop: () => boolean;
}

function readJson<T>(path: string): T | null {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : null;
}

/** Predictive entropy of the original model (nats/token), pooled over every position of the benign texts. */
async function entropyOf(reference: Tensor[], benign: number[][], batch: number): Promise<number> {
  let sum = 0;
  let count = 0;
  for (const [g, logits] of reference.entries()) {
    const lsm = noGrad(() => logits.logSoftmax(-1));
    const [B, T, V] = lsm.shape as [number, number, number];
    const lp = await lsm.data();
    for (let i = 0; i < B; i++) {
      const len = benign[g * batch + i]!.length;
      for (let t = 0; t < len; t++) {
        let h = 0;
        for (let v = 0; v < V; v++) {
          const l = lp[(i * T + t) * V + v]!;
          h -= Math.exp(l) * l;
        }
        sum += h;
        count++;
      }
    }
  }
  return sum / count;
}

/** Overall progress across stages: points measured and KTS steps, with an ETA from the rates so far. */
class Overall {
  private done = { points: 0, steps: 0 };
  private secs = { points: 0, steps: 0 };
  constructor(private total: { points: number; steps: number }, private say: (s: string) => void) {}
  add(kind: 'points' | 'steps', n: number, seconds: number): void {
    this.done[kind] += n;
    this.secs[kind] += seconds;
  }
  report(label: string): void {
    const rate = (k: 'points' | 'steps') => (this.done[k] ? this.secs[k] / this.done[k] : k === 'points' ? 4 : 1);
    const left = (this.total.points - this.done.points) * rate('points') + (this.total.steps - this.done.steps) * rate('steps');
    const h = Math.floor(left / 3600);
    const m = Math.round((left % 3600) / 60);
    this.say(`[experiment] ${label}: ${this.done.points}/${this.total.points} points, ${this.done.steps}/${this.total.steps} KTS steps; ETA ${h}h${String(m).padStart(2, '0')}m`);
  }
}

/** The vector of a concept at coefficient `coeff` in calibrated units is vector × (coeff × scale). */
async function measureCurve(ctx: Ctx, m: ExperimentModel, c: EvalConcept, vector: SteeringVector, scale: number, coeffs: number[], overall: Overall): Promise<Curve['points']> {
  const prompts = ctx.data.behaviour.get(c.family)!;
  const behaviour = {
    prompts: prompts.slice(0, ctx.cfg.behaviourPrompts), generationPrompts: prompts.slice(0, ctx.cfg.generationPrompts),
    targets: ctx.data.targets.get(conceptKey(c))!, targetWords: ctx.data.targetWords.get(conceptKey(c))!,
  };
  const points: Curve['points'] = [];
  for (const coeff of coeffs) {
    const t0 = performance.now();
    points.push({ coeff, rawCoeff: coeff * scale, m: await measurePoint(m, ctx.setup, vector, coeff * scale, behaviour) });
    overall.add('points', 1, (performance.now() - t0) / 1000);
  }
  return points;
}

/** The original model's pooled side-effect KL at a raw coefficient. */
async function originalKL(ctx: Ctx, original: ExperimentModel, vector: SteeringVector, rawCoeff: number): Promise<number> {
  const per = await sideEffectKLPerText(original, { vector, layers: ctx.layers, coeff: rawCoeff }, ctx.setup.benign.map((b) => b.ids), { batchSize: KL_BATCH, device: ctx.device }, ctx.setup.reference);
  return per.reduce((a, t) => a + t.sum, 0) / per.reduce((a, t) => a + t.count, 0);
}

/**
 * Coefficients (calibrated units) where the original's KL reaches each target: a scan upwards in
 * steps of `step` from 1/64 of a residual norm, interpolated in log–log between the scanned points.
 */
async function coeffsForKL(ctx: Ctx, original: ExperimentModel, vector: SteeringVector, scale: number, targets: number[], step: number): Promise<number[]> {
  const scan: { c: number; kl: number }[] = [];
  for (let c = 1 / 64; c < 2e3; c *= step) {
    scan.push({ c, kl: await originalKL(ctx, original, vector, c * scale) });
    if (scan.at(-1)!.kl >= Math.max(...targets)) break;
  }
  return targets.map((target) => {
    const i = scan.findIndex((p) => p.kl >= target);
    if (i < 0) throw new Error(`calibration: the original's KL never reaches ${target} for ${vector.meta.concept} (steering saturates below it)`);
    if (i === 0) return scan[0]!.c * (target / scan[0]!.kl); // KL grows about quadratically; a linear guess below the scan is conservative
    const [a, b] = [scan[i - 1]!, scan[i]!];
    const f = a.kl > 0 ? Math.log(target / a.kl) / Math.log(b.kl / a.kl) : 1;
    return a.c * (b.c / a.c) ** f;
  });
}

/**
 * The evaluated vectors the in-distribution control adds to the training set, each repeated so
 * that a quarter of its steered steps use one of them (added once, 3 among 45 vectors would be
 * drawn in 1 step of 15).
 */
export function inDistExtra(cfg: ExperimentConfig, nTrain: number): EvalConcept[] {
  const copies = Math.max(1, Math.round(nTrain / (3 * cfg.evalConcepts.length)));
  return cfg.evalConcepts.flatMap((c) => Array<EvalConcept>(copies).fill(c));
}

/** A sweep whose every steered point breaks the original model measures nothing: say which values to change. */
export function checkNotAllDegenerate(curve: Curve, entropy: number, source: string): void {
  const steered = curve.points.filter((p) => p.coeff !== 0);
  const kls = steered.map((p) => pooledKL(p.m));
  if (steered.length && kls.every((kl) => kl > entropy)) {
    throw new Error(`${source}: every coefficient (${steered.map((p) => p.coeff).join(', ')}) gives the original model a side-effect KL above its entropy (${entropy.toFixed(3)} nats/token) for '${curve.concept}'; ` +
      `the smallest, ${steered[0]!.coeff}, gives ${kls[0]!.toFixed(3)}. Use smaller coefficients (residual-norm units), or omit --coeffs for the calibrated grid.`);
  }
}

export function adapterDirName(model: ModelKind, seed: number): string {
  return model === 'kts' ? `seed-${seed}` : `${model}-seed-${seed}`;
}

function curveFile(cfg: ExperimentConfig, model: string, seed: number | null, concept: string, source: string): string {
  return join(cfg.work, 'curves', `${model}-${seed ?? 0}-${concept}-${source}.json`);
}

export async function runExperiment(cfg: ExperimentConfig, say: (s: string) => void, shouldStop: () => boolean = () => false): Promise<ExperimentState | null> {
  const started = performance.now();
  const choice = await selectDevice(cfg.device);
  const device = choice.device;
  say(`backend: ${choice.description}`);
  for (const d of [cfg.out, cfg.work, join(cfg.work, 'curves'), join(cfg.out, 'vectors')]) mkdirSync(d, { recursive: true });

  const base = await loadModel(cfg.model, { device });
  const tok = await loadTokenizer(cfg.model);
  const format = chatFormatterFor(tok);
  const layers = cfg.layers === 'default' ? defaultSteerLayers(base.numLayers) : resolveLayers(cfg.layers, base.numLayers);
  const data = loadExperimentData(cfg, tok, format);
  const original: ExperimentModel = { name: 'original', model: base, llama: base, lora: null };
  const reference = referenceFor(original, data.benignEval, device);
  const setup: MeasureSetup = {
    tok, layers, device, batchSize: cfg.batchSize, benign: data.benignEval, reference, vocabulary: data.vocabulary, continuationTokens: cfg.continuationTokens,
  };
  const entropy = await entropyOf(reference, data.benignEval.map((b) => b.ids), 8);
  say(`model ${cfg.model}: ${base.numLayers} layers, hidden ${base.config.hiddenSize}; steering layers ${layers.join(',')}; entropy on ${data.benignEval.length} benign texts ${entropy.toFixed(4)} nats/token`);

  // ---- 1. vectors ----
  const vctx: VectorContext = { model: base, tok, layers, device, batchSize: cfg.batchSize };
  const familyConcepts = (f: string): EvalConcept[] => {
    if (f === 'sentiment') return cfg.evalConcepts.some((c) => c.family === f) ? cfg.evalConcepts.filter((c) => c.family === f) : [{ family: f, concept: 'positive' }];
    const all = [...data.concepts.get(f)!.keys()];
    const evaluated = cfg.evalConcepts.filter((c) => c.family === f).map((c) => c.concept);
    const kept = cfg.conceptsPerFamily === null ? all : [...new Set([...evaluated, ...all.slice(0, cfg.conceptsPerFamily)])];
    return kept.map((concept) => ({ family: f, concept }));
  };
  const trainConcepts = cfg.trainFamilies.flatMap(familyConcepts);
  const heldOutConcepts = cfg.heldOutFamilies.flatMap(familyConcepts);
  const names = new Set<string>();
  for (const c of [...trainConcepts, ...heldOutConcepts]) {
    if (names.has(conceptName(c))) throw new Error(`experiment: two concepts are called '${conceptName(c)}'; vector files need unique names`);
    names.add(conceptName(c));
  }
  const vectors = new Map<string, SteeringVector>();
  let t = performance.now();
  const vprog = new Progress('vectors', trainConcepts.length + heldOutConcepts.length, { every: 10 });
  for (const [i, c] of [...trainConcepts, ...heldOutConcepts].entries()) {
    const file = join(cfg.out, 'vectors', `${conceptName(c)}.gguf`);
    let v: SteeringVector;
    if (existsSync(file)) {
      v = SteeringVector.load(file);
      checkVectorFits(v, layers, base.config.hiddenSize, base.numLayers, file);
    } else {
      v = await conceptVector(vctx, data, cfg, c.family, c.concept);
      v.save(file, { layerCount: base.numLayers });
    }
    vectors.set(conceptName(c), v);
    vprog.update(i + 1);
  }
  vprog.stop();
  const normTexts = trainConcepts.flatMap((c) => data.concepts.get(c.family)!.get(c.concept)!.slice(0, 4)).map((e) => tok.encode(e.sentence, { bos: true }));
  const norms = await residualNorms(vctx, normTexts);
  const scales = new Map([...vectors].map(([n, v]) => [n, calibrationScale(v, norms, layers)]));
  const cos = maxAbsCos(heldOutConcepts.map((c) => vectors.get(conceptName(c))!), trainConcepts.map((c) => vectors.get(conceptName(c))!), layers);
  say(`vectors: ${trainConcepts.length} training (${cfg.trainFamilies.join(', ')}), ${heldOutConcepts.length} held out (${cfg.heldOutFamilies.join(', ')}) in ${((performance.now() - t) / 1000).toFixed(0)} s; ` +
    `residual norms ${layers.map((l) => `L${l} ${norms.get(l)!.toFixed(2)}`).join(', ')}; max |cos| held-out vs training ${cos.map((x) => `L${x.layer} ${x.maxAbsCos.toFixed(3)} (${x.heldOut}/${x.train})`).join(', ')}`);
  if (cos.some((x) => x.maxAbsCos >= 0.5)) say('[experiment] WARNING: a held-out vector has |cos| ≥ 0.5 with a training vector; the held-out split is not clean');

  const ctx: Ctx = { cfg, say, device, tok, data, setup, layers, norms, shouldStop };

  // ---- 2. coefficient grids ----
  const gridFile = join(cfg.work, 'grids.json');
  let grids = readJson<Record<string, number[]>>(gridFile);
  if (!grids && cfg.coefficients.explicit) grids = Object.fromEntries(cfg.evalConcepts.map((c) => [conceptName(c), [0, ...cfg.coefficients.explicit!]]));
  if (!grids) {
    grids = {};
    t = performance.now();
    for (const c of cfg.evalConcepts) {
      const n = conceptName(c);
      // Under RMSNorm a huge vector saturates: the KL then stops growing. Aim below that ceiling.
      const ceiling = await originalKL(ctx, original, vectors.get(n)!, 1000 * scales.get(n)!);
      const top = Math.min(entropy, 0.9 * ceiling);
      if (top < entropy) say(`${n}: the original's KL saturates at ${ceiling.toFixed(3)} < entropy; the grid ends at KL ${top.toFixed(3)}`);
      const [lo, hi] = await coeffsForKL(ctx, original, vectors.get(n)!, scales.get(n)!, [cfg.coefficients.klLow, top], cfg.coefficients.scanStep);
      const k = cfg.coefficients.count;
      const geo = Array.from({ length: k }, (_, i) => lo * (hi / lo) ** (i / (k - 1)));
      grids[n] = [0, ...geo, ...cfg.coefficients.beyond.map((b) => hi * b)].map((x) => +x.toPrecision(4));
      say(`coefficients for ${n}: KL ${cfg.coefficients.klLow} at ${lo.toPrecision(3)}, KL ${top.toFixed(3)} at ${hi.toPrecision(3)} (residual-norm units)`);
    }
    writeAtomic(gridFile, JSON.stringify(grids));
    say(`coefficient grids in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  }
  const topNonDegenerate = Math.max(...cfg.evalConcepts.map((c) => (cfg.coefficients.explicit ? Math.max(...cfg.coefficients.explicit) : grids![conceptName(c)]![cfg.coefficients.count]!)));
  const trainedRange = cfg.kts.rangeFactor * topNonDegenerate;

  // ---- plan ----
  const variants: { model: ModelKind; seeds: number[]; protocols: VectorSource[] }[] = [
    { model: 'kts', seeds: cfg.seeds, protocols: cfg.protocols },
    ...(cfg.controls.random ? [{ model: 'kts-random' as const, seeds: cfg.controls.seeds, protocols: cfg.controls.protocols }] : []),
    ...(cfg.controls.inDist ? [{ model: 'kts-in-dist' as const, seeds: cfg.controls.seeds, protocols: cfg.controls.protocols }] : []),
  ];
  const nCoeffs = cfg.evalConcepts.reduce((a, c) => a + grids![conceptName(c)]!.length, 0);
  const nModels = variants.reduce((a, v) => a + v.seeds.length, 0);
  const nCurves = variants.reduce((a, v) => a + v.seeds.length * v.protocols.length, 1);
  const overall = new Overall({ points: nCoeffs * nCurves, steps: nModels * cfg.kts.steps }, say);

  // ---- 3. original curves ----
  const curves: Curve[] = [];
  const curveOf = async (m: ExperimentModel, kind: ModelKind, seed: number | null, c: EvalConcept, source: VectorSource, v: SteeringVector, scale: number, range: number): Promise<Curve> => {
    const file = curveFile(cfg, kind, seed, conceptName(c), source);
    const cached = readJson<Curve>(file);
    if (cached) {
      overall.add('points', cached.points.length, 0);
      return { ...cached, trainedRange: range };
    }
    const curve: Curve = { model: kind, seed, concept: conceptName(c), vectorSource: source, trainedRange: range, points: await measureCurve(ctx, m, c, v, scale, grids![conceptName(c)]!, overall) };
    writeAtomic(file, JSON.stringify({ ...curve, trainedRange: Number.isFinite(range) ? range : null }));
    return curve;
  };
  for (const c of cfg.evalConcepts) {
    const n = conceptName(c);
    const curve = await curveOf(original, 'original', null, c, 'base', vectors.get(n)!, scales.get(n)!, Infinity);
    curves.push(curve, { ...curve, vectorSource: 'self' }); // the original's own vectors are the base vectors
    overall.report(`original ${n}`);
    checkNotAllDegenerate(curve, entropy, cfg.coefficients.explicit ? '--coeffs' : 'the calibrated grid');
  }

  // ---- 4–5. KTS models and their curves ----
  const training: ExperimentState['training'] = [];
  const selfVectors: ExperimentState['selfVectors'] = [];
  const calibrated = (n: string) => vectors.get(n)!.scale(scales.get(n)!);
  const trainSet = trainConcepts.map((c) => calibrated(conceptName(c)));
  for (const variant of variants) {
    for (const seed of variant.seeds) {
      if (shouldStop()) return null;
      const dirName = adapterDirName(variant.model, seed);
      const adapterDir = join(cfg.out, 'adapters', dirName);
      const doneFile = join(cfg.work, 'kts', dirName, 'done.json');
      const llama: LlamaForCausalLM = await loadModel(cfg.model, { device });
      let lora;
      let info = readJson<ExperimentState['training'][number]>(doneFile);
      if (info && existsSync(join(adapterDir, 'adapter_config.json'))) {
        lora = loadPeftAdapter(llama, adapterDir);
        overall.add('steps', cfg.kts.steps, 0);
      } else {
        const vecs = variant.model === 'kts-random' ? trainSet.map((v, i) => randomLike(v, 1000 * seed + i))
          : variant.model === 'kts-in-dist' ? [...trainSet, ...inDistExtra(cfg, trainSet.length).map((c) => calibrated(conceptName(c)))] : trainSet;
        const outDir = join(cfg.work, 'kts', dirName);
        const resume = existsSync(join(outDir, 'checkpoint', 'state.json')) || existsSync(join(outDir, 'checkpoint.old', 'state.json'));
        t = performance.now();
        const progress = new Progress(`kts ${dirName}`, cfg.kts.steps, { every: 25 });
        const result = await trainKTS(llama, data.benignTrain, vecs, {
          steps: cfg.kts.steps, batchSize: cfg.kts.batchSize, lr: cfg.kts.lr, rank: cfg.kts.rank, alpha: cfg.kts.rank, prob: cfg.kts.prob, coeff: trainedRange,
          layers, seed, maxTokens: cfg.kts.maxTokens, device, outDir, checkpointEvery: 25, resume,
          onStep: (s) => {
            progress.update(s.step, { loss: s.loss, tokens: s.tokens });
            overall.add('steps', 1, s.seconds);
          },
          shouldStop,
        });
        progress.stop();
        if (result.stoppedEarly) return null;
        const h = result.history;
        const avg = (xs: typeof h) => xs.reduce((a, x) => a + x.loss, 0) / Math.max(1, xs.length);
        await savePeftAdapter(adapterDir, result.lora, resolve(cfg.model), { kts: JSON.stringify({ ...cfg.kts, coeff: trainedRange, layers, seed, model: variant.model }) });
        info = { model: variant.model, seed, adapter: dirName, seconds: h.reduce((a, x) => a + x.seconds, 0), lossFirst: avg(h.slice(0, 25)), lossLast: avg(h.slice(-25)) };
        writeAtomic(doneFile, JSON.stringify(info));
        rmSync(join(outDir, 'checkpoint'), { recursive: true, force: true });
        lora = result.lora;
        say(`${dirName}: trained in ${((performance.now() - t) / 1000).toFixed(0)} s; KL loss ${info.lossFirst.toFixed(4)} → ${info.lossLast.toFixed(4)}`);
      }
      training.push(info);
      const m: ExperimentModel = { name: variant.model, model: llama, llama, lora };
      for (const c of cfg.evalConcepts) {
        const n = conceptName(c);
        for (const source of variant.protocols) {
          let v = vectors.get(n)!;
          let scale = scales.get(n)!;
          if (source === 'self') {
            // The paper's protocol: the evaluated model extracts the vector itself (adapters on).
            const file = join(cfg.out, 'vectors', 'self', dirName, `${n}.gguf`);
            if (existsSync(file)) v = SteeringVector.load(file);
            else {
              mkdirSync(join(cfg.out, 'vectors', 'self', dirName), { recursive: true });
              v = await conceptVector({ ...vctx, model: llama }, data, cfg, c.family, c.concept);
              v.save(file, { layerCount: base.numLayers });
            }
            scale = calibrationScale(v, norms, layers);
            selfVectors.push({ model: variant.model, seed, concept: n, file: join('vectors', 'self', dirName, `${n}.gguf`), scale });
          }
          await new Promise((r) => setImmediate(r)); // let a Ctrl-C handler run between curves
          if (shouldStop()) return null;
          curves.push(await curveOf(m, variant.model, seed, c, source, v, scale, trainedRange));
        }
      }
      overall.report(`${dirName} evaluated`);
    }
  }
  return {
    cfg, device, deviceDescription: choice.description, layers, entropy, residualNorms: Object.fromEntries(norms), trainConcepts: trainConcepts.map(conceptName),
    maxAbsCos: cos, vectors, scales, grids, trainedRange, curves, training, selfVectors,
    benign: data.benignEval.map((b) => ({ prompt: b.prompt, response: b.response })), seconds: (performance.now() - started) / 1000,
  };
}
