// The `kts` command line: model info and generation, steering vectors, KTS training,
// evaluation, adapter export and merging. Argument parsing by commander.
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import {
  type LlamaForCausalLM, type Tokenizer, generate, importLlama2c, loadModel, loadTokenizer, readConfig, saveModel,
} from '@kts/llama';
import { loadPeftAdapter, savePeftAdapter } from './adapter.ts';
import { dataHash, loadAB, loadBenign, loadPairs, readRecords } from './data.ts';
import { releaseDevice, selectDevice } from './device.ts';
import { extractVector } from './extract.ts';
import { type ChatFormatter, chatFormatterFor, formatPair, tokenizeFormatted } from './format.ts';
import { trainKTS } from './kts.ts';
import { parseLayers } from './layers.ts';
import { attachLoRA, loadLoRAStateDict, mergeLoRA } from './lora.ts';
import type { SteerableModel } from './model.ts';
import { Progress } from './progress.ts';
import { markdownTable, sweepPlotSvg, writeAtomic } from './report.ts';
import { type Behaviour, sweep } from './sweep.ts';
import { LinearProbe } from './probe.ts';
import { suggestedAnswerEval } from './suggested.ts';
import { readJsonl } from './data.ts';
import { SteeringVector, checkVectorFits } from './vector.ts';
import { loadTensors } from '@kts/tensor';
import { type EvalModel, batchSteer } from './eval.ts';
import * as experiment from './experiment/index.ts';

const num = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`'${v}' is not a number`);
  return n;
};
const int = (v: string): number => {
  const n = num(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`'${v}' is not an integer`);
  return n;
};
const numList = (v: string): number[] => v.split(',').map((s) => num(s.trim()));

/** --dtype: 'f16' stores the projection weights as float16 on WebGPU (see loadModel). */
function weightDtype(flag: string): 'float32' | 'float16' {
  if (flag === 'f32') return 'float32';
  if (flag === 'f16') return 'float16';
  throw new Error(`--dtype must be f32 or f16, got ${flag}`);
}
const DTYPE_HELP = 'f32 | f16: f16 stores the projection weights as float16 on WebGPU (half the memory; needs the shader-f16 feature)';

async function open(dir: string, device: string, adapter?: string, dtype = 'f32'): Promise<{ model: LlamaForCausalLM; tok: Tokenizer; deviceName: string }> {
  const choice = await selectDevice(device as 'auto' | 'cpu' | 'webgpu');
  process.stderr.write(`backend: ${choice.description}\n`);
  const model = await loadModel(dir, { device: choice.device, dtype: weightDtype(dtype) });
  const tok = await loadTokenizer(dir);
  if (adapter) loadPeftAdapter(model, adapter);
  return { model, tok, deviceName: choice.device };
}

function textsOf(tok: Tokenizer, format: ChatFormatter, records: ReturnType<typeof loadBenign>): number[][] {
  return records.map((r) => (r.text !== undefined ? tok.encode(r.text, { bos: true }) : tokenizeFormatted(tok, formatPair(format, r.prompt, r.response!)).ids));
}

/** Ctrl-C once: `stopped()` turns true and the job stops after its current step; twice: exit now. */
function onInterrupt(what: string): { stopped: () => boolean; release: () => void } {
  let stop = false;
  const handler = () => {
    if (stop) process.exit(130);
    stop = true;
    process.stderr.write(`\ninterrupted: ${what} (Ctrl-C again to quit now)\n`);
  };
  process.on('SIGINT', handler);
  return { stopped: () => stop, release: () => process.off('SIGINT', handler) };
}

const program = new Command('kts')
  .description('KL-then-steer: steering vectors and steering-robust LoRA training for Llama models, in TypeScript')
  .showHelpAfterError();

program.command('info')
  .description('print a checkpoint\'s config, parameter count, dtype and memory')
  .requiredOption('--model <dir>', 'HF Llama folder (config.json + model.safetensors)')
  .action(async (o: { model: string }) => {
    const cfg = readConfig(o.model);
    const model = await loadModel(o.model, { device: 'cpu' });
    const params = model.namedParameters().reduce((s, [, t]) => s + t.size, 0);
    console.log(JSON.stringify({
      model: resolve(o.model), architecture: 'LlamaForCausalLM', ...cfg, parameters: params,
      storedDtype: cfg.torchDtype ?? 'unknown', computeDtype: 'float32', memoryMiB: +(params * 4 / 2 ** 20).toFixed(2),
    }, null, 2));
  });

program.command('generate')
  .description('generate text (tokens/s on stderr), optionally steered')
  .requiredOption('--model <dir>', 'HF Llama folder')
  .requiredOption('--prompt <text...>', 'prompt(s); several are batched')
  .option('--chat', 'wrap each prompt in the tokenizer\'s chat template', false)
  .option('--max-new-tokens <n>', 'tokens to generate', int, 64)
  .option('--temperature <t>', '0 = greedy', num, 0)
  .option('--top-k <k>', 'sample among the k most likely tokens', int)
  .option('--top-p <p>', 'nucleus sampling', num)
  .option('--seed <n>', 'sampling seed', int, 0)
  .option('--vector <file>', 'steering vector (.gguf or .safetensors)')
  .option('--coeff <c>', 'steering coefficient', num, 0)
  .option('--layers <spec>', 'layers to steer (e.g. 3,4,5 or 2..21; default: the vector\'s layers)')
  .option('--adapter <dir>', 'PEFT LoRA adapter (e.g. from kts train)')
  .option('--device <d>', 'auto | cpu | webgpu', 'auto')
  .option('--dtype <t>', DTYPE_HELP, 'f32')
  .action(async (o: { model: string; prompt: string[]; chat: boolean; maxNewTokens: number; temperature: number; topK?: number; topP?: number; seed: number; vector?: string; coeff: number; layers?: string; adapter?: string; device: string; dtype: string }) => {
    const { model, tok, deviceName } = await open(o.model, o.device, o.adapter, o.dtype);
    const format = chatFormatterFor(tok);
    const prompts = o.prompt.map((p) => (o.chat ? tokenizeFormatted(tok, formatPair(format, p, '')).ids : tok.encode(p, { bos: true })));
    let steer;
    if (o.vector) {
      const v = SteeringVector.load(o.vector);
      const layers = o.layers ? parseLayers(o.layers, model.numLayers) : v.layers;
      checkVectorFits(v, layers, model.config.hiddenSize, model.numLayers, o.vector);
      steer = batchSteer(v, layers, prompts.map(() => o.coeff), deviceName);
    }
    const streams = o.prompt.length === 1 ? tok.createStreamDecoder() : null;
    const t0 = performance.now();
    let count = 0;
    const out = await generate(model, prompts, {
      maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, seed: o.seed, steer,
      onToken: (_b, id) => {
        count++;
        if (streams) process.stdout.write(streams.push(id));
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    if (streams) process.stdout.write(`${streams.flush()}\n`);
    else out.forEach((ids, i) => console.log(`--- ${o.prompt[i]}\n${tok.decode(ids)}`));
    process.stderr.write(`${count} tokens in ${seconds.toFixed(2)} s: ${(count / seconds).toFixed(1)} tokens/s\n`);
    releaseDevice();
  });

program.command('convert')
  .description('convert a llama2.c .bin checkpoint to an HF folder')
  .requiredOption('--from <format>', 'source format (llama2c)')
  .argument('<file>', 'the .bin file')
  .requiredOption('--out <dir>', 'output folder')
  .action(async (file: string, o: { from: string; out: string }) => {
    if (o.from !== 'llama2c') throw new Error(`convert: unsupported --from '${o.from}' (supported: llama2c)`);
    const cfg = await importLlama2c(file, o.out);
    console.log(`wrote ${o.out} (${cfg.numHiddenLayers} layers, dim ${cfg.hiddenSize}, vocab ${cfg.vocabSize}); add a tokenizer.model to use it with text`);
  });

program.command('vector')
  .description('extract a steering vector from contrast pairs')
  .requiredOption('--model <dir>', 'HF Llama folder')
  .requiredOption('--data <file>', 'JSONL {positive, negative}, CAA A/B JSON, or concept JSONL {concept, sentence}')
  .option('--layers <spec>', 'layers, e.g. 3,4,5 or 2..21 (default: the paper\'s range scaled to the depth)', 'default')
  .option('--method <m>', 'mean-diff | pca', 'mean-diff')
  .option('--position <p>', 'last | answer-mean', 'last')
  .option('--template <t>', 'raw | chat (pairs JSONL only; A/B and concept data are always chat-formatted)', 'raw')
  .option('--concept <name>', 'concept data: which concept is positive (default: the first)')
  .option('--concept-prompt', 'concept data: wrap sentences as "Think about the concept of …"', false)
  .option('--batch-size <n>', 'texts per forward pass', int, 16)
  .option('--device <d>', 'auto | cpu | webgpu', 'auto')
  .option('--dtype <t>', DTYPE_HELP, 'f32')
  .requiredOption('--out <file>', '.gguf (llama.cpp control vector) or .safetensors')
  .action(async (o: { model: string; data: string; layers: string; method: string; position: string; template: string; concept?: string; conceptPrompt: boolean; batchSize: number; device: string; dtype: string; out: string }) => {
    if (!['mean-diff', 'pca'].includes(o.method)) throw new Error(`--method must be mean-diff or pca, got ${o.method}`);
    if (!['last', 'answer-mean'].includes(o.position)) throw new Error(`--position must be last or answer-mean, got ${o.position}`);
    const { model, tok, deviceName } = await open(o.model, o.device, undefined, o.dtype);
    const { format, pairs } = loadPairs(o.data, { concept: o.concept, conceptPrompt: o.conceptPrompt });
    const chat = format !== 'pairs' || o.template === 'chat';
    const layers = parseLayers(o.layers, model.numLayers);
    const t0 = performance.now();
    const v = await extractVector(model, tok, pairs, {
      layers, method: o.method as 'mean-diff' | 'pca', position: o.position as 'last' | 'answer-mean', format: chat ? chatFormatterFor(tok) : null,
      batchSize: o.batchSize, device: deviceName, meta: { model: resolve(o.model), dataHash: dataHash(o.data), data: o.data, layers: layers.join(',') },
    });
    v.save(o.out, { layerCount: model.numLayers });
    process.stderr.write(`${pairs.length} pairs, layers ${layers.join(',')}: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    console.log(JSON.stringify({ out: o.out, layers, method: o.method, norms: Object.fromEntries(layers.map((l) => [l, +v.norm(l).toFixed(4)])) }));
    releaseDevice();
  });

program.command('train')
  .description('KTS: train LoRA adapters to keep the model close to itself under random steering')
  .requiredOption('--model <dir>', 'HF Llama folder')
  .requiredOption('--vectors <files>', 'comma-separated steering vectors (.gguf / .safetensors)')
  .requiredOption('--data <file>', 'benign JSONL: {"text"} or {"prompt","response"}')
  .requiredOption('--steps <n>', 'optimizer steps', int)
  .option('--rank <r>', 'LoRA rank', int, 8)
  .option('--alpha <a>', 'LoRA alpha (default: rank)', num)
  .option('--targets <names>', 'linear layers to adapt', 'q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj')
  .option('--lr <x>', 'peak learning rate', num, 1e-4)
  .option('--warmup <n>', 'warmup steps', int)
  .option('--coeff <c>', 'coefficient scale c: coefficients are c·U(−1,1)', num, 1.5)
  .option('--prob <p>', 'probability that a step is steered', num, 0.125)
  .option('--layers <spec>', 'layers to steer (default: the vectors\' layers)')
  .option('--batch-size <n>', 'sequences per micro-batch', int, 8)
  .option('--grad-accum <n>', 'micro-batches per step', int, 1)
  .option('--max-tokens <n>', 'truncate benign texts to this many tokens', int, 128)
  .option('--seed <n>', 'seed', int, 0)
  .option('--checkpoint-every <n>', 'steps between checkpoints', int, 50)
  .option('--reextract-every <n>', 're-extract the vectors with the current (LoRA) model every n steps, as the original code can (needs --pairs)', int, 0)
  .option('--pairs <files>', 'with --reextract-every: the contrast-pair file of each vector, comma-separated, in --vectors order')
  .option('--resume', 'continue from OUT/checkpoint', false)
  .option('--device <d>', 'auto | cpu | webgpu', 'auto')
  .option('--dtype <t>', DTYPE_HELP, 'f32')
  .requiredOption('--out <dir>', 'output folder (checkpoint/, adapter/ in PEFT format, train.json)')
  .action(async (o: { model: string; vectors: string; data: string; steps: number; rank: number; alpha?: number; targets: string; lr: number; warmup?: number; coeff: number; prob: number; layers?: string; batchSize: number; gradAccum: number; maxTokens: number; seed: number; checkpointEvery: number; reextractEvery: number; pairs?: string; resume: boolean; device: string; dtype: string; out: string }) => {
    const { model, tok, deviceName } = await open(o.model, o.device, undefined, o.dtype);
    const vectorFiles = o.vectors.split(',').map((f) => f.trim());
    const vectors = vectorFiles.map((f) => SteeringVector.load(f));
    const layers = o.layers ? parseLayers(o.layers, model.numLayers) : vectors[0]!.layers;
    vectors.forEach((v, i) => checkVectorFits(v, layers, model.config.hiddenSize, model.numLayers, vectorFiles[i]!));
    let reextract: ((m: SteerableModel) => Promise<SteeringVector[]>) | undefined;
    if (o.reextractEvery > 0) {
      const pairFiles = (o.pairs ?? '').split(',').map((f) => f.trim()).filter(Boolean);
      if (pairFiles.length !== vectorFiles.length) throw new Error(`--reextract-every needs --pairs with one contrast-pair file per vector (${vectorFiles.length}), got ${pairFiles.length}`);
      const sets = pairFiles.map((f) => loadPairs(f));
      reextract = async (m) => Promise.all(sets.map(({ format, pairs }, i) => extractVector(m, tok, pairs, {
        layers, method: (vectors[i]!.meta.method as 'mean-diff' | 'pca' | undefined) ?? 'mean-diff', position: (vectors[i]!.meta.position as 'last' | 'answer-mean' | undefined) ?? 'last',
        format: format === 'pairs' ? null : chatFormatterFor(tok), device: deviceName,
      })));
    }
    const benign = textsOf(tok, chatFormatterFor(tok), loadBenign(o.data));
    mkdirSync(o.out, { recursive: true });
    const interrupt = onInterrupt('saving a checkpoint after this step');
    const progress = new Progress('kts', o.steps);
    const result = await trainKTS(model, benign, vectors, {
      steps: o.steps, rank: o.rank, alpha: o.alpha, targets: o.targets.split(','), lr: o.lr, warmup: o.warmup, coeff: o.coeff, prob: o.prob,
      layers, batchSize: o.batchSize, gradAccum: o.gradAccum, maxTokens: o.maxTokens, seed: o.seed, device: deviceName,
      outDir: o.out, checkpointEvery: o.checkpointEvery, resume: o.resume, reextractEvery: o.reextractEvery, reextract,
      onStep: (s) => progress.update(s.step, { loss: s.loss, tokens: s.tokens, coeff: s.coeff }),
      shouldStop: interrupt.stopped,
    });
    progress.stop();
    interrupt.release();
    await savePeftAdapter(join(o.out, 'adapter'), result.lora, resolve(o.model), { kts: JSON.stringify({ coeff: o.coeff, prob: o.prob, layers, steps: o.steps }) });
    writeAtomic(join(o.out, 'train.json'), `${JSON.stringify({ options: o, history: result.history, stoppedEarly: result.stoppedEarly }, null, 2)}\n`);
    console.log(`${result.stoppedEarly ? 'stopped early; resume with --resume. ' : ''}adapter: ${join(o.out, 'adapter')}`);
    releaseDevice();
  });

program.command('eval')
  .description('side effects and steering effect over a coefficient sweep, original vs KTS model')
  .requiredOption('--model <dir>', 'HF Llama folder')
  .option('--adapter <dir>', 'KTS adapter (PEFT folder): evaluates the original and the KTS model side by side')
  .requiredOption('--vector <file>', 'steering vector')
  .option('--coeffs <list>', 'coefficients', numList, [-8, -4, 0, 4, 8])
  .option('--layers <spec>', 'layers to steer (default: the vector\'s layers)')
  .requiredOption('--benign <file>', 'benign JSONL: {"text"} or {"prompt","response"}')
  .option('--behaviour <file>', 'behaviour data: CAA A/B JSON, or {positive, negative} JSONL pairs')
  .option('--continuations <n>', 'also compare greedy continuations of the first n benign prompts', int, 0)
  .option('--suggested <file>', 'suggested-answer bias: A/B JSON whose answer_matching_behavior is the correct letter; accuracy with/without a wrong suggestion, unsteered and at the largest coefficient')
  .option('--batch-size <n>', 'texts per forward pass', int, 8)
  .option('--device <d>', 'auto | cpu | webgpu', 'auto')
  .option('--dtype <t>', DTYPE_HELP, 'f32')
  .requiredOption('--out <file>', 'report.json (a .md table and a .svg plot are written beside it)')
  .action(async (o: { model: string; adapter?: string; vector: string; coeffs: number[]; layers?: string; benign: string; behaviour?: string; continuations: number; suggested?: string; batchSize: number; device: string; dtype: string; out: string }) => {
    const { model, tok, deviceName } = await open(o.model, o.device, undefined, o.dtype);
    const format = chatFormatterFor(tok);
    const v = SteeringVector.load(o.vector);
    const layers = o.layers ? parseLayers(o.layers, model.numLayers) : v.layers;
    checkVectorFits(v, layers, model.config.hiddenSize, model.numLayers, o.vector);
    const benignRecords = loadBenign(o.benign);
    const benign = textsOf(tok, format, benignRecords);
    let behaviour: Behaviour | undefined;
    if (o.behaviour) {
      const first = readRecords(o.behaviour)[0]!;
      behaviour = 'question' in first
        ? { kind: 'ab', questions: loadAB(o.behaviour), format, tokenizer: tok }
        : { kind: 'pairs', pairs: loadPairs(o.behaviour).pairs.map((p) => ({ positive: tokenizeFormatted(tok, formatPair(null, p.prompt, p.positive)).ids, negative: tokenizeFormatted(tok, formatPair(null, p.prompt, p.negative)).ids })) };
    }
    const models: EvalModel[] = [{ name: 'original', model, lora: null }];
    if (o.adapter) {
      const kts = await loadModel(o.model, { device: deviceName, dtype: weightDtype(o.dtype) });
      models.push({ name: 'kts', model: kts, lora: loadPeftAdapter(kts, o.adapter) });
    }
    const continuationPrompts = benignRecords.slice(0, o.continuations).map((r) => (r.prompt !== undefined ? tokenizeFormatted(tok, formatPair(format, r.prompt, '')).ids : tok.encode(r.text!.split(' ').slice(0, 8).join(' '), { bos: true })));
    const progress = new Progress('eval', models.length * o.coeffs.length);
    let done = 0;
    const rows = await sweep(models, {
      concept: v.meta.data ?? o.vector, vector: v, layers, coeffs: o.coeffs, benign, behaviour, continuationPrompts, batchSize: o.batchSize, device: deviceName,
      onRow: () => progress.update(++done),
    });
    progress.stop();
    const suggested: Record<string, unknown> = {};
    if (o.suggested) {
      const questions = loadAB(o.suggested);
      const coeff = o.coeffs.reduce((a, c) => (Math.abs(c) > Math.abs(a) ? c : a), 0);
      for (const m of models) suggested[m.name] = await suggestedAnswerEval(m, tok, format, questions, { vector: v, layers, coeff, batchSize: o.batchSize, device: deviceName });
    }
    const report = { model: resolve(o.model), adapter: o.adapter ?? null, vector: o.vector, layers, coeffs: o.coeffs, behaviour: o.behaviour ?? null, rows, ...(o.suggested ? { suggested } : {}) };
    writeAtomic(o.out, `${JSON.stringify(report, null, 2)}\n`);
    const md = markdownTable(rows);
    writeAtomic(o.out.replace(/\.json$/, '') + '.md', `${md}\n`);
    writeAtomic(o.out.replace(/\.json$/, '') + '.svg', await sweepPlotSvg(rows, 'steering effect vs side effects'));
    console.log(md);
    releaseDevice();
  });

program.command('probe')
  .description('train a linear probe (logistic regression on residual-stream activations), e.g. to gate steering or to judge texts')
  .requiredOption('--model <dir>', 'HF Llama folder')
  .requiredOption('--data <file>', 'JSONL {"text", "label": 0|1} or {"prompt", "label"} (prompts are chat-formatted)')
  .requiredOption('--layer <n>', 'decoder layer whose output is read', int)
  .option('--position <p>', 'last | mean', 'mean')
  .option('--holdout <fraction>', 'share of examples held out for the reported accuracy', num, 0.2)
  .option('--seed <n>', 'seed', int, 0)
  .option('--device <d>', 'auto | cpu | webgpu', 'auto')
  .option('--dtype <t>', DTYPE_HELP, 'f32')
  .requiredOption('--out <file>', 'probe.json')
  .action(async (o: { model: string; data: string; layer: number; position: string; holdout: number; seed: number; device: string; dtype: string; out: string }) => {
    const { model, tok, deviceName } = await open(o.model, o.device, undefined, o.dtype);
    const format = chatFormatterFor(tok);
    const examples = readJsonl<{ text?: string; prompt?: string; label?: number }>(o.data).map((r, i) => {
      if (r.label !== 0 && r.label !== 1) throw new Error(`${o.data}:${i + 1}: label must be 0 or 1`);
      const ids = r.text !== undefined ? tok.encode(r.text, { bos: true }) : r.prompt !== undefined ? tokenizeFormatted(tok, formatPair(format, r.prompt, '')).ids : null;
      if (!ids) throw new Error(`${o.data}:${i + 1}: needs "text" or "prompt"`);
      return { ids, label: r.label as 0 | 1 };
    });
    const nTest = Math.floor(examples.length * o.holdout);
    const test = examples.filter((_, i) => i % Math.max(1, Math.round(examples.length / Math.max(nTest, 1))) === 0).slice(0, nTest);
    const train = examples.filter((e) => !test.includes(e));
    const probe = await LinearProbe.train(model, tok, train, { layer: o.layer, position: o.position as 'last' | 'mean', seed: o.seed, device: deviceName });
    probe.save(o.out);
    const trainAcc = await probe.accuracy(model, tok, train, { device: deviceName });
    const testAcc = test.length ? await probe.accuracy(model, tok, test, { device: deviceName }) : null;
    console.log(JSON.stringify({ out: o.out, layer: o.layer, position: o.position, train: train.length, trainAccuracy: trainAcc, heldOut: test.length, heldOutAccuracy: testAcc }));
    releaseDevice();
  });

program.command('experiment')
  .description('the KTS experiment: held-out vector families, calibrated coefficients, KTS seeds and controls, bootstrap CIs; resumable (rerun the same command)')
  .option('--model <dir>', 'HF Llama folder', 'models/default')
  .option('--data <dir>', 'data folder (concepts.jsonl, sentiment_pairs.jsonl, benign_*.jsonl, behaviour_eval.jsonl, lexicon.json)', 'data')
  .option('--out <dir>', 'results folder', 'results/kts')
  .option('--work <dir>', 'resumable state (default: OUT/work)')
  .option('--quick', 'the demo\'s smaller protocol (one seed, no controls, fewer coefficients and vectors)', false)
  .option('--seeds <list>', 'KTS seeds, e.g. 1,2,3,4,5', numList)
  .option('--control-seeds <list>', 'seeds of the control models', numList)
  .option('--coeffs <list>', 'fixed coefficients in residual-norm units instead of the KL-calibrated grid', numList)
  .option('--steps <n>', 'KTS steps per model', int)
  .option('--fresh', 'delete the work folder first', false)
  .option('--device <d>', 'auto | cpu | webgpu', 'auto')
  .action(async (o: { model: string; data: string; out: string; work?: string; quick: boolean; seeds?: number[]; controlSeeds?: number[]; coeffs?: number[]; steps?: number; fresh: boolean; device: string }) => {
    const cfg = experiment.configFor({ ...o, device: o.device as 'auto' | 'cpu' | 'webgpu' });
    if (o.fresh) rmSync(cfg.work, { recursive: true, force: true });
    const interrupt = onInterrupt('stopping after the current step (rerun the same command to continue)');
    const state = await experiment.runExperiment(cfg, (line) => process.stderr.write(`${line}\n`), interrupt.stopped);
    interrupt.release();
    if (!state) {
      process.stderr.write(`stopped; rerun the same command to continue from ${cfg.work}\n`);
    } else {
      const summary = await experiment.writeResults(state);
      console.log(summary.finding.statement);
      process.stderr.write(`wrote ${cfg.out}/summary.json, report.md, curves.svg, ratios.svg\n`);
    }
    releaseDevice();
  });

program.command('export-peft')
  .description('write a KTS training checkpoint as a PEFT adapter folder')
  .requiredOption('--model <dir>', 'the base model the adapter was trained on')
  .requiredOption('--checkpoint <dir>', 'OUT/checkpoint from kts train')
  .requiredOption('--out <dir>', 'PEFT adapter folder')
  .action(async (o: { model: string; checkpoint: string; out: string }) => {
    const model = await loadModel(o.model, { device: 'cpu' });
    const file = join(o.checkpoint, 'adapter.safetensors');
    if (!existsSync(file)) throw new Error(`${o.checkpoint}: no adapter.safetensors (is it a kts train checkpoint?)`);
    const { tensors, metadata } = loadTensors(file);
    const cfg = JSON.parse(metadata.config ?? '{}') as { rank?: number; alpha?: number; targets?: string[] };
    const lora = attachLoRA(model, { rank: cfg.rank, alpha: cfg.alpha, targets: cfg.targets });
    loadLoRAStateDict(lora, tensors, file);
    await savePeftAdapter(o.out, lora, resolve(o.model));
    console.log(`wrote ${o.out}`);
  });

program.command('merge')
  .description('fold a LoRA adapter into the base weights and write an HF checkpoint')
  .requiredOption('--model <dir>', 'base HF Llama folder')
  .requiredOption('--adapter <dir>', 'PEFT adapter folder')
  .requiredOption('--out <dir>', 'output HF folder')
  .action(async (o: { model: string; adapter: string; out: string }) => {
    const model = await loadModel(o.model, { device: 'cpu' });
    const lora = loadPeftAdapter(model, o.adapter);
    mergeLoRA(model, lora);
    await saveModel(model, o.out);
    for (const f of ['tokenizer.model', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json']) {
      if (existsSync(join(o.model, f))) writeAtomicCopy(join(o.model, f), join(o.out, f));
    }
    console.log(`wrote ${o.out}`);
  });

function writeAtomicCopy(from: string, to: string): void {
  const tmp = `${to}.tmp-${process.pid}`;
  copyFileSync(from, tmp);
  renameSync(tmp, to);
}

// Every command takes --verbose: the `kts` launcher (bin/kts.mjs, @kts/webgpu/quiet) hides Dawn's
// native start-up warnings unless it is given.
for (const c of program.commands) c.option('--verbose', "show Dawn's native warnings (or set KTS_DEBUG=1)");

export async function main(argv = process.argv): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (e) {
    process.stderr.write(`kts: ${(e as Error).message}\n`);
    releaseDevice();
    process.exitCode = 1;
  }
}

await main();
