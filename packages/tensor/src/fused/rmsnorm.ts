// RMSNorm (HF LlamaRMSNorm).
//
// A backend may fuse this op into one kernel (Backend.fused); the composite below is the
// definition every fused kernel must match, and the fallback where a backend has none.
import { shapeStr } from '../shape.ts';
import type { Tensor } from '../tensor.ts';

/** HF LlamaRMSNorm: normalise in float32 (or float64), scale by weight. */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-6): Tensor {
  const d = x.shape[x.ndim - 1];
  if (weight.ndim !== 1 || weight.shape[0] !== d) {
    throw new Error(`rmsNorm: weight of shape ${shapeStr(weight.shape)} does not match the last dim of input ${shapeStr(x.shape)}`);
  }
  return (x.backend.fused?.rmsNorm ?? rmsNormComposite)(x, weight, eps);
}

/** rmsNorm from primitives (definition and fallback of fused kernels). */
export function rmsNormComposite(x: Tensor, weight: Tensor, eps: number): Tensor {
  const xf = x.cast(x.dtype === 'float64' ? 'float64' : 'float32');
  const variance = xf.mul(xf).mean(-1, true);
  return weight.mul(xf.mul(variance.add(eps).rsqrt()).cast(x.dtype));
}
