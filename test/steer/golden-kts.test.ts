// KTS pieces against a PyTorch reference (reference/kts_ref.py → reference/goldens/kts/kts.json,
// model reference/goldens/llama/mha_f32): steering-vector extraction (left-padded batches,
// 'last' and 'answer-mean', mean difference and PCA), steered logits, ktsLoss, LoRA gradients
// through steering, one clipped AdamW step, and two steps of trainKTS itself. CPU backend.
//
// Every check is elementwise |got − golden| ≤ atol + rtol·|golden| (TOL below). The generator
// runs everything in float32 (the golden) and float64 and refuses to write unless the two agree
// within a quarter of these tolerances, so a correct float32 implementation with a different
// operation order passes with margin. Keep TOL in sync with TOL in reference/kts_ref.py.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Tensor, noGrad, optim, saveTensors, tensor } from '@kts/tensor';
import { loadModel } from '@kts/llama';
import {
  SteeringVector, attachLoRA, collectActivations, drawSteering, extractVector, ktsLoss, loadLoRAStateDict,
  loraParameters, loraStateDict, meanDifference, padBatch, pcaDirection, setLoRAEnabled, steerSpec, trainKTS,
  type TokenizerLike,
} from '@kts/steer';

interface Arr { shape: number[]; data: number[] }
interface ExtractGolden { acts: Record<string, Arr>; mean_diff: Record<string, Arr>; pca: Record<string, Arr>; pca_gap: Record<string, number> }
interface Golden {
  model: string;
  model_sha256: string;
  extract: {
    layers: number[];
    batch_size: number;
    pairs: { positive: number[]; negative: number[]; answer_from: number }[];
    last: ExtractGolden;
    answer_mean: ExtractGolden;
  };
  steer: { benign: number[][]; layers: number[]; vectors: Record<string, number[]>; coeffs: number[]; logits: Arr; loss: number };
  lora: { rank: number; alpha: number; targets: string[]; init: Record<string, Arr> };
  step: { coeffs: number[]; lr: number; weight_decay: number; max_grad_norm: number; loss: number; grad_norm: number; grads: Record<string, Arr>; after: Record<string, Arr> };
  train: {
    steps: number; seed: number; coeff: number; prob: number; batch_size: number; lr: number; max_grad_norm: number;
    coeffs: number[]; lrs: number[]; losses: number[]; grad_norms: number[]; after: Record<string, Arr>;
  };
}

const DIR = new URL('../../reference/goldens/kts/', import.meta.url).pathname;
const G = JSON.parse(readFileSync(join(DIR, 'kts.json'), 'utf8')) as Golden;
const MODEL_DIR = join(DIR, G.model);

/** |got − golden| ≤ atol + atolOfMax·max|golden| + rtol·|golden|, elementwise. */
interface Tol { rtol: number; atol: number; atolOfMax?: number; why: string }
const TOL = {
  acts: {
    rtol: 1e-5, atol: 1e-5,
    why: 'decoder-layer outputs of size ≤ 5.5 after 1–2 layers of f32 matmuls/softmax: ~1e-6 absolute rounding (f32 vs f64: 1.8e-6)',
  },
  vector: {
    rtol: 1e-5, atol: 1e-5,
    why: 'mean differences / PCA (f64 math) of f32 activations, entries ≤ 5: inherit the activations\' ~1e-6 error (f32 vs f64: 6.6e-7); PCA eigengap (σ2/σ1)² ≤ 0.39 keeps the direction well-conditioned',
  },
  pcaMath: {
    rtol: 1e-9, atol: 1e-12,
    why: 'the same float64 activations on both sides: only float64 rounding and the power iteration\'s convergence (to 1e-15) differ from an exact SVD',
  },
  logits: {
    rtol: 1e-5, atol: 1e-5,
    why: 'logits of size ≤ 6 after two f32 layers and the head: ~1e-6 absolute rounding (f32 vs f64: 1.2e-6)',
  },
  loss: {
    rtol: 1e-5, atol: 1e-7,
    why: 'a mean of per-token KLs of size ~1.5: f32 rounding ~2e-7 relative',
  },
  grads: {
    rtol: 1e-5, atol: 0, atolOfMax: 1e-5,
    why: 'LoRA gradients (largest entry per tensor 6e-3 to 0.1) are sums over tokens whose f32 noise scales with the tensor, not the element (f32 vs f64: ≤ 6e-8); so the floor is 1e-5 of each tensor\'s largest gradient',
  },
  gradNorm: {
    rtol: 1e-5, atol: 0,
    why: 'an L2 norm (~0.54) of 2176 gradients: ~2e-7 rounding',
  },
  weights: {
    rtol: 1e-5, atol: 1e-5,
    why: 'AdamW\'s first step is lr·g/(|g| + 1e-8) per element: for the few elements with |g| ~ 1e-7 the f32 noise of g (~1e-9) moves the update by ~1e-6 (f32 vs f64: 6e-7). 1e-5 is 0.1% of a step (lr 1e-2)',
  },
  trainWeights: {
    rtol: 1e-5, atol: 1e-4,
    why: 'the second AdamW step divides moments built from two gradients, so an element whose first gradient is ~1e-7 carries that gradient\'s f32 noise (several %) into its update (f32 vs f64: 1.3e-5). 1e-4 is 1–2% of a step (lr 1e-2, 5e-3); the updates themselves are 6e-3 to 1.5e-2',
  },
} satisfies Record<string, Tol>;

/** Elementwise check. Fails naming the worst element; returns the max abs error and the worst fraction of the tolerance. */
function compare(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: Tol, keep?: (i: number) => boolean): { err: number; ratio: number } {
  assert.equal(got.length, want.length, `${what}: length ${got.length}, golden ${want.length}`);
  let peak = 0;
  for (let i = 0; i < want.length; i++) if (!keep || keep(i)) peak = Math.max(peak, Math.abs(want[i]!));
  const atol = tol.atol + (tol.atolOfMax ?? 0) * peak;
  let err = 0;
  let ratio = 0;
  let worst = -1;
  for (let i = 0; i < want.length; i++) {
    if (keep && !keep(i)) continue;
    const e = Math.abs(got[i]! - want[i]!);
    const r = Number.isNaN(e) ? Infinity : e / (atol + tol.rtol * Math.abs(want[i]!));
    if (worst < 0 || r > ratio) [ratio, worst] = [r, i];
    err = Math.max(err, Number.isNaN(e) ? Infinity : e);
  }
  assert.ok(ratio <= 1, `${what}: element ${worst} is ${got[worst]}, golden ${want[worst]} (max abs error ${err}; tolerance rtol ${tol.rtol}, atol ${atol}: ${tol.why})`);
  return { err, ratio };
}

/** Compares several named arrays under one tolerance and reports the worst as a test diagnostic. */
function check(t: TestContext, what: string, items: [string, ArrayLike<number>, ArrayLike<number>][], tol: Tol, keep?: (i: number) => boolean): void {
  let err = 0;
  let ratio = 0;
  for (const [name, got, want] of items) {
    const r = compare(items.length > 1 ? `${what}: ${name}` : what, got, want, tol, keep);
    err = Math.max(err, r.err);
    ratio = Math.max(ratio, r.ratio);
  }
  const floor = tol.atolOfMax ? `${tol.atolOfMax}·max|golden|` : `${tol.atol}`;
  t.diagnostic(`${what}: max abs error ${err.toExponential(2)}, ${(100 * ratio).toFixed(1)}% of tolerance (rtol ${tol.rtol}, atol ${floor})`);
}

const model = async () => (await loadModel(MODEL_DIR));
const vectorOf = (vs: Record<string, number[]>): SteeringVector =>
  new SteeringVector(new Map(Object.entries(vs).map(([l, d]) => [Number(l), Float32Array.from(d)])));
const tensorOf = (a: Arr): Tensor => tensor(Float32Array.from(a.data), a.shape);
const initState = (): Record<string, Tensor> => Object.fromEntries(Object.entries(G.lora.init).map(([k, a]) => [k, tensorOf(a)]));
const rowsOf = (a: Arr): Float64Array[] => {
  const [n, d] = a.shape as [number, number];
  return Array.from({ length: n }, (_, i) => Float64Array.from(a.data.slice(i * d, (i + 1) * d)));
};

/** Only `padId` is used by collectActivations; encode maps "12 5 7" to [12, 5, 7] for extractVector. */
const stubTokenizer: TokenizerLike = {
  padId: 0,
  bosId: null,
  eosId: null,
  encode: (text) => text.trim().split(/\s+/).filter(Boolean).map(Number),
  decode: (ids) => ids.join(' '),
};

test('golden model checkpoint is the one the golden was made from', () => {
  const sha = createHash('sha256').update(readFileSync(join(MODEL_DIR, 'model.safetensors'))).digest('hex');
  assert.equal(sha, G.model_sha256, `${MODEL_DIR} changed since reference/kts_ref.py ran: regenerate with /usr/bin/python3 reference/kts_ref.py`);
});

test('extraction: collectActivations (left padding, last / answer-mean), meanDifference, pcaDirection', async (t) => {
  const m = await model();
  const { pairs, layers, batch_size: batchSize } = G.extract;
  const n = pairs.length;
  const texts = [
    ...pairs.map((p) => ({ ids: p.positive, answerFrom: p.answer_from })),
    ...pairs.map((p) => ({ ids: p.negative, answerFrom: p.answer_from })),
  ];
  for (const [position, gold] of [['last', G.extract.last], ['answer-mean', G.extract.answer_mean]] as const) {
    const acts = await collectActivations(m, stubTokenizer, texts, layers, position, batchSize);
    for (const l of layers) {
      const rows = acts.get(l)!;
      assert.equal(rows.length, 2 * n);
      check(t, `${position} activations, layer ${l}`, [['', rows.flatMap((r) => [...r]), gold.acts[l]!.data]], TOL.acts);
      const P = rows.slice(0, n);
      const N = rows.slice(n);
      check(t, `${position} meanDifference, layer ${l}`, [['', meanDifference(P, N), gold.mean_diff[l]!.data]], TOL.vector);
      check(t, `${position} pcaDirection, layer ${l}`, [['', pcaDirection(P, N), gold.pca[l]!.data]], TOL.vector);
      // The math alone, on the golden's own activations.
      const gRows = rowsOf(gold.acts[l]!);
      check(t, `${position} meanDifference of golden activations, layer ${l}`, [['', meanDifference(gRows.slice(0, n), gRows.slice(n)), gold.mean_diff[l]!.data]], TOL.pcaMath);
      check(t, `${position} pcaDirection of golden activations, layer ${l}`, [['', pcaDirection(gRows.slice(0, n), gRows.slice(n)), gold.pca[l]!.data]], TOL.pcaMath);
    }
  }
});

test('extraction: extractVector end to end (stub whitespace tokenizer, prompt/answer split)', async (t) => {
  const m = await model();
  const { pairs, layers, batch_size: batchSize } = G.extract;
  // prompt = the shared prefix, answers = the rest: answerFrom = prefix length, as in the golden.
  const text = (ids: number[]) => ids.join(' ') + ' ';
  const cps = pairs.map((p) => ({
    prompt: text(p.positive.slice(0, p.answer_from)),
    positive: text(p.positive.slice(p.answer_from)),
    negative: text(p.negative.slice(p.answer_from)),
  }));
  for (const p of pairs) assert.deepEqual(p.negative.slice(0, p.answer_from), p.positive.slice(0, p.answer_from));
  for (const [position, gold] of [['last', G.extract.last], ['answer-mean', G.extract.answer_mean]] as const) {
    for (const method of ['mean-diff', 'pca'] as const) {
      const v = await extractVector(m, stubTokenizer, cps, { layers, method, position, format: null, batchSize });
      assert.deepEqual(v.layers, layers);
      for (const l of layers) {
        // extractVector keeps float32 directions; that rounding (≤ 6e-8 relative) is far inside TOL.vector.
        check(t, `extractVector ${method} ${position}, layer ${l}`, [['', v.get(l), (method === 'pca' ? gold.pca : gold.mean_diff)[l]!.data]], TOL.vector);
      }
    }
  }
});

test('steered logits (per-sequence coefficients, right padding) and ktsLoss', async (t) => {
  const m = await model();
  const { benign, layers, coeffs } = G.steer;
  const batch = padBatch(benign, { side: 'right', padId: 0 });
  assert.deepEqual(batch.ids.shape.concat(m.config.vocabSize), G.steer.logits.shape);
  const spec = steerSpec(vectorOf(G.steer.vectors), layers, coeffs);
  const steered = noGrad(() => m.forward(batch.ids, { attentionMask: batch.mask, steer: spec }).logits);
  const original = noGrad(() => m.forward(batch.ids, { attentionMask: batch.mask }).logits);
  const mask = batch.mask.toArray();
  const V = m.config.vocabSize;
  check(t, 'steered logits (real tokens)', [['', steered.toArray(), G.steer.logits.data]], TOL.logits, (i) => mask[Math.floor(i / V)] === 1);
  check(t, 'ktsLoss(steered, original)', [['', [ktsLoss(steered, original, batch.mask).item()], [G.steer.loss]]], TOL.loss);
});

test('one KTS step from the exported pieces: LoRA gradients, clipGradNorm, AdamW', async (t) => {
  const m = await model();
  const { benign, layers } = G.steer;
  const S = G.step;
  const lora = attachLoRA(m, { rank: G.lora.rank, alpha: G.lora.alpha, targets: G.lora.targets });
  assert.deepEqual(Object.keys(loraStateDict(lora)).sort(), Object.keys(G.lora.init).sort());
  loadLoRAStateDict(lora, initState());
  const params = loraParameters(lora);
  const opt = new optim.AdamW(params, { lr: S.lr, weightDecay: S.weight_decay });
  const batch = padBatch(benign, { side: 'right', padId: 0 });
  // As trainKTS: reference with adapters off, no steering, no graph; then steered with adapters on.
  setLoRAEnabled(lora, false);
  const ref = noGrad(() => m.forward(batch.ids, { attentionMask: batch.mask }).logits);
  setLoRAEnabled(lora, true);
  const { logits } = m.forward(batch.ids, { attentionMask: batch.mask, steer: steerSpec(vectorOf(G.steer.vectors), layers, S.coeffs) });
  const loss = ktsLoss(logits, ref, batch.mask);
  loss.backward();
  check(t, 'loss', [['', [loss.item()], [S.loss]]], TOL.loss);
  const grads: [string, ArrayLike<number>, ArrayLike<number>][] = [];
  for (const [path, mod] of lora.modules) {
    for (const part of ['lora_A', 'lora_B'] as const) {
      const g = mod[part].grad;
      assert.ok(g, `${path}.${part} has no gradient`);
      grads.push([`${path}.${part}`, g.toArray(), S.grads[`${path}.${part}`]!.data]);
    }
  }
  check(t, `gradients of all ${grads.length} LoRA tensors`, grads, TOL.grads);
  const norm = optim.clipGradNorm(params, S.max_grad_norm).item();
  check(t, 'gradient norm before clipping', [['', [norm], [S.grad_norm]]], TOL.gradNorm);
  assert.ok(norm > S.max_grad_norm, 'the golden exercises clipping');
  opt.step();
  const after = Object.entries(loraStateDict(lora)).map(([k, v]): [string, ArrayLike<number>, ArrayLike<number>] => [k, v.toArray(), S.after[k]!.data]);
  check(t, 'LoRA weights after the AdamW step', after, TOL.weights);
});

test('trainKTS: two steps from the golden adapter (a step-0 checkpoint, resumed) match torch', async (t) => {
  const T = G.train;
  // The golden hard-codes trainKTS's coefficients (c·U(−1,1), p = 1); drawSteering must still draw them.
  for (let s = 0; s < T.steps; s++) {
    assert.deepEqual(drawSteering(T.seed, s, 1, T.coeff, T.prob), { vector: 0, coeff: T.coeffs[s] }, `drawSteering step ${s}`);
  }
  // trainKTS initialises its own adapter; the only way in for given weights is resume: a
  // checkpoint at step 0 with the golden adapter and an empty optimiser state.
  const out = mkdtempSync(join(tmpdir(), 'kts-golden-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const ckpt = join(out, 'checkpoint');
  mkdirSync(ckpt);
  saveTensors(join(ckpt, 'adapter.safetensors'), initState());
  saveTensors(join(ckpt, 'optimizer.safetensors'), {});
  writeFileSync(join(ckpt, 'state.json'), JSON.stringify({ step: 0, history: [], optimizerStep: 0 }));

  const m = await model();
  const res = await trainKTS(m, G.steer.benign, [vectorOf(G.steer.vectors)], {
    steps: T.steps, batchSize: T.batch_size, lr: T.lr, maxGradNorm: T.max_grad_norm, weightDecay: 0,
    rank: G.lora.rank, alpha: G.lora.alpha, targets: G.lora.targets,
    coeff: T.coeff, prob: T.prob, seed: T.seed, layers: G.steer.layers, outDir: out, resume: true,
  });
  assert.equal(res.history.length, T.steps);
  res.history.forEach((h, s) => {
    assert.equal(h.coeff, T.coeffs[s]);
    assert.equal(h.vector, 0);
    assert.ok(Math.abs(h.lr - T.lrs[s]!) <= 1e-15, `lr at step ${s + 1}: ${h.lr}, golden ${T.lrs[s]}`);
  });
  check(t, 'trainKTS losses', [['', res.history.map((h) => h.loss), T.losses]], TOL.loss);
  const after = Object.entries(loraStateDict(res.lora)).map(([k, v]): [string, ArrayLike<number>, ArrayLike<number>] => [k, v.toArray(), T.after[k]!.data]);
  check(t, 'LoRA weights after two trainKTS steps', after, TOL.trainWeights);
});
