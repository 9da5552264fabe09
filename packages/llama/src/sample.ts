// Picking the next token from a row of logits: greedy, temperature, top-k and top-p (nucleus).
import type { Generator } from '@kts/tensor';

export interface SamplingOptions {
  /** 0 (default) = greedy argmax; otherwise logits are divided by it before the softmax. */
  temperature?: number;
  /** Keep only the k most likely tokens (ties broken towards the lower id). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (HF semantics). */
  topP?: number;
}

type Row = ArrayLike<number>;

/** Index of the largest value (the first one on ties, as torch.argmax). */
export function argmax(row: Row): number {
  let best = 0;
  let bv = row[0]!;
  for (let i = 1; i < row.length; i++) {
    const v = row[i]!;
    if (v > bv) {
      bv = v;
      best = i;
    }
  }
  return best;
}

/**
 * Chooses a token id from one row of logits. Greedy when temperature is 0 (or topK is 1),
 * otherwise draws one uniform number from `gen`.
 */
export function sampleToken(row: Row, opts: SamplingOptions, gen: Generator): number {
  const temperature = opts.temperature ?? 0;
  const V = row.length;
  const topK = opts.topK !== undefined && opts.topK > 0 ? Math.min(Math.floor(opts.topK), V) : V;
  const topP = opts.topP ?? 1;
  if (!(temperature > 0) || topK === 1) return argmax(row);
  if (!(topP > 0 && topP <= 1)) throw new Error(`sampleToken: topP must be in (0, 1], got ${topP}`);

  if (topK === V && topP >= 1) {
    // Plain softmax sampling in id order, no sort.
    let m = -Infinity;
    for (let i = 0; i < V; i++) if (row[i]! > m) m = row[i]!;
    const p = new Float64Array(V);
    let total = 0;
    for (let i = 0; i < V; i++) total += p[i] = Math.exp((row[i]! - m) / temperature);
    let u = gen.random() * total;
    for (let i = 0; i < V; i++) {
      u -= p[i]!;
      if (u < 0) return i;
    }
    return argmax(row);
  }

  // Candidates by descending logit (stable: lower id first on ties).
  const idx = Array.from({ length: V }, (_, i) => i);
  idx.sort((a, b) => row[b]! - row[a]! || a - b);
  const n = topK;
  const m = row[idx[0]!]!;
  const p = new Float64Array(n);
  let total = 0;
  for (let j = 0; j < n; j++) total += p[j] = Math.exp((row[idx[j]!]! - m) / temperature);
  let keep = n;
  if (topP < 1) {
    let cum = 0;
    for (let j = 0; j < n; j++) {
      cum += p[j]! / total;
      if (cum >= topP) {
        keep = j + 1;
        break;
      }
    }
    total = 0;
    for (let j = 0; j < keep; j++) total += p[j]!;
  }
  let u = gen.random() * total;
  for (let j = 0; j < keep; j++) {
    u -= p[j]!;
    if (u < 0) return idx[j]!;
  }
  return idx[0]!;
}
