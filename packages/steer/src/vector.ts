// Steering vectors: one direction per layer, with arithmetic, and saved as safetensors (with
// metadata) or as llama.cpp GGUF control vectors.
import { type FileRef, type Tensor, loadTensorsFromBytes, readFileRef, saveTensors, tensor } from '@kts/tensor';
import { readFileSync } from '@kts/tensor/host';
import { decodeControlVector, writeControlVector } from './gguf.ts';

export interface VectorMeta {
  model?: string;
  method?: string;
  dataHash?: string;
  position?: string;
  [key: string]: string | undefined;
}

export class SteeringVector {
  constructor(
    /** kts layer index (HF model.layers[i] output) → direction. */
    readonly directions: ReadonlyMap<number, Float32Array>,
    readonly meta: VectorMeta = {},
  ) {
    const dims = new Set([...directions.values()].map((d) => d.length));
    if (dims.size > 1) throw new Error(`SteeringVector: directions have different sizes (${[...dims].join(', ')})`);
  }

  get layers(): number[] {
    return [...this.directions.keys()].sort((a, b) => a - b);
  }
  get dim(): number {
    return this.directions.values().next().value?.length ?? 0;
  }
  get(layer: number): Float32Array {
    const d = this.directions.get(layer);
    if (!d) throw new Error(`SteeringVector: no direction for layer ${layer} (have ${this.layers.join(', ')})`);
    return d;
  }
  /** The direction at `layer` as a [D] tensor. */
  tensor(layer: number, device?: string): Tensor {
    return tensor(this.get(layer), [this.dim], { device });
  }
  norm(layer: number): number {
    return Math.hypot(...this.get(layer));
  }

  private map(fn: (d: Float32Array, layer: number) => Float32Array, meta: VectorMeta = this.meta): SteeringVector {
    return new SteeringVector(new Map(this.layers.map((l) => [l, fn(this.get(l), l)])), meta);
  }
  scale(c: number): SteeringVector {
    return this.map((d) => d.map((v) => v * c));
  }
  neg(): SteeringVector {
    return this.scale(-1);
  }
  /** Sum over the layers both vectors have. */
  add(other: SteeringVector): SteeringVector {
    const layers = this.layers.filter((l) => other.directions.has(l));
    if (layers.length === 0) throw new Error('SteeringVector.add: the vectors share no layer');
    if (other.dim !== this.dim) throw new Error(`SteeringVector.add: sizes differ (${this.dim} vs ${other.dim})`);
    return new SteeringVector(new Map(layers.map((l) => [l, this.get(l).map((v, i) => v + other.get(l)[i]!)])), { ...this.meta, method: `${this.meta.method}+${other.meta.method}` });
  }
  sub(other: SteeringVector): SteeringVector {
    return this.add(other.neg());
  }
  /** Keeps the given layers (negative indices count from the end of `numLayers`). */
  select(layers: number[], numLayers?: number): SteeringVector {
    const want = layers.map((l) => (l < 0 ? (numLayers ?? Infinity) + l : l));
    return new SteeringVector(new Map(want.map((l) => [l, this.get(l)])), this.meta);
  }
  normalized(): SteeringVector {
    return this.map((d) => {
      const n = Math.hypot(...d) || 1;
      return d.map((v) => v / n);
    });
  }

  /** .gguf → llama.cpp control vector; anything else → safetensors (`layer.{i}` tensors + metadata). */
  save(path: string, { layerCount }: { layerCount?: number } = {}): void {
    if (path.endsWith('.gguf')) {
      const extra = Object.fromEntries(Object.entries(this.meta).filter(([k, v]) => v !== undefined && k !== 'model').map(([k, v]) => [`kts.${k}`, v!]));
      writeControlVector(path, {
        modelHint: this.meta.model ?? 'llama',
        layerCount: layerCount ?? Math.max(...this.layers) + 1,
        directions: new Map(this.directions),
        metadata: extra,
      });
      return;
    }
    const tensors = Object.fromEntries(this.layers.map((l) => [`layer.${l}`, this.tensor(l)]));
    const metadata = Object.fromEntries(Object.entries({ ...this.meta, format: 'kts-steering-vector' }).filter(([, v]) => v !== undefined)) as Record<string, string>;
    saveTensors(path, tensors, { metadata });
  }

  /** Reads a .gguf control vector or a kts .safetensors vector (by extension). */
  static load(path: string): SteeringVector {
    return SteeringVector.fromBytes(readFileSync(path), path, path.endsWith('.gguf') ? 'gguf' : 'safetensors');
  }

  /** Reads a vector from a URL, a File or bytes (see `FileRef` in @kts/tensor; in Node also a path). */
  static async loadFrom(ref: FileRef): Promise<SteeringVector> {
    const { bytes, name } = await readFileRef(ref);
    return SteeringVector.fromBytes(bytes, name);
  }

  /**
   * A vector from a file's bytes: a GGUF control vector (llama.cpp's format) or a kts safetensors
   * vector (`layer.<i>` tensors); the format is told by the first bytes unless given. `label`
   * names the file in errors.
   */
  static fromBytes(bytes: Uint8Array, label = '<memory>', format: 'gguf' | 'safetensors' = isGguf(bytes) ? 'gguf' : 'safetensors'): SteeringVector {
    if (format === 'gguf') {
      const cv = decodeControlVector(bytes, label);
      const meta: VectorMeta = { model: cv.modelHint };
      for (const [k, v] of Object.entries(cv.metadata ?? {})) if (k.startsWith('kts.')) meta[k.slice(4)] = v;
      return new SteeringVector(cv.directions, meta);
    }
    const { tensors, metadata } = loadTensorsFromBytes(bytes, {}, label);
    const directions = new Map<number, Float32Array>();
    for (const [name, t] of Object.entries(tensors)) {
      const m = /^layer\.(-?\d+)$/.exec(name);
      if (!m) throw new Error(`${label}: unexpected tensor '${name}' in a steering-vector file (expected layer.<i>)`);
      if (t.ndim !== 1) throw new Error(`${label}: tensor '${name}' must be 1-D, got [${t.shape}]`);
      directions.set(Number(m[1]), t.toArray() as Float32Array);
    }
    const { format: _format, ...meta } = metadata;
    return new SteeringVector(directions, meta);
  }

  /**
   * Throws a clear error unless this vector fits a model: one width equal to its hidden size, and
   * layers it has. (Adding a vector of another width would otherwise fail deep in a kernel.)
   */
  checkFits(config: { hiddenSize: number; numHiddenLayers: number }, label = 'steering vector'): void {
    if (this.directions.size === 0) throw new Error(`${label} has no directions`);
    if (this.dim !== config.hiddenSize) {
      throw new Error(`${label} has width ${this.dim}, but the model's hidden size is ${config.hiddenSize}: it was made for another model`);
    }
    const outside = this.layers.filter((l) => l < 0 || l >= config.numHiddenLayers);
    if (outside.length) {
      throw new Error(`${label} steers layer(s) ${outside.join(', ')}, but the model has ${config.numHiddenLayers} layers (0..${config.numHiddenLayers - 1})`);
    }
  }
}

/** GGUF files start with the bytes "GGUF". */
function isGguf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x47 && bytes[1] === 0x47 && bytes[2] === 0x55 && bytes[3] === 0x46;
}

/** Checks that a vector fits a model: every steering layer present and inside the model, and the model's width. `name` (a file) is in the message. */
export function checkVectorFits(v: SteeringVector, layers: number[], hidden: number, numLayers: number, name: string): void {
  const outside = [...new Set([...v.layers, ...layers])].filter((l) => l < 0 || l >= numLayers);
  if (outside.length) throw new Error(`${name}: layer(s) ${outside.join(', ')} do not exist in a model with ${numLayers} layers`);
  const missing = layers.filter((l) => !v.directions.has(l));
  if (missing.length) throw new Error(`${name}: no direction for layer(s) ${missing.join(', ')} (it has ${v.layers.join(', ')})`);
  if (v.dim !== hidden) throw new Error(`${name}: directions have ${v.dim} values but the model's hidden size is ${hidden}`);
}

// ---- extraction math (pure functions over activation rows) -----------------------------------

/** mean(positive) − mean(negative): the paper's `cluster_mean` direction (not normalised). */
export function meanDifference(pos: Float64Array[], neg: Float64Array[]): Float64Array {
  if (pos.length === 0 || neg.length === 0) throw new Error('meanDifference: needs at least one positive and one negative activation');
  const d = pos[0]!.length;
  const out = new Float64Array(d);
  for (const p of pos) for (let i = 0; i < d; i++) out[i]! += p[i]! / pos.length;
  for (const n of neg) for (let i = 0; i < d; i++) out[i]! -= n[i]! / neg.length;
  return out;
}

/**
 * First principal direction of the pair differences d_i = pos_i − neg_i (uncentred, i.e. the
 * top eigenvector of Σ d dᵀ, as PCA on differences of randomly ordered pairs), sign-aligned with
 * the mean difference. Computed by power iteration on the n×n Gram matrix (n pairs ≪ hidden).
 * Returned unit-norm, or rescaled to the mean difference's norm.
 */
export function pcaDirection(pos: Float64Array[], neg: Float64Array[], { rescale = true, iterations = 500 } = {}): Float64Array {
  if (pos.length !== neg.length || pos.length === 0) throw new Error(`pcaDirection: needs matched pairs, got ${pos.length} positive and ${neg.length} negative`);
  const n = pos.length;
  const d = pos[0]!.length;
  const diffs = pos.map((p, i) => p.map((v, j) => v - neg[i]![j]!));
  const gram = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += diffs[i]![k]! * diffs[j]![k]!;
      gram[i * n + j] = s;
      gram[j * n + i] = s;
    }
  }
  // Power iteration from a fixed, non-degenerate start (deterministic).
  let u = new Float64Array(n).map((_, i) => 1 + i / n);
  for (let it = 0; it < iterations; it++) {
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += gram[i * n + j]! * u[j]!;
      next[i] = s;
    }
    const norm = Math.hypot(...next) || 1;
    const delta = next.reduce((p, v, i) => p + Math.abs(v / norm - u[i]!), 0);
    u = next.map((v) => v / norm);
    if (delta < 1e-15) break;
  }
  // Right singular vector: v = Dᵀ u / |Dᵀ u|.
  const v = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) v[k]! += u[i]! * diffs[i]![k]!;
  const mean = meanDifference(pos, neg);
  const sign = v.reduce((p, x, k) => p + x * mean[k]!, 0) < 0 ? -1 : 1;
  const vn = Math.hypot(...v) || 1;
  const scale = (sign / vn) * (rescale ? Math.hypot(...mean) : 1);
  return v.map((x) => x * scale);
}
