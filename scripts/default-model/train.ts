// Trains the default model (models/default) with kts itself: a ~1M-parameter Llama on the
// project's generated stories and chat examples. Seeded and reproducible.
//
//   npm run train:default                 # full run (about 20 minutes on one core)
//   npm run train:default -- --steps 50   # a quick check
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { Generator, crossEntropy, noGrad, optim, tensor, type Tensor } from '@kts/tensor';
import { LlamaForCausalLM, loadTokenizer, makeConfig, saveModel } from '@kts/llama';
import { Progress } from '@kts/steer';
import { markdownTable, writeAtomic } from '@kts/steer';
import { lossCurveSvg } from './plot.ts';
import { generateCorpus } from './corpus.ts';

const program = new Command()
  .option('--out <dir>', 'output folder', 'models/default')
  .option('--steps <n>', 'optimizer steps', (v) => Number(v), 400)
  .option('--batch <n>', 'sequences per step', (v) => Number(v), 16)
  .option('--seq <n>', 'tokens per sequence', (v) => Number(v), 128)
  .option('--lr <x>', 'peak learning rate', (v) => Number(v), 3e-3)
  .option('--seed <n>', 'seed', (v) => Number(v), 0)
  .option('--docs <n>', 'stories in the corpus (plus n/4 chat examples)', (v) => Number(v), 20000)
  .parse();
const o = program.opts<{ out: string; steps: number; batch: number; seq: number; lr: number; seed: number; docs: number }>();

const tok = await loadTokenizer('models/default');
const config = makeConfig({
  vocabSize: tok.vocabSize, hiddenSize: 128, intermediateSize: 384, numHiddenLayers: 4, numAttentionHeads: 4,
  numKeyValueHeads: 4, maxPositionEmbeddings: 512, tieWordEmbeddings: true, rmsNormEps: 1e-5, ropeTheta: 10000,
  bosTokenId: tok.bosId, eosTokenIds: [tok.eosId],
});

// Corpus → one token stream (BOS doc EOS BOS doc EOS …) → windows of seq+1 tokens.
const t0 = performance.now();
const docs = generateCorpus(o.docs, o.seed);
const stream: number[] = [];
for (const d of docs) stream.push(...tok.encode(d.text, { bos: true, eos: true }));
const windows: number[][] = [];
for (let i = 0; i + o.seq + 1 <= stream.length; i += o.seq) windows.push(stream.slice(i, i + o.seq + 1));
const gen = new Generator(o.seed);
gen.shuffle(windows);
const heldOut = windows.splice(0, 64); // validation windows, never trained on
process.stderr.write(`corpus: ${docs.length} documents, ${stream.length} tokens, ${windows.length} training windows (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);

// HF-style init: N(0, 0.02) for every matrix, ones for norms.
const model = new LlamaForCausalLM(config, { generator: gen });
noGrad(() => {
  for (const [name, p] of model.namedParameters()) {
    if (name.endsWith('norm.weight')) continue;
    p.backend.assign(p, tensor(Float32Array.from({ length: p.size }, () => 0.02 * gen.normal()), [...p.shape]));
  }
});
model.requiresGrad_(true);
const params = model.parameters();
const nParams = params.reduce((s, p) => s + p.size, 0);
const opt = new optim.AdamW(params, { lr: o.lr, betas: [0.9, 0.95], weightDecay: 0.01 });
const schedule = optim.warmupCosine({ warmup: Math.min(30, o.steps / 10), total: o.steps, minRatio: 0.1 });

function batchLoss(rows: number[][]): Tensor {
  const B = rows.length;
  const ids = tensor(Int32Array.from(rows.flatMap((r) => r.slice(0, -1))), [B, o.seq]);
  const targets = tensor(Int32Array.from(rows.flatMap((r) => r.slice(1))), [B * o.seq]);
  const { logits } = model.forward(ids);
  return crossEntropy(logits.reshape([B * o.seq, config.vocabSize]), targets);
}

const log: { step: number; loss: number; lr: number; valLoss?: number }[] = [];
const validate = () => noGrad(() => batchLoss(heldOut).item());
process.stderr.write(`model: ${nParams} parameters; training ${o.steps} steps × ${o.batch} × ${o.seq} tokens\n`);
const progress = new Progress('train', o.steps);
const start = performance.now();
for (let step = 0; step < o.steps; step++) {
  opt.lr = o.lr * schedule(step);
  const rows = Array.from({ length: o.batch }, (_, k) => windows[(step * o.batch + k) % windows.length]!);
  const loss = batchLoss(rows);
  loss.backward();
  optim.clipGradNorm(params, 1);
  opt.step();
  opt.zeroGrad();
  const value = loss.item();
  if (!Number.isFinite(value)) throw new Error(`train: loss is ${value} at step ${step + 1}`);
  const entry: (typeof log)[number] = { step: step + 1, loss: value, lr: opt.lr };
  if ((step + 1) % 50 === 0 || step + 1 === o.steps) entry.valLoss = validate();
  log.push(entry);
  progress.update(step + 1, { loss: value, tokens: o.batch * o.seq, ...(entry.valLoss ? { val: entry.valLoss } : {}) });
}
progress.stop();
const seconds = (performance.now() - start) / 1000;

mkdirSync(o.out, { recursive: true });
model.requiresGrad_(false);
await saveModel(model, o.out);
writeAtomic(join(o.out, 'generation_config.json'), `${JSON.stringify({ bos_token_id: tok.bosId, eos_token_id: tok.eosId, do_sample: false, max_new_tokens: 64 }, null, 2)}\n`);
const summary = { parameters: nParams, steps: o.steps, batch: o.batch, seq: o.seq, lr: o.lr, seed: o.seed, tokensSeen: o.steps * o.batch * o.seq, seconds, finalValLoss: log.at(-1)!.valLoss, log };
writeAtomic(join(o.out, 'training_log.json'), `${JSON.stringify(summary)}\n`);
writeFileSync(join(o.out, 'loss.svg'), await lossCurveSvg(log));
process.stderr.write(`done in ${seconds.toFixed(0)} s; validation loss ${summary.finalValLoss?.toFixed(4)}\n`);
process.stdout.write(`${markdownTable(log.filter((e) => e.valLoss !== undefined).map((e) => ({ step: e.step, loss: e.loss, valLoss: e.valLoss! })))}\n`);
