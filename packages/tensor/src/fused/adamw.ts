// One AdamW step (decoupled weight decay, torch semantics), in place on param, m and v.
//
// A backend may fuse this into one kernel (Backend.fused.adamw); the composite below is the
// definition every fused kernel must match, and the fallback where a backend has none or cannot
// run it (optim.AdamW, the CPU backend off its WebAssembly heap).
import type { AdamWParams } from '../backend.ts';
import { noGrad } from '../autograd.ts';
import type { Tensor } from '../tensor.ts';

export function adamwComposite(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, h: AdamWParams): void {
  const bc1 = 1 - h.beta1 ** h.step;
  const bc2 = 1 - h.beta2 ** h.step;
  noGrad(() => {
    const m1 = m.mul(h.beta1).add(grad.mul(1 - h.beta1));
    const v1 = v.mul(h.beta2).add(grad.mul(grad).mul(1 - h.beta2));
    const decayed = h.weightDecay ? param.mul(1 - h.lr * h.weightDecay) : param;
    const p1 = decayed.sub(m1.div(v1.sqrt().div(Math.sqrt(bc2)).add(h.eps)).mul(h.lr / bc1));
    for (const [dst, src] of [[m, m1], [v, v1], [param, p1]] as const) dst.backend.assign(dst, src);
  });
}
