// Padding token sequences into batches.
import { tensor, type Tensor } from '@kts/tensor';

export interface Batch {
  ids: Tensor; // int32 [B, T]
  mask: Tensor; // int32 [B, T], 1 = real token
  lengths: number[];
}

/**
 * Pads to the longest sequence. Left padding keeps every sequence's last token at the end
 * (what extraction and generation want); right padding keeps positions aligned at 0.
 */
export function padBatch(seqs: number[][], { side = 'left', padId = 0, device }: { side?: 'left' | 'right'; padId?: number; device?: string } = {}): Batch {
  if (seqs.length === 0) throw new Error('padBatch: empty batch');
  const T = Math.max(...seqs.map((s) => s.length));
  if (T === 0) throw new Error('padBatch: every sequence is empty');
  const B = seqs.length;
  const ids = new Int32Array(B * T).fill(padId);
  const mask = new Int32Array(B * T);
  seqs.forEach((s, b) => {
    const start = side === 'left' ? T - s.length : 0;
    s.forEach((tok, i) => {
      ids[b * T + start + i] = tok;
      mask[b * T + start + i] = 1;
    });
  });
  return { ids: tensor(ids, [B, T], { device }), mask: tensor(mask, [B, T], { device }), lengths: seqs.map((s) => s.length) };
}

/** Splits xs into chunks of at most n. */
export function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}
