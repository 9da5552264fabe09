// What steering needs from a model and a tokenizer (structural: @kts/llama's classes fit).
import type { nn, Tensor } from '@kts/tensor';

export interface SteerSpecLike {
  layers: number[];
  /** Per-layer directions [K, D] (or one [K, D] / [B, K, D] tensor for every layer). */
  vectors: Tensor | Map<number, Tensor>;
  coeffs: Tensor; // [B, K]
  mask?: Tensor; // [B, T]
}

export interface ForwardOptionsLike {
  attentionMask?: Tensor;
  capture?: { layers: number[]; positions?: 'last' | 'all' };
  steer?: SteerSpecLike | SteerSpecLike[];
}

export interface SteerableModel extends nn.Module {
  config: { numHiddenLayers: number; hiddenSize: number; vocabSize: number };
  forward(ids: Tensor, opts?: ForwardOptionsLike): { logits: Tensor; hidden: Map<number, Tensor> };
}

export interface TokenizerLike {
  encode(text: string, opts?: { bos?: boolean; eos?: boolean; parseSpecial?: boolean }): number[];
  decode(ids: number[], opts?: { skipSpecial?: boolean }): string;
  readonly bosId: number | null | undefined;
  readonly eosId: number | null | undefined;
  readonly padId?: number | null;
}
