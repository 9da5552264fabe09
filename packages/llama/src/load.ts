// Loading and saving HF-format Llama checkpoints (config.json + safetensors, single or sharded).
import {
  CpuStorage, type Files, type Tensor, fileSource, fromStorage, getBackend, pathIn, readJson, safetensors, tensor,
} from '@kts/tensor';
import { join, mkdirSync, randomBytes, renameSync, writeFileSync } from '@kts/tensor/host';
import { type LlamaConfig, configToJson, parseConfig, readConfig } from './config.ts';
import { LlamaForCausalLM, expectedShapes, hfStateDict, setParameter } from './model.ts';

export interface LoadModelOptions {
  device?: string;
  /**
   * 'float16': the projection weights (q/k/v/o, gate/up/down, lm_head) are stored as f16 on the
   * WebGPU backend (adapter feature shader-f16; about half the memory: Llama-2-7b in ~14 GB),
   * multiplied with float32 accumulation; embeddings and norms stay float32, and so do LoRA
   * adapters and optimizer state. Frozen: not with requiresGrad.
   */
  dtype?: 'float32' | 'float16';
  /** Mark loaded parameters as requiring gradients (default false: a frozen base model). */
  requiresGrad?: boolean;
}

/** The weights dtype 'float16' stores as f16: every projection (matmul B operands). */
const F16_WEIGHTS = /(_proj|^lm_head)\.weight$/;

/** Tensors a checkpoint may carry that the model does not use. */
const IGNORED = /(^|\.)rotary_emb\.inv_freq$/;

const shapeStr = (s: readonly number[]): string => `[${s.join(', ')}]`;

/**
 * Loads `<dir>/config.json` and `model.safetensors` (or a sharded `model.safetensors.index.json`).
 * Every tensor's name, shape and presence is checked from the headers before any weight is read;
 * weights are then read one at a time straight into the model (F16/BF16 decode to float32), so
 * peak memory stays near the size of the float32 weights.
 */
export async function loadModel(dir: string, opts: LoadModelOptions = {}): Promise<LlamaForCausalLM> {
  checkDtype(opts);
  return fromCheckpoint(readConfig(dir), join(dir, 'config.json'), safetensors.openCheckpoint(dir), opts);
}

/**
 * loadModel from a folder URL, dropped Files, ArrayBuffers by file name, or any FileSource (see
 * `Files` in @kts/tensor): `config.json` and `model.safetensors` (or the index and its shards),
 * read into memory, then checked and loaded as by loadModel.
 */
export async function loadModelFrom(files: Files, opts: LoadModelOptions = {}): Promise<LlamaForCausalLM> {
  checkDtype(opts);
  const src = fileSource(files);
  const configFile = pathIn(src, 'config.json');
  const json = await readJson(src, 'config.json');
  if (json === null) throw new Error(`loadModel: ${configFile} not found (is ${src.name || 'it'} a model folder?)`);
  return fromCheckpoint(parseConfig(json, configFile), configFile, await safetensors.fetchCheckpoint(src), opts);
}

function checkDtype(opts: LoadModelOptions): void {
  if (opts.dtype && opts.dtype !== 'float32' && opts.dtype !== 'float16') {
    throw new Error(`loadModel: dtype must be 'float32' or 'float16', got '${String(opts.dtype)}'`);
  }
  if (opts.dtype !== 'float16') return;
  if ((opts.device ?? 'cpu') === 'cpu') {
    throw new Error("loadModel: dtype 'float16' stores weights as f16 on the WebGPU backend (device 'webgpu', adapter feature shader-f16); the CPU backend computes in float32: load without dtype");
  }
  if (opts.requiresGrad) throw new Error("loadModel: float16 weights are frozen; requiresGrad needs dtype 'float32'");
}

/** Checks the checkpoint's tensors against the config, then reads them into a new model (closes the reader). */
async function fromCheckpoint(config: LlamaConfig, configFile: string, reader: safetensors.SafetensorsReader, opts: LoadModelOptions): Promise<LlamaForCausalLM> {
  const f16 = opts.dtype === 'float16';
  try {
    const expected = expectedShapes(config);
    const names = reader.names();
    const unexpected = names.filter((n) => !expected.has(n) && !IGNORED.test(n) && !(config.tieWordEmbeddings && n === 'lm_head.weight'));
    if (unexpected.length) {
      throw new Error(`loadModel: ${reader.path} has unexpected tensor(s) ${unexpected.map((n) => `"${n}"`).join(', ')} not in a Llama model with the config ${configFile}`);
    }
    const missing = [...expected.keys()].filter((n) => !reader.has(n));
    if (missing.length) {
      const list = missing.slice(0, 8).map((n) => `"${n}" (expected shape ${shapeStr(expected.get(n)!)})`).join(', ');
      throw new Error(`loadModel: tensor(s) ${list}${missing.length > 8 ? ` and ${missing.length - 8} more` : ''} missing from ${reader.path}`);
    }
    for (const [name, shape] of expected) {
      const info = reader.info(name);
      if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
        throw new Error(`loadModel: tensor "${name}" in ${info.file} has shape ${shapeStr(info.shape)}, but ${configFile} implies ${shapeStr(shape)}`);
      }
      if (!['F32', 'F16', 'BF16', 'F64'].includes(info.dtype)) {
        throw new Error(`loadModel: tensor "${name}" in ${info.file} has dtype ${info.dtype}; expected a float dtype (F32, F16, BF16)`);
      }
    }
    const model = new LlamaForCausalLM(config, { device: opts.device, init: 'empty' });
    const params = new Map(model.namedParameters());
    for (const [name, shape] of expected) {
      const param = params.get(name);
      if (param && param.storage instanceof CpuStorage && param.storage.data instanceof Float32Array && param.offset === 0) {
        // CPU: decode straight into the parameter's memory — no second copy of the tensor.
        reader.readInto(name, param.storage.data);
        continue;
      }
      // Other devices: one host buffer per tensor, uploaded without a further copy (float16: the
      // backend rounds it on the device).
      const host = new Float32Array(shape.reduce((a, d) => a * d, 1));
      reader.readInto(name, host);
      const b = getBackend(opts.device ?? 'cpu');
      const t = fromStorage(b, b.fromArray(host, f16 && F16_WEIGHTS.test(name) ? 'float16' : 'float32'), shape);
      t.requiresGrad = opts.requiresGrad ?? false;
      setParameter(model, name, t);
    }
    if (opts.requiresGrad) model.requiresGrad_(true);
    if (!opts.requiresGrad) model.requiresGrad_(false);
    return model;
  } finally {
    reader.close();
  }
}

export interface SaveModelOptions {
  /** Storage dtype of the weights (default F32). */
  dtype?: 'F32' | 'BF16' | 'F16';
}

/**
 * Writes `<dir>/config.json` and `<dir>/model.safetensors` (each atomically: temp file + rename).
 * LoRA-wrapped projections are saved merged (W + scaling · B·A), under HF names.
 */
export async function saveModel(model: LlamaForCausalLM, dir: string, opts: SaveModelOptions = {}): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const dtype = opts.dtype ?? 'F32';
  const sd = hfStateDict(model);
  const out: Record<string, safetensors.WritableTensor> = {};
  for (const [name, t] of Object.entries(sd)) {
    out[name] = { shape: [...t.shape], data: await float32Data(t), dtype };
  }
  const cfg = { ...configToJson(model.config), torch_dtype: dtype === 'F32' ? 'float32' : dtype === 'BF16' ? 'bfloat16' : 'float16' };
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
  safetensors.writeSafetensors(join(dir, safetensors.SINGLE_FILE), out, { format: 'pt' });
}

/** A tensor's float32 values, without a copy when it is a contiguous CPU float32 tensor. */
async function float32Data(t: Tensor): Promise<Float32Array> {
  const s = t.storage;
  if (s instanceof CpuStorage && s.data instanceof Float32Array && t.offset === 0 && s.data.length === t.size && t.strides.every((st, i) => st === t.strides[i])) {
    let expect = 1;
    let contiguous = true;
    for (let i = t.ndim - 1; i >= 0; i--) {
      if (t.shape[i] !== 1 && t.strides[i] !== expect) contiguous = false;
      expect *= t.shape[i]!;
    }
    if (contiguous) return s.data;
  }
  const d = await t.cast('float32').data();
  return d instanceof Float32Array ? d : Float32Array.from(d);
}

export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
