// Rotary position embedding (HF rotate_half form).
//
// A backend may fuse this op into one kernel (Backend.fused); the composite below is the
// definition every fused kernel must match, and the fallback where a backend has none.
import * as ops from '../ops.ts';
import { shapeStr } from '../shape.ts';
import type { Tensor } from '../tensor.ts';

/** HF rotary embedding: x·cos + rotate_half(x)·sin, rotate_half(x) = cat(−x₂, x₁) of the halves. */
export function rotaryEmbedding(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  const d = x.shape[x.ndim - 1]!;
  if (d % 2 !== 0) throw new Error(`rotaryEmbedding: head dim must be even, got input shape ${shapeStr(x.shape)}`);
  return (x.backend.fused?.rotaryEmbedding ?? rotaryComposite)(x, cos, sin);
}

/** rotate_half rotary embedding from primitives (definition and fallback of fused kernels). */
export function rotaryComposite(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  const half = x.shape[x.ndim - 1]! / 2;
  const x1 = x.narrow(-1, 0, half);
  const x2 = x.narrow(-1, half, half);
  const rotated = ops.cat([x2.neg(), x1], -1);
  return x.mul(cos).add(rotated.mul(sin));
}
