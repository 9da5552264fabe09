// What the playground ships besides the model: steering vectors extracted from data/ and a small
// KTS adapter trained against them, for whatever models/default is at build time (CPU backend,
// seeded). Everything is written to <out>/assets/ with an index.json the page reads; nothing about
// the model or the vectors is hard-coded in the page.
//
// Vectors: sentiment (data/sentiment_pairs.jsonl) and one per topic of data/concepts.jsonl. The
// KTS adapter is trained on the topic vectors except the last topic, so sentiment and that topic
// are held out: the page can show side effects for vectors the adapter saw and for ones it did not.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, loadTokenizer } from '@kts/llama';
import {
  SteeringVector, chatFormatterFor, conceptPairs, defaultSteerLayers, extractVector, formatPair, loadBenign, loadConcepts,
  loadPairs, savePeftAdapter, tokenizeFormatted, trainKTS,
} from '@kts/steer';

/**
 * KTS settings: the demo's coefficients c·U(−1, 1), steered with probability p, but a shorter run
 * on shorter batches, so that building the playground takes well under a minute on two cores.
 */
export const KTS_SETTINGS = { steps: 24, coeff: 4, prob: 0.5, lr: 2e-3, rank: 8, batchSize: 4, maxTokens: 64, seed: 0 };
/** Contrast pairs per vector (the first ones of each data set). */
const MAX_PAIRS = 48;

export interface AssetIndex {
  model: string;
  layers: number[];
  vectors: { name: string; file: string; pairs: number; inKtsTraining: boolean }[];
  adapter: { dir: string; trainedOn: string[]; settings: typeof KTS_SETTINGS } | null;
  /** Benign prompt/response examples (data/benign_eval.jsonl) for side effects; prompts for generation. */
  benign: { prompt: string; response: string }[];
  prompts: string[];
}

export async function writeAssets(modelDir: string, out: string, log: (s: string) => void = () => {}): Promise<AssetIndex> {
  const dir = join(out, 'assets');
  mkdirSync(join(dir, 'vectors'), { recursive: true });
  const model = await loadModel(modelDir, { device: 'cpu' });
  const tok = await loadTokenizer(modelDir);
  const format = chatFormatterFor(tok);
  const layers = defaultSteerLayers(model.numLayers);

  const sources: { name: string; pairs: ReturnType<typeof loadPairs>['pairs']; position: 'answer-mean' | 'last' }[] = [
    { name: 'sentiment', pairs: loadPairs('data/sentiment_pairs.jsonl').pairs.slice(0, MAX_PAIRS), position: 'answer-mean' },
  ];
  const concepts = loadConcepts('data/concepts.jsonl');
  for (const c of concepts.keys()) sources.push({ name: c, pairs: conceptPairs(concepts, c, false).slice(0, MAX_PAIRS), position: 'last' });
  const trainedOn = [...concepts.keys()].slice(0, -1);

  const vectors: AssetIndex['vectors'] = [];
  const training: SteeringVector[] = [];
  for (const s of sources) {
    const t0 = performance.now();
    const v = await extractVector(model, tok, s.pairs, { layers, method: 'mean-diff', position: s.position, device: 'cpu', meta: { concept: s.name } });
    v.save(join(dir, 'vectors', `${s.name}.gguf`), { layerCount: model.numLayers });
    vectors.push({ name: s.name, file: `vectors/${s.name}.gguf`, pairs: s.pairs.length, inKtsTraining: trainedOn.includes(s.name) });
    if (trainedOn.includes(s.name)) training.push(v);
    log(`vector ${s.name}: ${s.pairs.length} pairs, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }

  const benignTrain = loadBenign('data/benign_train.jsonl').map((r) => tokenizeFormatted(tok, formatPair(format, r.prompt, r.response!)).ids);
  let adapter: AssetIndex['adapter'] = null;
  if (training.length > 0) {
    const t0 = performance.now();
    const { steps, seed, ...rest } = KTS_SETTINGS;
    const { lora } = await trainKTS(model, benignTrain, training, { steps, seed, layers, device: 'cpu', ...rest });
    await savePeftAdapter(join(dir, 'kts'), lora, modelDir, { 'kts.trained_on': trainedOn.join(',') });
    adapter = { dir: 'kts/', trainedOn, settings: KTS_SETTINGS };
    log(`KTS adapter: ${steps} steps on ${trainedOn.join(', ')}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }

  const benign = loadBenign('data/benign_eval.jsonl').filter((r) => r.prompt !== undefined && r.response !== undefined);
  const index: AssetIndex = {
    model: modelDir,
    layers,
    vectors,
    adapter,
    benign: benign.slice(0, 8).map((r) => ({ prompt: r.prompt!, response: r.response! })),
    prompts: [...new Set(benign.map((r) => r.prompt!))].slice(0, 6),
  };
  writeFileSync(join(dir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  return index;
}
