// Neural-network modules. A Module finds its tensors and sub-modules by walking its own fields,
// so a model reads like its PyTorch counterpart and parameter names come out the same
// ("layers.0.self_attn.q_proj.weight"). Fields whose names start with "_" are not parameters.
import { embedding } from './functional.ts';
import { rmsNorm } from './fused/rmsnorm.ts';
import * as ops from './ops.ts';
import { defaultGenerator, type Generator } from './random.ts';
import { shapeStr } from './shape.ts';
import { Tensor } from './tensor.ts';
import { full, type RandomOptions } from './creation.ts';

export abstract class Module {
  training = true;

  /** Every tensor of this module and its children, by dotted name (frozen ones included). */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [key, value] of Object.entries(this)) {
      if (key.startsWith('_')) continue;
      const name = prefix + key;
      if (value instanceof Tensor) out.push([name, value]);
      else if (value instanceof Module) out.push(...value.namedParameters(name + '.'));
      else if (Array.isArray(value)) {
        value.forEach((v, i) => {
          if (v instanceof Module) out.push(...v.namedParameters(`${name}.${i}.`));
          else if (v instanceof Tensor) out.push([`${name}.${i}`, v]);
        });
      }
    }
    return out;
  }

  /** Tensors that receive gradients. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t).filter((t) => t.requiresGrad);
  }

  modules(): Module[] {
    const out: Module[] = [this];
    for (const [key, value] of Object.entries(this)) {
      if (key.startsWith('_')) continue;
      if (value instanceof Module) out.push(...value.modules());
      else if (Array.isArray(value)) value.forEach((v) => v instanceof Module && out.push(...v.modules()));
    }
    return out;
  }

  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters().map(([n, t]) => [n, t.detach()]));
  }

  /**
   * Copies values in place (so optimisers holding the tensors keep working). With strict, every
   * name must match both ways; shapes must always match.
   */
  loadStateDict(sd: Record<string, Tensor>, { strict = true } = {}): void {
    const own = new Map(this.namedParameters());
    if (strict) {
      const missing = [...own.keys()].filter((k) => !(k in sd));
      const unexpected = Object.keys(sd).filter((k) => !own.has(k));
      if (missing.length || unexpected.length) {
        throw new Error(`loadStateDict: missing keys [${missing.join(', ')}], unexpected keys [${unexpected.join(', ')}]`);
      }
    }
    for (const [name, src] of Object.entries(sd)) {
      const dst = own.get(name);
      if (!dst) continue;
      if (dst.shape.length !== src.shape.length || dst.shape.some((d, i) => d !== src.shape[i])) {
        throw new Error(`loadStateDict: '${name}' has shape ${shapeStr(src.shape)} in the state dict but ${shapeStr(dst.shape)} in the model`);
      }
      const value = ops.toDevice(src.detach().cast(dst.dtype), dst.backend);
      dst.backend.assign(dst, value);
    }
  }

  train(flag = true): this {
    for (const m of this.modules()) m.training = flag;
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  /** Moves every tensor to a device (replaces the fields; make optimisers afterwards). */
  to(device: string): this {
    for (const m of [this, ...this.modules().slice(1)]) {
      for (const [key, value] of Object.entries(m)) {
        if (value instanceof Tensor) {
          const moved = ops.toDevice(value.detach(), ops.backendNamed(device));
          moved.requiresGrad = value.requiresGrad;
          (m as unknown as Record<string, Tensor>)[key] = moved;
        }
      }
    }
    return this;
  }
}

function uniform(shape: number[], bound: number, opts: RandomOptions = {}): Tensor {
  const g: Generator = opts.generator ?? defaultGenerator;
  const n = shape.reduce((p, d) => p * d, 1);
  const data = ops.hostArray(opts.dtype === 'float64' ? 'float64' : 'float32', n, opts);
  for (let i = 0; i < n; i++) data[i] = g.uniform(-bound, bound);
  return ops.adopt(data, shape, { dtype: opts.dtype, device: opts.device });
}

export interface LinearOptions extends RandomOptions {
  bias?: boolean;
}

/** y = x Wᵀ + b, weight [out, in], initialised U(±1/√in) like torch.nn.Linear. */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = uniform([outFeatures, inFeatures], bound, opts).requiresGrad_();
    this.bias = opts.bias === false ? null : uniform([outFeatures], bound, opts).requiresGrad_();
  }
  /** A Linear around existing tensors (no random init): weight [out, in], bias [out]. */
  static fromWeight(weight: Tensor, bias: Tensor | null = null): Linear {
    const lin = Object.create(Linear.prototype) as Linear;
    Object.assign(lin, { training: true, inFeatures: weight.shape[1]!, outFeatures: weight.shape[0]!, weight, bias });
    return lin;
  }
  forward(x: Tensor): Tensor {
    const y = x.matmul(this.weight.transpose(0, 1));
    return this.bias ? y.add(this.bias) : y;
  }
}

export class Embedding extends Module {
  weight: Tensor;
  constructor(readonly numEmbeddings: number, readonly dim: number, opts: RandomOptions = {}) {
    super();
    const g = opts.generator ?? defaultGenerator;
    const data = ops.hostArray('float32', numEmbeddings * dim, opts);
    for (let i = 0; i < data.length; i++) data[i] = g.normal();
    this.weight = ops.adopt(data, [numEmbeddings, dim], { dtype: opts.dtype, device: opts.device }).requiresGrad_();
  }
  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }
}

export class RMSNorm extends Module {
  weight: Tensor;
  constructor(readonly dim: number, readonly eps = 1e-6, opts: RandomOptions = {}) {
    super();
    this.weight = full([dim], 1, { dtype: opts.dtype, device: opts.device }).requiresGrad_();
  }
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}

export interface LoRAOptions extends RandomOptions {
  rank: number;
  alpha?: number;
}

/**
 * LoRA (Hu et al. 2021) as PEFT does it: y = base(x) + (x Aᵀ Bᵀ)·(alpha / rank), A [rank, in]
 * kaiming-uniform, B [out, rank] zero — so a fresh adapter leaves the model unchanged. The base
 * weight is frozen. `enabled = false` gives the original model (the KTS reference pass).
 */
export class LoRALinear extends Module {
  lora_A: Tensor;
  lora_B: Tensor;
  readonly rank: number;
  readonly alpha: number;
  enabled = true;
  constructor(readonly base: Linear, opts: LoRAOptions) {
    super();
    this.rank = opts.rank;
    this.alpha = opts.alpha ?? opts.rank;
    base.weight.requiresGrad = false;
    if (base.bias) base.bias.requiresGrad = false;
    const dev = { dtype: base.weight.dtype, device: base.weight.device };
    this.lora_A = uniform([this.rank, base.inFeatures], 1 / Math.sqrt(base.inFeatures), { ...opts, ...dev }).requiresGrad_();
    this.lora_B = full([base.outFeatures, this.rank], 0, dev).requiresGrad_();
  }
  get scaling(): number {
    return this.alpha / this.rank;
  }
  forward(x: Tensor): Tensor {
    const y = this.base.forward(x);
    if (!this.enabled) return y;
    return y.add(x.matmul(this.lora_A.transpose(0, 1)).matmul(this.lora_B.transpose(0, 1)).mul(this.scaling));
  }
}
