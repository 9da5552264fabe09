// Key/value cache for incremental decoding.
//
// Each layer keeps k and v as [B, Hkv, T, Dh]. Outside autograd the cache preallocates a buffer
// [B, Hkv, capacity, Dh] and writes new entries in place (one strided copy per step); attention
// then reads a [B, Hkv, 0:T, Dh] view of it, so nothing already cached is copied again (the
// buffer doubles when full). When the new keys/values require gradients the cache falls back
// to `cat`, which keeps the graph intact.
import { Tensor, cat, isGradEnabled, keep, zeros } from '@kts/tensor';

interface LayerEntry {
  /** Valid prefix views [B, Hkv, len, Dh]. */
  k: Tensor;
  v: Tensor;
  len: number;
  /** Preallocated storage (in-place path only). */
  kBuf: Tensor | null;
  vBuf: Tensor | null;
}

export interface KVCacheOptions {
  /** Positions to preallocate (e.g. prompt length + maxNewTokens); grows by doubling if exceeded. */
  capacity?: number;
}

export class KVCache {
  private layers: (LayerEntry | undefined)[] = [];
  readonly capacityHint: number;

  constructor(opts: KVCacheOptions = {}) {
    this.capacityHint = opts.capacity ?? 0;
  }

  /** Cached positions (of layer 0; every layer holds the same number after a full forward). */
  get length(): number {
    return this.layers[0]?.len ?? 0;
  }

  /** Cached [k, v] of a layer (views [B, Hkv, length, Dh]), or undefined. */
  get(layer: number): [Tensor, Tensor] | undefined {
    const e = this.layers[layer];
    return e ? [e.k, e.v] : undefined;
  }

  /** Appends new k, v [B, Hkv, T, Dh] to a layer and returns the full [B, Hkv, len + T, Dh] pair. */
  update(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    const e = this.layers[layer];
    const [B, H, T, D] = k.shape as [number, number, number, number];
    const needsGraph = isGradEnabled() && (k.requiresGrad || v.requiresGrad);
    if (!e) {
      if (needsGraph) {
        this.layers[layer] = { k: keep(k), v: keep(v), len: T, kBuf: null, vBuf: null };
        return [k, v];
      }
      const cap = Math.max(this.capacityHint, T);
      // kept: the buffers outlive the tidy() scope of the layer that fills them
      const kBuf = keep(zeros([B, H, cap, D], { dtype: k.dtype, device: k.device }));
      const vBuf = keep(zeros([B, H, cap, D], { dtype: v.dtype, device: v.device }));
      const entry: LayerEntry = { k, v, len: 0, kBuf, vBuf };
      this.layers[layer] = entry;
      return this.writeInPlace(entry, k, v);
    }
    if (e.k.shape[0] !== B || e.k.shape[1] !== H || e.k.shape[3] !== D) {
      throw new Error(`KVCache: layer ${layer} holds [${e.k.shape.join(', ')}] but got new keys [${k.shape.join(', ')}]`);
    }
    if (needsGraph || !e.kBuf || !e.vBuf) {
      e.k = keep(cat([e.k, k], 2));
      e.v = keep(cat([e.v, v], 2));
      e.len += T;
      e.kBuf = e.vBuf = null;
      return [e.k, e.v];
    }
    return this.writeInPlace(e, k, v);
  }

  private writeInPlace(e: LayerEntry, k: Tensor, v: Tensor): [Tensor, Tensor] {
    const T = k.shape[2]!;
    let kBuf = e.kBuf!;
    let vBuf = e.vBuf!;
    const cap = kBuf.shape[2]!;
    if (e.len + T > cap) {
      const newCap = Math.max(e.len + T, cap * 2);
      const grow = (old: Tensor): Tensor => {
        const shape = [...old.shape];
        shape[2] = newCap;
        const buf = keep(zeros(shape, { dtype: old.dtype, device: old.device }));
        if (e.len > 0) slot(buf, 0, e.len).backend.assign(slot(buf, 0, e.len), slot(old, 0, e.len));
        return buf;
      };
      kBuf = e.kBuf = grow(kBuf);
      vBuf = e.vBuf = grow(vBuf);
    }
    kBuf.backend.assign(slot(kBuf, e.len, T), k);
    vBuf.backend.assign(slot(vBuf, e.len, T), v);
    e.len += T;
    e.k = slot(kBuf, 0, e.len);
    e.v = slot(vBuf, 0, e.len);
    return [e.k, e.v];
  }

  /** Drops every cached entry. */
  clear(): void {
    this.layers = [];
  }
}

/** A graph-free view of positions [start, start + len) along axis 2 of a buffer. */
function slot(buf: Tensor, start: number, len: number): Tensor {
  const shape = [...buf.shape];
  shape[2] = len;
  return new Tensor(buf.storage, shape, buf.backend, buf.strides, buf.offset + start * buf.strides[2]!);
}
