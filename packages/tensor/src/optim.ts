// Optimisers with PyTorch semantics (so loss curves match torch.optim step for step), a
// warmup + cosine schedule, and gradient clipping. Updates run without a graph and write
// into the parameters in place, so every module keeps pointing at the same tensors.
import { noGrad } from './autograd.ts';
import { adamwComposite } from './fused/adamw.ts';
import * as ops from './ops.ts';
import type { Tensor } from './tensor.ts';

function update(p: Tensor, value: Tensor): void {
  p.backend.assign(p, value);
}

export abstract class Optimizer {
  stepCount = 0;
  constructor(readonly params: Tensor[], public lr: number) {
    for (const p of params) {
      if (!p.isLeaf) throw new Error('optimizer: parameters must be leaf tensors (created by the user, not computed)');
    }
  }
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }
  abstract step(): void;
  /** Optimiser state as named tensors (for checkpoints), and its inverse. */
  abstract stateTensors(): Record<string, Tensor>;
  abstract loadStateTensors(state: Record<string, Tensor>, stepCount: number): void;
}

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/** AdamW (Loshchilov & Hutter): decoupled weight decay, bias-corrected moments — as torch.optim.AdamW. */
export class AdamW extends Optimizer {
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  private m: (Tensor | null)[];
  private v: (Tensor | null)[];

  constructor(params: Tensor[], opts: AdamWOptions = {}) {
    super(params, opts.lr ?? 1e-3);
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    this.m = params.map(() => null);
    this.v = params.map(() => null);
  }

  step(): void {
    this.stepCount++;
    const [b1, b2] = this.betas;
    const t = this.stepCount;
    noGrad(() => {
      this.params.forEach((p, i) => {
        const g = p.grad;
        if (!g) return;
        const m = (this.m[i] ??= ops.zerosLike(p));
        const v = (this.v[i] ??= ops.zerosLike(p));
        const h = { lr: this.lr, beta1: b1, beta2: b2, eps: this.eps, weightDecay: this.weightDecay, step: t };
        // One kernel updates param, m and v in place where the backend has it; else the composite.
        const fused = p.backend.fused?.adamw;
        if (fused && p.offset === 0 && p.storage.length === p.size) fused(p, g, m, v, h);
        else adamwComposite(p, g, m, v, h);
      });
    });
  }

  stateTensors(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.params.forEach((_, i) => {
      if (this.m[i]) out[`m.${i}`] = this.m[i]!;
      if (this.v[i]) out[`v.${i}`] = this.v[i]!;
    });
    return out;
  }

  loadStateTensors(state: Record<string, Tensor>, stepCount: number): void {
    this.stepCount = stepCount;
    this.params.forEach((p, i) => {
      this.m[i] = state[`m.${i}`] ? ops.toDevice(state[`m.${i}`]!, p.backend) : null;
      this.v[i] = state[`v.${i}`] ? ops.toDevice(state[`v.${i}`]!, p.backend) : null;
    });
  }
}

export interface SGDOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
}

/** SGD with optional momentum and L2 weight decay, as torch.optim.SGD (dampening 0). */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly weightDecay: number;
  private buf: (Tensor | null)[];
  constructor(params: Tensor[], opts: SGDOptions) {
    super(params, opts.lr);
    this.momentum = opts.momentum ?? 0;
    this.weightDecay = opts.weightDecay ?? 0;
    this.buf = params.map(() => null);
  }
  step(): void {
    this.stepCount++;
    noGrad(() => {
      this.params.forEach((p, i) => {
        let g = p.grad;
        if (!g) return;
        if (this.weightDecay) g = g.add(p.mul(this.weightDecay));
        if (this.momentum) {
          const b = this.buf[i] ? this.buf[i]!.mul(this.momentum).add(g) : g;
          this.buf[i] = b;
          g = b;
        }
        update(p, p.sub(g.mul(this.lr)));
      });
    });
  }
  stateTensors(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.buf.forEach((b, i) => b && (out[`buf.${i}`] = b));
    return out;
  }
  loadStateTensors(state: Record<string, Tensor>, stepCount: number): void {
    this.stepCount = stepCount;
    this.buf = this.params.map((p, i) => (state[`buf.${i}`] ? ops.toDevice(state[`buf.${i}`]!, p.backend) : null));
  }
}

export interface ScheduleOptions {
  warmup: number;
  total: number;
  /** Final learning rate as a fraction of the peak (default 0). */
  minRatio?: number;
}

/** Learning-rate multiplier: linear warmup from 0 to 1 over `warmup` steps, then cosine decay to minRatio at `total`. */
export function warmupCosine({ warmup, total, minRatio = 0 }: ScheduleOptions): (step: number) => number {
  return (step: number) => {
    if (warmup > 0 && step < warmup) return (step + 1) / warmup;
    const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
    return minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

/**
 * Scales gradients so their global L2 norm is at most maxNorm (torch.nn.utils.clip_grad_norm_).
 * Returns the norm before clipping as a 0-d tensor (no readback, so it stays cheap on GPU).
 */
export function clipGradNorm(params: Tensor[], maxNorm: number): Tensor {
  return noGrad(() => {
    const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
    if (grads.length === 0) return ops.full([], 0);
    let sq = grads[0]!.mul(grads[0]!).sum();
    for (const g of grads.slice(1)) sq = sq.add(g.mul(g).sum());
    const norm = sq.sqrt();
    const coef = norm.add(1e-6).reciprocal().mul(maxNorm).minimum(1);
    for (const p of params) if (p.grad) p.grad = p.grad.mul(coef);
    return norm;
  });
}
