// Id-level text generation: batched with left padding, KV cache, seeded sampling, streaming.
import { Generator, type Tensor, noGrad, tensor } from '@kts/tensor';
import { KVCache } from './cache.ts';
import type { LlamaConfig } from './config.ts';
import type { ForwardOptions, SteerSpec } from './model.ts';
import { type SamplingOptions, sampleToken } from './sample.ts';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** Sequence b samples with `new Generator(seed + b)` (default seed 0), so a batch reproduces
   *  single-prompt runs given the matching seed. Unused when greedy. */
  seed?: number;
  /** Extra ids that end a sequence (in addition to the config's eos ids unless ignoreEos). */
  stopIds?: number[];
  /** Do not stop at the config's eos_token_id(s). */
  ignoreEos?: boolean;
  /** Called for every new token, in generation order (step by step, batch index ascending). */
  onToken?: (batchIndex: number, tokenId: number) => void;
  /**
   * Steering during generation (coeffs [B, K] per prompt). A spec's `mask` is not allowed here;
   * `steerPositions` chooses the input positions steered: all (default), the prompt only, or
   * generated tokens only.
   */
  steer?: SteerSpec | SteerSpec[];
  steerPositions?: 'all' | 'prompt' | 'generated';
  /** Token id used for left padding (masked out; default 0). */
  padId?: number;
}

/** What `generate` needs of a model: LlamaForCausalLM fits, and so does anything shaped like it. */
export interface CausalLM {
  readonly config: Pick<LlamaConfig, 'vocabSize' | 'eosTokenIds'>;
  /** Where the weights live; every input is created there. */
  readonly device: string;
  forward(ids: Tensor, opts?: ForwardOptions): { logits: Tensor };
}

/**
 * Generates up to `maxNewTokens` tokens after each prompt and returns the new ids per prompt
 * (a stop/eos token that ended a sequence is included as its last id). Prompts of different
 * lengths are left-padded with an attention mask; every position id counts real tokens only,
 * so each row matches running its prompt alone.
 */
export async function generate(model: CausalLM, promptIds: number[][], opts: GenerateOptions): Promise<number[][]> {
  const B = promptIds.length;
  const maxNew = opts.maxNewTokens;
  if (!Number.isInteger(maxNew) || maxNew < 0) throw new Error(`generate: maxNewTokens must be a non-negative integer, got ${maxNew}`);
  if (B === 0) return [];
  const V = model.config.vocabSize;
  promptIds.forEach((p, b) => {
    if (p.length === 0) throw new Error(`generate: prompt ${b} is empty (at least one token, e.g. BOS, is needed)`);
    p.forEach((id) => {
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`generate: prompt ${b} has token id ${id} outside the vocabulary [0, ${V})`);
    });
  });
  const outs: number[][] = promptIds.map(() => []);
  if (maxNew === 0) return outs;

  const stop = new Set<number>([...(opts.ignoreEos ? [] : model.config.eosTokenIds), ...(opts.stopIds ?? [])]);
  const padId = opts.padId ?? 0;
  const seed = opts.seed ?? 0;
  const gens = promptIds.map((_, b) => new Generator(seed + b));
  const lens = promptIds.map((p) => p.length);
  const L = Math.max(...lens);
  const padded = lens.some((n) => n !== L);
  const specs = opts.steer === undefined ? [] : Array.isArray(opts.steer) ? opts.steer : [opts.steer];
  if (specs.some((s) => s.mask)) throw new Error('generate: steer specs may not carry a mask here; use steerPositions');
  const where = opts.steerPositions ?? 'all';
  const device = model.device; // every input lives where the weights do

  const steerFor = (T: number, prompt: boolean): SteerSpec[] | undefined => {
    if (!specs.length) return undefined;
    if (where === 'all') return specs;
    const on = (where === 'prompt') === prompt;
    const mask = tensor(new Float32Array(B * T).fill(on ? 1 : 0), [B, T], { device });
    return specs.map((s) => ({ ...s, mask }));
  };

  // Prompt: left-padded ids, mask, and positions counting real tokens.
  const ids = new Int32Array(B * L).fill(padId);
  const maskRows: number[][] = [];
  const pos = new Int32Array(B * L);
  promptIds.forEach((p, b) => {
    const off = L - p.length;
    maskRows.push(Array.from({ length: L }, (_, j) => (j < off ? 0 : 1)));
    for (let j = 0; j < p.length; j++) {
      ids[b * L + off + j] = p[j]!;
      pos[b * L + off + j] = j;
    }
  });
  const maskTensor = (): Tensor => tensor(Int32Array.from(maskRows.flat()), [B, maskRows[0]!.length], { device });

  const cache = new KVCache({ capacity: L + maxNew });
  let logits = noGrad(() => model.forward(tensor(ids, [B, L], { device }), {
    cache,
    logits: 'last',
    attentionMask: padded ? maskTensor() : undefined,
    positionIds: padded ? tensor(pos, [B, L], { device }) : undefined,
    steer: steerFor(L, true),
  }).logits);

  const done = new Array<boolean>(B).fill(false);
  for (let step = 0; step < maxNew; step++) {
    const data = (await logits.data()) as Float32Array;
    const next = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      if (done[b]) {
        next[b] = padId;
        continue;
      }
      const tok = sampleToken(data.subarray(b * V, (b + 1) * V), opts, gens[b]!);
      outs[b]!.push(tok);
      next[b] = tok;
      opts.onToken?.(b, tok);
      if (stop.has(tok)) done[b] = true;
    }
    if (step === maxNew - 1 || done.every(Boolean)) break;
    for (const row of maskRows) row.push(1);
    const stepPos = Int32Array.from(lens, (n) => n + step);
    logits = noGrad(() => model.forward(tensor(next, [B, 1], { device }), {
      cache,
      logits: 'last',
      attentionMask: padded ? maskTensor() : undefined,
      positionIds: padded ? tensor(stepPos, [B, 1], { device }) : undefined,
      steer: steerFor(1, false),
    }).logits);
  }
  return outs;
}
