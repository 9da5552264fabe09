// Llama configuration: parsed from (and written back to) a Hugging Face `config.json`.
import { join, readFileSync } from '@kts/tensor/host';

export type RopeScaling =
  | { type: 'linear'; factor: number }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    };

/** The fields of HF's LlamaConfig this implementation uses, in camelCase. */
export interface LlamaConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  /** Defaults to numAttentionHeads (MHA); fewer gives grouped-query attention. */
  numKeyValueHeads: number;
  /** Defaults to hiddenSize / numAttentionHeads; may be set to anything even. */
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  bosTokenId: number | null;
  /** Every end-of-sequence id (HF allows a number or a list). */
  eosTokenIds: number[];
  /** `torch_dtype` as stored (informational: weights are computed in float32). */
  torchDtype: string | null;
}

export const SUPPORTED_ARCHITECTURES = ['LlamaForCausalLM'] as const;
export const SUPPORTED_MODEL_TYPES = ['llama'] as const;

type Json = Record<string, unknown>;

function err(file: string, msg: string): Error {
  return new Error(`${file}: ${msg}`);
}

/** Fills HF defaults and checks a config. Partial input is allowed (useful for tests and conversion). */
export function makeConfig(c: Partial<LlamaConfig> & Pick<LlamaConfig, 'vocabSize' | 'hiddenSize' | 'intermediateSize' | 'numHiddenLayers' | 'numAttentionHeads'>, file = '<config>'): LlamaConfig {
  const heads = c.numAttentionHeads;
  const cfg: LlamaConfig = {
    vocabSize: c.vocabSize,
    hiddenSize: c.hiddenSize,
    intermediateSize: c.intermediateSize,
    numHiddenLayers: c.numHiddenLayers,
    numAttentionHeads: heads,
    numKeyValueHeads: c.numKeyValueHeads ?? heads,
    headDim: c.headDim ?? c.hiddenSize / heads,
    rmsNormEps: c.rmsNormEps ?? 1e-6,
    ropeTheta: c.ropeTheta ?? 10000,
    ropeScaling: c.ropeScaling ?? null,
    maxPositionEmbeddings: c.maxPositionEmbeddings ?? 2048,
    tieWordEmbeddings: c.tieWordEmbeddings ?? false,
    bosTokenId: c.bosTokenId ?? null,
    eosTokenIds: c.eosTokenIds ?? [],
    torchDtype: c.torchDtype ?? null,
  };
  validateConfig(cfg, file);
  return cfg;
}

function validateConfig(c: LlamaConfig, file: string): void {
  const posInt: (keyof LlamaConfig)[] = ['vocabSize', 'hiddenSize', 'intermediateSize', 'numHiddenLayers', 'numAttentionHeads', 'numKeyValueHeads', 'maxPositionEmbeddings'];
  for (const k of posInt) {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw err(file, `${hfName(k)} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (!Number.isInteger(c.headDim) || c.headDim <= 0) {
    throw err(file, `head_dim must be a positive integer (hidden_size ${c.hiddenSize} / num_attention_heads ${c.numAttentionHeads} = ${c.headDim}); set head_dim explicitly`);
  }
  if (c.headDim % 2 !== 0) throw err(file, `head_dim must be even for rotary embeddings, got ${c.headDim}`);
  if (c.numAttentionHeads % c.numKeyValueHeads !== 0) {
    throw err(file, `num_attention_heads (${c.numAttentionHeads}) must be a multiple of num_key_value_heads (${c.numKeyValueHeads})`);
  }
  if (!(c.rmsNormEps > 0)) throw err(file, `rms_norm_eps must be positive, got ${c.rmsNormEps}`);
  if (!(c.ropeTheta > 0)) throw err(file, `rope_theta must be positive, got ${c.ropeTheta}`);
}

const HF_NAMES: Partial<Record<keyof LlamaConfig, string>> = {
  vocabSize: 'vocab_size', hiddenSize: 'hidden_size', intermediateSize: 'intermediate_size',
  numHiddenLayers: 'num_hidden_layers', numAttentionHeads: 'num_attention_heads', numKeyValueHeads: 'num_key_value_heads',
  maxPositionEmbeddings: 'max_position_embeddings',
};
function hfName(k: keyof LlamaConfig): string {
  return HF_NAMES[k] ?? k;
}

/** Parses the JSON object of an HF Llama `config.json`. `file` names the source in errors. */
export function parseConfig(json: unknown, file = 'config.json'): LlamaConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw err(file, 'config must be a JSON object');
  const j = json as Json;
  const archs = j.architectures;
  if (archs !== undefined) {
    if (!Array.isArray(archs)) throw err(file, `"architectures" must be a list, got ${JSON.stringify(archs)}`);
    for (const a of archs) {
      if (!(SUPPORTED_ARCHITECTURES as readonly unknown[]).includes(a)) {
        throw err(file, `unsupported architecture ${JSON.stringify(a)} in "architectures" (supported: ${SUPPORTED_ARCHITECTURES.join(', ')})`);
      }
    }
  }
  if (j.model_type !== undefined && !(SUPPORTED_MODEL_TYPES as readonly unknown[]).includes(j.model_type)) {
    throw err(file, `unsupported model_type ${JSON.stringify(j.model_type)} (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  }
  const req = (name: string): number => {
    const v = j[name];
    if (v === undefined || v === null) throw err(file, `missing required field "${name}"`);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw err(file, `field "${name}" must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const opt = (name: string): number | undefined => {
    const v = j[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw err(file, `field "${name}" must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  for (const flag of ['attention_bias', 'mlp_bias']) {
    if (j[flag] === true) throw err(file, `"${flag}": true is not supported (Llama without biases only)`);
  }
  if (j.hidden_act !== undefined && j.hidden_act !== 'silu') {
    throw err(file, `unsupported hidden_act ${JSON.stringify(j.hidden_act)} (only "silu")`);
  }
  const eos = j.eos_token_id;
  let eosTokenIds: number[] = [];
  if (typeof eos === 'number') eosTokenIds = [eos];
  else if (Array.isArray(eos) && eos.every((e) => typeof e === 'number')) eosTokenIds = eos as number[];
  else if (eos !== undefined && eos !== null) throw err(file, `"eos_token_id" must be a number or a list of numbers, got ${JSON.stringify(eos)}`);
  const bos = opt('bos_token_id');
  const tie = j.tie_word_embeddings;
  if (tie !== undefined && typeof tie !== 'boolean') throw err(file, `"tie_word_embeddings" must be a boolean, got ${JSON.stringify(tie)}`);
  return makeConfig({
    vocabSize: req('vocab_size'),
    hiddenSize: req('hidden_size'),
    intermediateSize: req('intermediate_size'),
    numHiddenLayers: req('num_hidden_layers'),
    numAttentionHeads: req('num_attention_heads'),
    numKeyValueHeads: opt('num_key_value_heads'),
    headDim: opt('head_dim'),
    rmsNormEps: opt('rms_norm_eps'),
    ropeTheta: opt('rope_theta'),
    ropeScaling: parseRopeScaling(j.rope_scaling, file),
    maxPositionEmbeddings: opt('max_position_embeddings'),
    tieWordEmbeddings: tie as boolean | undefined,
    bosTokenId: bos ?? null,
    eosTokenIds,
    torchDtype: typeof j.torch_dtype === 'string' ? j.torch_dtype : null,
  }, file);
}

function parseRopeScaling(rs: unknown, file: string): RopeScaling | null {
  if (rs === undefined || rs === null) return null;
  if (typeof rs !== 'object' || Array.isArray(rs)) throw err(file, `"rope_scaling" must be an object or null, got ${JSON.stringify(rs)}`);
  const r = rs as Json;
  const type = r.rope_type ?? r.type;
  const num = (name: string): number => {
    const v = r[name];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw err(file, `rope_scaling.${name} is required for rope_type ${JSON.stringify(type)} and must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  if (type === 'default') return null;
  if (type === 'linear') return { type: 'linear', factor: num('factor') };
  if (type === 'llama3') {
    return {
      type: 'llama3',
      factor: num('factor'),
      lowFreqFactor: num('low_freq_factor'),
      highFreqFactor: num('high_freq_factor'),
      originalMaxPositionEmbeddings: num('original_max_position_embeddings'),
    };
  }
  throw err(file, `unsupported rope_scaling type ${JSON.stringify(type)} (supported: linear, llama3)`);
}

/** Reads and parses `<dir>/config.json` (or a path to a .json file). */
export function readConfig(dirOrFile: string): LlamaConfig {
  const file = dirOrFile.endsWith('.json') ? dirOrFile : join(dirOrFile, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read config: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  return parseConfig(json, file);
}

/** The HF `config.json` object for a config. */
export function configToJson(c: LlamaConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numHiddenLayers,
    num_attention_heads: c.numAttentionHeads,
    num_key_value_heads: c.numKeyValueHeads,
    head_dim: c.headDim,
    hidden_act: 'silu',
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    rope_scaling: null,
    max_position_embeddings: c.maxPositionEmbeddings,
    tie_word_embeddings: c.tieWordEmbeddings,
    attention_bias: false,
    mlp_bias: false,
  };
  const rs = c.ropeScaling;
  if (rs?.type === 'linear') out.rope_scaling = { rope_type: 'linear', factor: rs.factor };
  if (rs?.type === 'llama3') {
    out.rope_scaling = {
      rope_type: 'llama3', factor: rs.factor, low_freq_factor: rs.lowFreqFactor, high_freq_factor: rs.highFreqFactor,
      original_max_position_embeddings: rs.originalMaxPositionEmbeddings,
    };
  }
  if (c.bosTokenId !== null) out.bos_token_id = c.bosTokenId;
  if (c.eosTokenIds.length) out.eos_token_id = c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds;
  if (c.torchDtype) out.torch_dtype = c.torchDtype;
  return out;
}

/**
 * RoPE inverse frequencies (length headDim/2) as HF computes them in float32:
 * 1 / theta^(2i/d), then rope_scaling (`linear`: / factor; `llama3`: HF's
 * `_compute_llama3_parameters` smooth interpolation).
 */
export function ropeInvFreq(c: LlamaConfig): Float32Array {
  const d = c.headDim;
  const f = Math.fround;
  const inv = new Float32Array(d / 2);
  for (let i = 0; i < d / 2; i++) inv[i] = f(1 / f(Math.pow(c.ropeTheta, f((2 * i) / d))));
  const rs = c.ropeScaling;
  if (rs?.type === 'linear') {
    for (let i = 0; i < inv.length; i++) inv[i] = f(inv[i]! / rs.factor);
  } else if (rs?.type === 'llama3') {
    const lowWavelen = rs.originalMaxPositionEmbeddings / rs.lowFreqFactor;
    const highWavelen = rs.originalMaxPositionEmbeddings / rs.highFreqFactor;
    for (let i = 0; i < inv.length; i++) {
      const x = inv[i]!;
      const wavelen = (2 * Math.PI) / x;
      if (wavelen < highWavelen) continue; // high frequency: unchanged
      if (wavelen > lowWavelen) {
        inv[i] = f(x / rs.factor); // low frequency: scaled
        continue;
      }
      const smooth = (rs.originalMaxPositionEmbeddings / wavelen - rs.lowFreqFactor) / (rs.highFreqFactor - rs.lowFreqFactor);
      inv[i] = f(((1 - smooth) * x) / rs.factor + smooth * x);
    }
  }
  return inv;
}
