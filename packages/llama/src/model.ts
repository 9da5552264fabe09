// Llama (HF LlamaForCausalLM semantics) on @kts/tensor.
//
// Module fields mirror the HF module tree, so `namedParameters()` yields exactly the HF
// checkpoint keys (`model.layers.0.self_attn.q_proj.weight`, …; no `lm_head.weight` when the
// embeddings are tied). Linear layers are typed `LinearLike`, so KTS can swap them for
// `nn.LoRALinear` (see `replaceLinears`).
import {
  type Generator, type Tensor, addSteering, attention, embedding, full, keep, nn, noGrad,
  rotaryEmbedding, tensor, tidy, triu, ones, cat, zeros,
} from '@kts/tensor';
import { KVCache } from './cache.ts';
import { type LlamaConfig, ropeInvFreq } from './config.ts';

/** Anything usable as a projection: nn.Linear, nn.LoRALinear, or a custom module. */
export type LinearLike = nn.Module & { forward(x: Tensor): Tensor };

/**
 * Residual-stream steering, added after decoder layer `i` for every i in `layers`:
 *   h[b, t] += mask[b, t] · Σ_k coeffs[b, k] · vectors[(b,) k]
 * (`addSteering` from @kts/tensor, which backends may fuse).
 * - vectors: [K, D] shared by the batch, [B, K, D] per sequence, or [D] (taken as K = 1);
 *   or a Map from layer index to such a tensor, for per-layer vectors.
 * - coeffs: [B, K] (or [B] when K = 1).
 * - mask: [B, T] 0/1 positions to steer (of the current forward's T); default all.
 * Everything is differentiable: gradients reach vectors, coeffs and the model's parameters.
 */
export interface SteerSpec {
  layers: number[];
  vectors: Tensor | Map<number, Tensor>;
  coeffs: Tensor;
  mask?: Tensor;
}

export interface ForwardOptions {
  /** [B, Tpast + T], 1 = token, 0 = padding (left padding). */
  attentionMask?: Tensor;
  /** [B, T] or [T] int32; default: cumsum(attentionMask) − 1 (clamped ≥ 0), else Tpast + arange(T). */
  positionIds?: Tensor;
  /** Appended to in place; attention sees cached keys/values plus the new ones. */
  cache?: KVCache;
  /**
   * Decoder-layer outputs to return in `hidden` (layer i = HF hidden_states[i + 1]; negative
   * counts from the end). Keys of `hidden` are the numbers as given here. 'last' → [B, D] at
   * the last position; 'all' (default) → [B, T, D].
   */
  capture?: { layers: number[]; positions?: 'last' | 'all' };
  steer?: SteerSpec | SteerSpec[];
  /** Called after each decoder layer (after steering, before capture); may return a replacement. */
  onResidual?: (layer: number, h: Tensor) => Tensor | void;
  /** 'last' computes logits at the last position only ([B, 1, V]); default 'all'. */
  logits?: 'all' | 'last';
}

export interface LlamaOutput {
  /** [B, T, V] (or [B, 1, V] with logits: 'last'). */
  logits: Tensor;
  hidden: Map<number, Tensor>;
  cache?: KVCache;
}

export interface ModelInitOptions {
  device?: string;
  /** Seeded generator for random init (nn defaults: Linear U(±1/√in), Embedding N(0,1), norms 1). */
  generator?: Generator;
  /**
   * 'empty' skips random init (used by the loader, which overwrites every weight): zeros on the
   * CPU; on other devices the projections are one-element broadcast placeholders, so loading
   * never holds a second full-size copy of them (nor a float32 one of float16 weights).
   */
  init?: 'random' | 'empty';
}

const ZERO_GENERATOR = { uniform: () => 0, normal: () => 0, random: () => 0 } as unknown as Generator;

/** Resolves a possibly negative layer index (−1 = last) to 0..n−1. */
export function resolveLayer(i: number, n: number): number {
  const r = i < 0 ? i + n : i;
  if (!Number.isInteger(i) || r < 0 || r >= n) throw new Error(`layer index ${i} is out of range for a model with ${n} layers`);
  return r;
}

function linear(inF: number, outF: number, o: ModelInitOptions): nn.Linear {
  if (o.init === 'empty' && o.device && o.device !== 'cpu') return nn.Linear.fromWeight(zeros([1], { device: o.device }).expand([outF, inF]));
  return new nn.Linear(inF, outF, { bias: false, device: o.device, generator: o.init === 'empty' ? ZERO_GENERATOR : o.generator });
}

/** x [B, T, Din] → lin → [B, T, Dout], with a single 2-D matmul. */
function apply(lin: LinearLike, x: Tensor): Tensor {
  const [B, T, D] = x.shape as [number, number, number];
  const y = lin.forward(x.reshape([B * T, D]));
  return y.reshape([B, T, y.shape[1]!]);
}

export class LlamaAttention extends nn.Module {
  q_proj: LinearLike;
  k_proj: LinearLike;
  v_proj: LinearLike;
  o_proj: LinearLike;
  private readonly _cfg: LlamaConfig;
  constructor(cfg: LlamaConfig, o: ModelInitOptions) {
    super();
    this._cfg = cfg;
    const { hiddenSize: D, numAttentionHeads: H, numKeyValueHeads: Hkv, headDim: Dh } = cfg;
    this.q_proj = linear(D, H * Dh, o);
    this.k_proj = linear(D, Hkv * Dh, o);
    this.v_proj = linear(D, Hkv * Dh, o);
    this.o_proj = linear(H * Dh, D, o);
  }

  forward(x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor | null, cache: KVCache | undefined, layer: number): Tensor {
    const [B, T] = x.shape as [number, number, number];
    const { numAttentionHeads: H, numKeyValueHeads: Hkv, headDim: Dh } = this._cfg;
    const q = rotaryEmbedding(apply(this.q_proj, x).reshape([B, T, H, Dh]).transpose(1, 2), cos, sin);
    let k = rotaryEmbedding(apply(this.k_proj, x).reshape([B, T, Hkv, Dh]).transpose(1, 2), cos, sin);
    let v = apply(this.v_proj, x).reshape([B, T, Hkv, Dh]).transpose(1, 2);
    if (cache) [k, v] = cache.update(layer, k, v);
    const o = attention(q, k, v, { causal: T > 1, mask });
    return apply(this.o_proj, o.transpose(1, 2).reshape([B, T, H * Dh]));
  }
}

export class LlamaMLP extends nn.Module {
  gate_proj: LinearLike;
  up_proj: LinearLike;
  down_proj: LinearLike;
  constructor(cfg: LlamaConfig, o: ModelInitOptions) {
    super();
    this.gate_proj = linear(cfg.hiddenSize, cfg.intermediateSize, o);
    this.up_proj = linear(cfg.hiddenSize, cfg.intermediateSize, o);
    this.down_proj = linear(cfg.intermediateSize, cfg.hiddenSize, o);
  }
  forward(x: Tensor): Tensor {
    return apply(this.down_proj, apply(this.gate_proj, x).silu().mul(apply(this.up_proj, x)));
  }
}

export class LlamaDecoderLayer extends nn.Module {
  self_attn: LlamaAttention;
  mlp: LlamaMLP;
  input_layernorm: nn.RMSNorm;
  post_attention_layernorm: nn.RMSNorm;
  constructor(cfg: LlamaConfig, o: ModelInitOptions) {
    super();
    this.self_attn = new LlamaAttention(cfg, o);
    this.mlp = new LlamaMLP(cfg, o);
    this.input_layernorm = new nn.RMSNorm(cfg.hiddenSize, cfg.rmsNormEps, { device: o.device });
    this.post_attention_layernorm = new nn.RMSNorm(cfg.hiddenSize, cfg.rmsNormEps, { device: o.device });
  }
  forward(x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor | null, cache: KVCache | undefined, layer: number): Tensor {
    const h = x.add(this.self_attn.forward(this.input_layernorm.forward(x), cos, sin, mask, cache, layer));
    return h.add(this.mlp.forward(this.post_attention_layernorm.forward(h)));
  }
}

export class LlamaModel extends nn.Module {
  embed_tokens: nn.Embedding;
  layers: LlamaDecoderLayer[];
  norm: nn.RMSNorm;
  constructor(cfg: LlamaConfig, o: ModelInitOptions) {
    super();
    this.embed_tokens = new nn.Embedding(cfg.vocabSize, cfg.hiddenSize, {
      device: o.device, generator: o.init === 'empty' ? ZERO_GENERATOR : o.generator,
    });
    this.layers = Array.from({ length: cfg.numHiddenLayers }, () => new LlamaDecoderLayer(cfg, o));
    this.norm = new nn.RMSNorm(cfg.hiddenSize, cfg.rmsNormEps, { device: o.device });
  }
}

interface RopeTable {
  cos: Tensor; // [P, Dh]
  sin: Tensor;
  length: number;
  device: string;
}

export class LlamaForCausalLM extends nn.Module {
  model: LlamaModel;
  /** null when tie_word_embeddings: the logits use model.embed_tokens.weight. */
  lm_head: LinearLike | null;
  readonly _config: LlamaConfig;
  private readonly _invFreq: Float32Array;
  private _rope: RopeTable | null = null;

  constructor(config: LlamaConfig, opts: ModelInitOptions = {}) {
    super();
    this._config = config;
    this._invFreq = ropeInvFreq(config);
    this.model = new LlamaModel(config, opts);
    this.lm_head = config.tieWordEmbeddings ? null : linear(config.hiddenSize, config.vocabSize, opts);
  }

  get config(): LlamaConfig {
    return this._config;
  }
  get numLayers(): number {
    return this.model.layers.length;
  }
  get device(): string {
    return this.model.embed_tokens.weight.device;
  }

  /** Sets requiresGrad on every parameter (e.g. false to freeze the base model). */
  requiresGrad_(flag: boolean): this {
    for (const [, t] of this.namedParameters()) if (t.dtype !== 'int32') t.requiresGrad = flag;
    return this;
  }

  /**
   * The forward pass, step by step as in llama2.c's `forward()`: embed the tokens, run every
   * decoder layer (then steering, the onResidual hook and capture after it), final RMSNorm,
   * classifier. Checking the inputs and planning what happens after each layer are helpers below.
   */
  forward(ids: Tensor, opts: ForwardOptions = {}): LlamaOutput {
    const { B, T, past } = checkInputs(ids, opts);
    const n = this.numLayers;
    const cache = opts.cache;
    // rotary cos/sin for this call's positions
    const { cos, sin } = this.rope(B, T, past, opts.attentionMask, opts.positionIds);
    // additive attention mask over [B, 1, 1, Tpast + T] (null without padding)
    const mask = paddingMask(opts.attentionMask, B, past + T);
    // what runs after each layer: steering to add, hidden states to return
    const steerAt = planSteering(opts.steer, n, B, T, this.device);
    const captureAt = planCapture(opts.capture, n);

    // copy the token embeddings into h [B, T, D]
    let h = this.model.embed_tokens.forward(ids);
    const hidden = new Map<number, Tensor>();
    for (let i = 0; i < n; i++) {
      // decoder layer: h += attention(rmsnorm(h)); h += mlp(rmsnorm(h)) (keys/values appended to the cache);
      // outside autograd its temporaries go back to the backend as soon as it returns (tidy)
      const layer = this.model.layers[i]!;
      h = tidy(() => layer.forward(h, cos, sin, mask, cache, i));
      // steering: h += mask · Σ_k coeffs[:, k] · vectors[k]
      for (const s of steerAt.get(i) ?? []) h = addSteering(h, s.vectors, s.coeffs, s.mask);
      // the caller's hook may replace h
      h = opts.onResidual?.(i, h) ?? h;
      // capture this layer's output (all positions, or the last one)
      const keys = captureAt.get(i);
      if (keys) {
        const c = opts.capture?.positions === 'last' ? h.narrow(1, T - 1, 1).reshape([B, h.shape[2]!]) : h;
        for (const k of keys) hidden.set(k, c);
      }
    }
    // final rmsnorm (only at the last position when only its logits are wanted)
    if (opts.logits === 'last' && T > 1) h = h.narrow(1, T - 1, 1);
    h = this.model.norm.forward(h);
    // classifier into logits (the embedding matrix when the embeddings are tied)
    const logits = this.lm_head ? apply(this.lm_head, h) : tiedHead(h, this.model.embed_tokens.weight);
    return { logits, hidden, cache };
  }

  /**
   * cos, sin [B | 1, 1, T, headDim] for this call's positions: consecutive from Tpast when there
   * are no position ids and no padding (a slice of the cached table); otherwise per-sequence
   * positions (given, or counted from the mask) — looked up in the table when they are on the
   * CPU, computed on the device when they are not (no readback).
   */
  private rope(B: number, T: number, past: number, am: Tensor | undefined, positionIds: Tensor | undefined): { cos: Tensor; sin: Tensor } {
    const Dh = this._config.headDim;
    if (!positionIds && !am) {
      const tab = this.ropeTable(past + T);
      return {
        cos: tab.cos.narrow(0, past, T).reshape([1, 1, T, Dh]),
        sin: tab.sin.narrow(0, past, T).reshape([1, 1, T, Dh]),
      };
    }
    const pos = positionIds ? checkPositions(positionIds, B, T) : this.positionsFromMask(am!, past, T);
    if (pos.device !== 'cpu') return this.ropeFromPositions(pos.cast('float32'));
    const pv = pos.toArray();
    let max = 0;
    for (let i = 0; i < pv.length; i++) {
      if (pv[i]! < 0) throw new Error(`LlamaForCausalLM.forward: negative position id ${pv[i]}`);
      if (pv[i]! > max) max = pv[i]!;
    }
    const tab = this.ropeTable(max + 1);
    const posDev = pos.device === tab.cos.device ? pos : pos.to(tab.cos.device);
    const Bp = pos.shape[0]!;
    return {
      cos: embedding(tab.cos, posDev).reshape([Bp, 1, T, Dh]),
      sin: embedding(tab.sin, posDev).reshape([Bp, 1, T, Dh]),
    };
  }

  /**
   * Positions [B, T] from a left-padding mask [B, Tpast + T]: cumsum(mask) − 1, clamped at 0, for
   * the last T columns. A CPU mask is counted here (int32, on the model's device); a device mask
   * on the device, as mask @ upper-triangular ones (float32).
   */
  private positionsFromMask(am: Tensor, past: number, T: number): Tensor {
    const B = am.shape[0]!;
    const L = past + T;
    if (am.device !== 'cpu') {
      const cs = am.cast('float32').matmul(triu(ones([L, L], { device: am.device }))).narrow(1, past, T);
      return cs.sub(1).maximum(0);
    }
    const m = am.toArray();
    const p = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      let c = 0;
      for (let j = 0; j < L; j++) {
        c += m[b * L + j]! !== 0 ? 1 : 0;
        if (j >= past) p[b * T + j - past] = Math.max(c - 1, 0);
      }
    }
    return tensor(p, [B, T], { device: this.device });
  }

  /** cos/sin from float positions [B, T] with tensor ops (device-agnostic path). */
  private ropeFromPositions(posF: Tensor): { cos: Tensor; sin: Tensor } {
    const [Bp, T] = posF.shape as [number, number];
    const Dh = this._config.headDim;
    const inv = tensor(this._invFreq, [Dh / 2], { device: posF.device });
    const f = posF.unsqueeze(-1).mul(inv);
    const emb = cat([f, f], -1).reshape([Bp, 1, T, Dh]);
    return { cos: emb.cos(), sin: emb.sin() };
  }

  /** Cached cos/sin tables [P, headDim] for positions 0..P−1 (P ≥ n), as HF computes them in float32. */
  private ropeTable(n: number): RopeTable {
    const device = this.device;
    const t = this._rope;
    if (t && t.length >= n && t.device === device) return t;
    const P = Math.max(n, 2 * (t?.length ?? 0), 256);
    const Dh = this._config.headDim;
    const half = Dh / 2;
    const inv = this._invFreq;
    const c = new Float32Array(P * Dh);
    const s = new Float32Array(P * Dh);
    for (let p = 0; p < P; p++) {
      for (let j = 0; j < half; j++) {
        const a = Math.fround(p * inv[j]!); // f32 angle, as torch's f32 matmul of positions and inv_freq
        const cv = Math.cos(a);
        const sv = Math.sin(a);
        c[p * Dh + j] = cv;
        c[p * Dh + j + half] = cv;
        s[p * Dh + j] = sv;
        s[p * Dh + j + half] = sv;
      }
    }
    // kept: the table outlives any tidy() scope that happens to build it
    const table = noGrad(() => ({
      cos: keep(tensor(c, [P, Dh], { device })),
      sin: keep(tensor(s, [P, Dh], { device })),
      length: P,
      device,
    }));
    this._rope = table;
    return table;
  }
}

/** Batch, new tokens and cached tokens of a forward call; throws on ids or a mask of the wrong shape. */
function checkInputs(ids: Tensor, opts: ForwardOptions): { B: number; T: number; past: number } {
  if (ids.ndim !== 2) throw new Error(`LlamaForCausalLM.forward: ids must be [B, T] int32, got shape [${ids.shape.join(', ')}]`);
  if (ids.dtype !== 'int32') throw new Error(`LlamaForCausalLM.forward: ids must be int32, got ${ids.dtype}`);
  const [B, T] = ids.shape as [number, number];
  const past = opts.cache?.length ?? 0;
  const am = opts.attentionMask;
  if (am && (am.ndim !== 2 || am.shape[0] !== B || am.shape[1] !== past + T)) {
    throw new Error(`LlamaForCausalLM.forward: attentionMask must be [B, Tpast + T] = [${B}, ${past + T}], got [${am.shape.join(', ')}]`);
  }
  return { B, T, past };
}

/** Position ids as int32 [B | 1, T] (a [T] vector is shared by the batch). */
function checkPositions(positionIds: Tensor, B: number, T: number): Tensor {
  const pos = positionIds.ndim === 1 ? positionIds.reshape([1, positionIds.shape[0]!]) : positionIds;
  if (pos.shape[1] !== T || (pos.shape[0] !== B && pos.shape[0] !== 1)) {
    throw new Error(`LlamaForCausalLM.forward: positionIds must be [B, T] or [T] with T = ${T}, got [${positionIds.shape.join(', ')}]`);
  }
  return pos.dtype === 'int32' ? pos : pos.cast('int32');
}

/**
 * The attention mask's additive form [B, 1, 1, L]: 0 at tokens, −1e30 at padding. Finite on
 * purpose: with −∞ a row of pure padding becomes NaN, which leaks into real rows via 0 · NaN.
 */
function paddingMask(am: Tensor | undefined, B: number, L: number): Tensor | null {
  return am ? am.cast('float32').sub(1).mul(1e30).reshape([B, 1, 1, L]) : null;
}

/** Steering to add after each (resolved) layer: vectors [K, D] or [B, K, D], coeffs [B, K], mask [B, T]. */
function planSteering(steer: ForwardOptions['steer'], n: number, B: number, T: number, device: string): Map<number, { vectors: Tensor; coeffs: Tensor; mask: Tensor }[]> {
  const plan = new Map<number, { vectors: Tensor; coeffs: Tensor; mask: Tensor }[]>();
  const specs = steer === undefined ? [] : Array.isArray(steer) ? steer : [steer];
  let allPositions: Tensor | null = null; // the default mask, made once
  for (const s of specs) {
    for (const l of s.layers) {
      const r = resolveLayer(l, n);
      let vec: Tensor | undefined;
      if (s.vectors instanceof Map) {
        vec = s.vectors.get(r) ?? s.vectors.get(r - n);
        if (!vec) throw new Error(`steer: no vector for layer ${l} in the per-layer vectors map (keys ${[...s.vectors.keys()].join(', ')})`);
      } else vec = s.vectors;
      const vectors = vec.ndim === 1 ? vec.reshape([1, vec.shape[0]!]) : vec;
      const coeffs = s.coeffs.ndim === 1 ? s.coeffs.reshape([s.coeffs.shape[0]!, 1]) : s.coeffs;
      const mask = s.mask ?? (allPositions ??= full([B, T], 1, { device }));
      plan.set(r, [...(plan.get(r) ?? []), { vectors, coeffs, mask }]);
    }
  }
  return plan;
}

/** Which keys of `hidden` each (resolved) layer's output is returned under (the indices as given). */
function planCapture(capture: ForwardOptions['capture'], n: number): Map<number, number[]> {
  const plan = new Map<number, number[]>();
  for (const l of capture?.layers ?? []) {
    const r = resolveLayer(l, n);
    plan.set(r, [...(plan.get(r) ?? []), l]);
  }
  return plan;
}

/** Logits with tied embeddings: h [B, T, D] · Wᵀ, W = the embedding matrix [V, D]. */
function tiedHead(h: Tensor, w: Tensor): Tensor {
  const [b, t, d] = h.shape as [number, number, number];
  return h.reshape([b * t, d]).matmul(w.transpose(0, 1)).reshape([b, t, w.shape[0]!]);
}

const ATTN_LINEARS = ['q_proj', 'k_proj', 'v_proj', 'o_proj'] as const;
const MLP_LINEARS = ['gate_proj', 'up_proj', 'down_proj'] as const;

/** Every projection slot of the model: its HF module path, owner object and field name. */
export function linearSlots(model: LlamaForCausalLM): { path: string; layer: number | null; owner: Record<string, unknown>; field: string }[] {
  const out: { path: string; layer: number | null; owner: Record<string, unknown>; field: string }[] = [];
  model.model.layers.forEach((l, i) => {
    for (const f of ATTN_LINEARS) out.push({ path: `model.layers.${i}.self_attn.${f}`, layer: i, owner: l.self_attn as unknown as Record<string, unknown>, field: f });
    for (const f of MLP_LINEARS) out.push({ path: `model.layers.${i}.mlp.${f}`, layer: i, owner: l.mlp as unknown as Record<string, unknown>, field: f });
  });
  if (model.lm_head) out.push({ path: 'lm_head', layer: null, owner: model as unknown as Record<string, unknown>, field: 'lm_head' });
  return out;
}

/**
 * Replaces projections by `wrap(linear, path)` (e.g. `(l) => new nn.LoRALinear(l, { rank: 8 })`).
 * `match` is a list of field names (`'q_proj'`, `'v_proj'`, `'lm_head'`, …) or full module paths
 * (`'model.layers.3.mlp.up_proj'`), or a predicate on (path, layer). `layers` restricts to some
 * decoder layers (negative indices allowed). Only plain nn.Linear slots are wrapped (never twice).
 * Returns the replaced paths.
 */
export function replaceLinears(
  model: LlamaForCausalLM,
  match: string[] | ((path: string, layer: number | null) => boolean),
  wrap: (linear: nn.Linear, path: string) => LinearLike,
  opts: { layers?: number[] } = {},
): string[] {
  const layerSet = opts.layers ? new Set(opts.layers.map((l) => resolveLayer(l, model.numLayers))) : null;
  const pred = typeof match === 'function'
    ? match
    : (path: string) => match.some((m) => m === path || path.endsWith('.' + m) || (m === 'lm_head' && path === 'lm_head'));
  const done: string[] = [];
  for (const s of linearSlots(model)) {
    if (layerSet && (s.layer === null || !layerSet.has(s.layer))) continue;
    const cur = s.owner[s.field];
    if (!(cur instanceof nn.Linear) || !pred(s.path, s.layer)) continue;
    s.owner[s.field] = wrap(cur, s.path);
    done.push(s.path);
  }
  return done;
}

/** The weight a projection slot computes with: Linear.weight, or a LoRALinear merged (W + s·B·A). */
function effectiveWeight(mod: unknown, path: string): Tensor {
  if (mod instanceof nn.Linear) return mod.weight;
  if (mod instanceof nn.LoRALinear) {
    const w = mod.base.weight;
    if (!mod.enabled) return w;
    return noGrad(() => w.add(mod.lora_B.matmul(mod.lora_A).mul(mod.scaling)));
  }
  const w = (mod as { weight?: unknown }).weight;
  if (w && typeof w === 'object' && 'shape' in w) return w as Tensor;
  throw new Error(`${path}: cannot export a ${(mod as object)?.constructor?.name ?? typeof mod} (not nn.Linear or nn.LoRALinear)`);
}

/**
 * The model's weights under HF names (LoRA adapters merged into their base weights), detached.
 * With tied embeddings there is no lm_head.weight, as in HF checkpoints.
 */
export function hfStateDict(model: LlamaForCausalLM): Record<string, Tensor> {
  const sd: Record<string, Tensor> = {};
  sd['model.embed_tokens.weight'] = model.model.embed_tokens.weight;
  model.model.layers.forEach((l, i) => {
    const p = `model.layers.${i}`;
    sd[`${p}.input_layernorm.weight`] = l.input_layernorm.weight;
    for (const f of ATTN_LINEARS) sd[`${p}.self_attn.${f}.weight`] = effectiveWeight(l.self_attn[f], `${p}.self_attn.${f}`);
    sd[`${p}.post_attention_layernorm.weight`] = l.post_attention_layernorm.weight;
    for (const f of MLP_LINEARS) sd[`${p}.mlp.${f}.weight`] = effectiveWeight(l.mlp[f], `${p}.mlp.${f}`);
  });
  sd['model.norm.weight'] = model.model.norm.weight;
  if (model.lm_head) sd['lm_head.weight'] = effectiveWeight(model.lm_head, 'lm_head');
  for (const k of Object.keys(sd)) sd[k] = sd[k]!.detach();
  return sd;
}

/** HF parameter names and shapes the config implies (what a checkpoint must contain). */
export function expectedShapes(c: LlamaConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const { hiddenSize: D, intermediateSize: I, numAttentionHeads: H, numKeyValueHeads: Hkv, headDim: Dh, vocabSize: V } = c;
  m.set('model.embed_tokens.weight', [V, D]);
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const p = `model.layers.${i}`;
    m.set(`${p}.input_layernorm.weight`, [D]);
    m.set(`${p}.self_attn.q_proj.weight`, [H * Dh, D]);
    m.set(`${p}.self_attn.k_proj.weight`, [Hkv * Dh, D]);
    m.set(`${p}.self_attn.v_proj.weight`, [Hkv * Dh, D]);
    m.set(`${p}.self_attn.o_proj.weight`, [D, H * Dh]);
    m.set(`${p}.post_attention_layernorm.weight`, [D]);
    m.set(`${p}.mlp.gate_proj.weight`, [I, D]);
    m.set(`${p}.mlp.up_proj.weight`, [I, D]);
    m.set(`${p}.mlp.down_proj.weight`, [D, I]);
  }
  m.set('model.norm.weight', [D]);
  if (!c.tieWordEmbeddings) m.set('lm_head.weight', [V, D]);
  return m;
}

/** Sets the parameter at an HF name (`model.layers.0.mlp.up_proj.weight`) to a tensor. */
export function setParameter(model: LlamaForCausalLM, name: string, value: Tensor): void {
  const parts = name.split('.');
  let obj: Record<string, unknown> = model as unknown as Record<string, unknown>;
  for (const p of parts.slice(0, -1)) {
    const next = obj[p];
    if (next === null || typeof next !== 'object') throw new Error(`setParameter: no module at '${p}' in '${name}'`);
    obj = next as Record<string, unknown>;
  }
  const last = parts[parts.length - 1]!;
  if (!(last in obj)) throw new Error(`setParameter: no parameter '${name}'`);
  obj[last] = value;
}
