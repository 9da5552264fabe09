// A tiny random Llama (3 layers, width 32) with the default model's tokenizer, saved as an HF
// folder: enough for end-to-end runs of the CLI and the experiment on real data in seconds.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { Generator } from '@kts/tensor';
import { LlamaForCausalLM, makeConfig, saveModel } from '@kts/llama';

export const TINY_CONFIG = makeConfig({ vocabSize: 1536, hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 3, numAttentionHeads: 4, maxPositionEmbeddings: 512, tieWordEmbeddings: true, bosTokenId: 1, eosTokenIds: [2] });

export async function saveTinyModel(dir: string, seed = 0): Promise<string> {
  await saveModel(new LlamaForCausalLM(TINY_CONFIG, { generator: new Generator(seed) }), dir);
  for (const f of ['tokenizer.model', 'tokenizer_config.json', 'special_tokens_map.json']) copyFileSync(join('models/default', f), join(dir, f));
  return dir;
}
