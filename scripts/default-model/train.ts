// Trains the default model (models/default) with kts itself: a ~1M-parameter Llama on the
// project's generated stories and chat examples (corpus.ts). Seeded and reproducible; writes a
// checkpoint every --checkpoint-every steps (and on Ctrl-C) and continues from it with --resume.
//
//   npm run train:default                  # full run: 4.1M tokens (1.3 epochs), ~17 min on 2 cores
//   npm run train:default -- --resume      # continue a killed run
//   npm run train:default -- --steps 20 --out runs/tiny   # a quick check
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { Generator, crossEntropy, loadTensors, noGrad, optim, saveTensorsAsync, tensor, type Tensor } from '@kts/tensor';
import { LlamaForCausalLM, loadTokenizer, makeConfig, saveModel } from '@kts/llama';
import { Progress, markdownTable, releaseDevice, selectDevice, writeAtomic } from '@kts/steer';
import { lossCurveSvg } from './plot.ts';
import { generateCorpus } from './corpus.ts';

const program = new Command()
  .option('--out <dir>', 'output folder', 'models/default')
  .option('--tokenizer <dir>', 'folder with tokenizer.model (train_tokenizer.py writes it)', 'models/default')
  .option('--steps <n>', 'optimizer steps', (v) => Number(v), 2000)
  .option('--batch <n>', 'sequences per step', (v) => Number(v), 16)
  .option('--seq <n>', 'tokens per sequence', (v) => Number(v), 128)
  .option('--lr <x>', 'peak learning rate', (v) => Number(v), 3e-3)
  .option('--seed <n>', 'seed', (v) => Number(v), 0)
  .option('--docs <n>', 'plain stories in the corpus (plus n·3/4 chat examples)', (v) => Number(v), 24000)
  .option('--device <d>', 'cpu | webgpu | auto', 'cpu')
  .option('--checkpoint-every <n>', 'steps between checkpoints', (v) => Number(v), 50)
  .option('--resume', 'continue from OUT/checkpoint', false)
  .parse();
const o = program.opts<{ out: string; tokenizer: string; steps: number; batch: number; seq: number; lr: number; seed: number; docs: number; device: string; checkpointEvery: number; resume: boolean }>();

const choice = await selectDevice(o.device as 'auto' | 'cpu' | 'webgpu');
const device = choice.device;
process.stderr.write(`backend: ${choice.description}\n`);
const tok = await loadTokenizer(o.tokenizer);
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
const model = new LlamaForCausalLM(config, { generator: gen, device });
noGrad(() => {
  for (const [name, p] of model.namedParameters()) {
    if (name.endsWith('norm.weight')) continue;
    p.backend.assign(p, tensor(Float32Array.from({ length: p.size }, () => 0.02 * gen.normal()), [...p.shape], { device }));
  }
});
model.requiresGrad_(true);
const params = model.parameters();
const named = model.namedParameters();
const nParams = params.reduce((s, p) => s + p.size, 0);
const opt = new optim.AdamW(params, { lr: o.lr, betas: [0.9, 0.95], weightDecay: 0.01 });
const schedule = optim.warmupCosine({ warmup: Math.min(30, o.steps / 10), total: o.steps, minRatio: 0.1 });

type LogEntry = { step: number; loss: number; lr: number; valLoss?: number };
let log: LogEntry[] = [];
let start = 0;
let trainSeconds = 0;

// ---- checkpoints: weights, optimizer state and the log, swapped in atomically ----
const ckpt = join(o.out, 'checkpoint');
async function saveCheckpoint(step: number): Promise<void> {
  const tmp = `${ckpt}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await saveTensorsAsync(join(tmp, 'model.safetensors'), Object.fromEntries(named));
  await saveTensorsAsync(join(tmp, 'optimizer.safetensors'), opt.stateTensors());
  writeFileSync(join(tmp, 'state.json'), JSON.stringify({ step, optimizerStep: opt.stepCount, log, trainSeconds, options: o }));
  rmSync(`${ckpt}.old`, { recursive: true, force: true });
  if (existsSync(ckpt)) renameSync(ckpt, `${ckpt}.old`);
  renameSync(tmp, ckpt);
  rmSync(`${ckpt}.old`, { recursive: true, force: true });
}
if (o.resume) {
  const dir = existsSync(join(ckpt, 'state.json')) ? ckpt : existsSync(join(`${ckpt}.old`, 'state.json')) ? `${ckpt}.old` : null;
  if (!dir) throw new Error(`--resume: no checkpoint in ${ckpt}`);
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { step: number; optimizerStep: number; log: LogEntry[]; trainSeconds: number };
  const { tensors } = loadTensors(join(dir, 'model.safetensors'), { device });
  noGrad(() => {
    for (const [name, p] of named) {
      const t = tensors[name];
      if (!t) throw new Error(`${dir}/model.safetensors: no tensor '${name}'`);
      p.backend.assign(p, t);
    }
  });
  opt.loadStateTensors(loadTensors(join(dir, 'optimizer.safetensors'), { device }).tensors, state.optimizerStep);
  ({ step: start, log, trainSeconds } = state);
  process.stderr.write(`resuming at step ${start} of ${o.steps}\n`);
}

function batchLoss(rows: number[][]): Tensor {
  const B = rows.length;
  const ids = tensor(Int32Array.from(rows.flatMap((r) => r.slice(0, -1))), [B, o.seq], { device });
  const targets = tensor(Int32Array.from(rows.flatMap((r) => r.slice(1))), [B * o.seq], { device });
  const { logits } = model.forward(ids);
  return crossEntropy(logits.reshape([B * o.seq, config.vocabSize]), targets);
}
const validate = () => noGrad(() => batchLoss(heldOut)).itemAsync();

let stop = false;
process.on('SIGINT', () => {
  if (stop) process.exit(130);
  stop = true;
  process.stderr.write('\ninterrupted: saving a checkpoint after this step (Ctrl-C again to quit now)\n');
});
process.stderr.write(`model: ${nParams} parameters; training ${o.steps} steps × ${o.batch} × ${o.seq} tokens on ${device}\n`);
const progress = new Progress('train', o.steps - start);
for (let step = start; step < o.steps && !stop; step++) {
  const ts = performance.now();
  opt.lr = o.lr * schedule(step);
  const rows = Array.from({ length: o.batch }, (_, k) => windows[(step * o.batch + k) % windows.length]!);
  const loss = batchLoss(rows);
  loss.backward();
  optim.clipGradNorm(params, 1);
  opt.step();
  opt.zeroGrad();
  const value = await loss.itemAsync();
  if (!Number.isFinite(value)) throw new Error(`train: loss is ${value} at step ${step + 1}; resume from the last checkpoint with a lower --lr`);
  const entry: LogEntry = { step: step + 1, loss: value, lr: opt.lr };
  if ((step + 1) % 50 === 0 || step + 1 === o.steps) entry.valLoss = await validate();
  log.push(entry);
  trainSeconds += (performance.now() - ts) / 1000;
  progress.update(step + 1 - start, { loss: value, tokens: o.batch * o.seq, ...(entry.valLoss ? { val: entry.valLoss } : {}) });
  await new Promise((r) => setImmediate(r)); // let a pending Ctrl-C handler run (CPU steps never yield otherwise)
  if (stop || (step + 1) % o.checkpointEvery === 0) await saveCheckpoint(step + 1);
}
progress.stop();
if (stop) {
  process.stderr.write(`stopped; continue with --resume\n`);
  releaseDevice();
  process.exit(0);
}

mkdirSync(o.out, { recursive: true });
model.requiresGrad_(false);
await saveModel(model, o.out);
writeAtomic(join(o.out, 'generation_config.json'), `${JSON.stringify({ bos_token_id: tok.bosId, eos_token_id: tok.eosId, do_sample: false, max_new_tokens: 64 }, null, 2)}\n`);
const summary = {
  parameters: nParams, steps: o.steps, batch: o.batch, seq: o.seq, lr: o.lr, seed: o.seed, docs: o.docs, device, corpusTokens: stream.length,
  tokensSeen: o.steps * o.batch * o.seq, seconds: trainSeconds, finalValLoss: log.at(-1)!.valLoss, log,
};
writeAtomic(join(o.out, 'training_log.json'), `${JSON.stringify(summary)}\n`);
writeFileSync(join(o.out, 'loss.svg'), await lossCurveSvg(log));
rmSync(ckpt, { recursive: true, force: true });
process.stderr.write(`done in ${trainSeconds.toFixed(0)} s of training; validation loss ${summary.finalValLoss?.toFixed(4)}\n`);
process.stdout.write(`${markdownTable(log.filter((e) => e.valLoss !== undefined).map((e) => ({ step: e.step, loss: e.loss, valLoss: e.valLoss! })))}\n`);
releaseDevice();
