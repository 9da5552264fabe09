// What steering needs from a model and a tokenizer. Structural, so @kts/llama's LlamaForCausalLM
// and tokenizers fit as they are (and a test can pass a stub): a model that generates
// (`CausalLM`) and returns the hidden states it is asked to capture.
import type { CausalLM, ForwardOptions, SteerSpec } from '@kts/llama';
import type { nn, Tensor } from '@kts/tensor';

/** Residual-stream steering for one forward pass (@kts/llama's SteerSpec). */
export type SteerSpecLike = SteerSpec;
export type ForwardOptionsLike = ForwardOptions;

export interface SteerableModel extends nn.Module, CausalLM {
  readonly config: { numHiddenLayers: number; hiddenSize: number; vocabSize: number; eosTokenIds: number[] };
  forward(ids: Tensor, opts?: ForwardOptionsLike): { logits: Tensor; hidden: Map<number, Tensor> };
}

export interface TokenizerLike {
  encode(text: string, opts?: { bos?: boolean; eos?: boolean; parseSpecial?: boolean }): number[];
  decode(ids: number[], opts?: { skipSpecial?: boolean }): string;
  readonly bosId: number | null | undefined;
  readonly eosId: number | null | undefined;
  readonly padId?: number | null;
}
