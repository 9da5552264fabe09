// The experiment's inputs, read from a data folder (data/ for the default model) and checked:
//   concepts.jsonl        {family, concept, sentence}: examples ending where the concept is mentioned
//   sentiment_pairs.jsonl {positive, negative}: minimal pairs for the sentiment vector
//   benign_train.jsonl    {prompt, response}: what KTS trains on
//   benign_eval.jsonl     {prompt, response}: side effects (KL, answer NLL, accuracy)
//   behaviour_eval.jsonl  {family, prompt}: text cut where a family's word goes next
//   lexicon.json          {families: {family: {concept: words}}, emotions, vocabulary}
import { existsSync, join, readFileSync } from '@kts/tensor/host';
import { type ContrastPair, loadPairs, readJsonl } from '../data.ts';
import { type ChatFormatter, formatPair, tokenizeFormatted } from '../format.ts';
import type { TokenizerLike } from '../model.ts';
import type { EvalConcept, ExperimentConfig } from './config.ts';

/** Fewer examples than this and a mean-difference vector is mostly noise. */
export const MIN_EXAMPLES = 8;

export interface BenignText {
  prompt: string;
  response: string;
  ids: number[];
  /** Index of the first answer token in ids. */
  answerFrom: number;
}

/** A text that ends where a concept is mentioned, and optionally the same text with another concept of its family. */
export interface ConceptExample {
  sentence: string;
  contrast?: string;
}

export interface ExperimentData {
  /** family → concept → examples. */
  concepts: Map<string, Map<string, ConceptExample[]>>;
  sentimentPairs: ContrastPair[];
  benignTrain: number[][];
  benignEval: BenignText[];
  /** family → prompt token ids. */
  behaviour: Map<string, number[][]>;
  /** concept key ("family:concept") → token ids whose probability at the slot is the behaviour. */
  targets: Map<string, number[]>;
  /** concept key → words whose appearance in a continuation counts as the behaviour (the value and its cue words). */
  targetWords: Map<string, string[]>;
  /** Words the corpus uses; generated words outside it count as ungrammatical. */
  vocabulary: Set<string>;
  files: Record<string, string>;
}

export const conceptKey = (c: EvalConcept): string => `${c.family}:${c.concept}`;

interface Lexicon {
  families: Record<string, Record<string, string[]>>;
  emotions: { positive: string[]; negative: string[] };
  vocabulary: string[];
}

function file(dir: string, name: string): string {
  const p = join(dir, name);
  if (!existsSync(p)) throw new Error(`experiment: ${p} is missing (the default model's data is made by scripts/default-model/make-data.ts)`);
  return p;
}

/** Reads concepts.jsonl grouped by family and concept, rejecting concepts with too few examples. */
export function loadConceptFamilies(path: string, minExamples = MIN_EXAMPLES): Map<string, Map<string, ConceptExample[]>> {
  const out = new Map<string, Map<string, ConceptExample[]>>();
  readJsonl<Record<string, unknown>>(path).forEach((r, i) => {
    const { family, concept, sentence, contrast } = r;
    if (typeof family !== 'string' || typeof concept !== 'string' || typeof sentence !== 'string') {
      throw new Error(`${path}:${i + 1}: records need string fields family, concept and sentence`);
    }
    if (contrast !== undefined && typeof contrast !== 'string') throw new Error(`${path}:${i + 1}: field contrast must be a string`);
    if (!out.has(family)) out.set(family, new Map());
    const fam = out.get(family)!;
    fam.set(concept, [...(fam.get(concept) ?? []), { sentence, ...(contrast === undefined ? {} : { contrast }) }]);
  });
  for (const [family, concepts] of out) {
    for (const [concept, examples] of concepts) {
      if (examples.length < minExamples) throw new Error(`${path}: concept '${concept}' (family '${family}') has ${examples.length} example(s); a vector needs at least ${minExamples}`);
    }
  }
  return out;
}

/** Single-token ids of words (a word that needs several tokens has no next-token probability of its own). */
function singleTokens(tok: TokenizerLike, ws: string[]): number[] {
  return [...new Set(ws.map((w) => tok.encode(w, { bos: false })).filter((e) => e.length === 1).map((e) => e[0]!))];
}

export function loadExperimentData(cfg: ExperimentConfig, tok: TokenizerLike, format: ChatFormatter): ExperimentData {
  const files = {
    concepts: file(cfg.data, 'concepts.jsonl'), sentimentPairs: file(cfg.data, 'sentiment_pairs.jsonl'), benignTrain: file(cfg.data, 'benign_train.jsonl'),
    benignEval: file(cfg.data, 'benign_eval.jsonl'), behaviour: file(cfg.data, 'behaviour_eval.jsonl'), lexicon: file(cfg.data, 'lexicon.json'),
  };
  const concepts = loadConceptFamilies(files.concepts);
  for (const f of [...cfg.trainFamilies, ...cfg.heldOutFamilies.filter((x) => x !== 'sentiment')]) {
    if (!concepts.has(f)) throw new Error(`${files.concepts}: no concepts of family '${f}' (have ${[...concepts.keys()].join(', ')})`);
  }
  const overlap = cfg.trainFamilies.filter((f) => cfg.heldOutFamilies.includes(f));
  if (overlap.length) throw new Error(`experiment: families ${overlap.join(', ')} are both trained on and held out`);
  const sentimentPairs = loadPairs(files.sentimentPairs).pairs;
  if (sentimentPairs.length < MIN_EXAMPLES) throw new Error(`${files.sentimentPairs}: ${sentimentPairs.length} pair(s); a vector needs at least ${MIN_EXAMPLES}`);

  const chat = (path: string) => readJsonl<Record<string, unknown>>(path).map((r, i) => {
    if (typeof r.prompt !== 'string' || typeof r.response !== 'string') throw new Error(`${path}:${i + 1}: benign records need string fields prompt and response`);
    const t = tokenizeFormatted(tok, formatPair(format, r.prompt, r.response));
    return { prompt: r.prompt, response: r.response, ids: t.ids, answerFrom: t.answerFrom };
  });
  const benignTrain = chat(files.benignTrain).map((t) => t.ids);
  const benignEval = chat(files.benignEval).slice(0, cfg.benignEval);

  const behaviour = new Map<string, number[][]>();
  readJsonl<Record<string, unknown>>(files.behaviour).forEach((r, i) => {
    if (typeof r.family !== 'string' || typeof r.prompt !== 'string') throw new Error(`${files.behaviour}:${i + 1}: records need string fields family and prompt`);
    behaviour.set(r.family, [...(behaviour.get(r.family) ?? []), tok.encode(r.prompt, { bos: true })]);
  });

  const lex = JSON.parse(readFileSync(files.lexicon, 'utf8')) as Lexicon;
  const targets = new Map<string, number[]>();
  const targetWords = new Map<string, string[]>();
  for (const c of cfg.evalConcepts) {
    const words = c.family === 'sentiment' ? (c.concept === 'positive' ? lex.emotions.positive : lex.emotions.negative) : lex.families[c.family]?.[c.concept];
    if (!words) throw new Error(`${files.lexicon}: no words for ${conceptKey(c)}`);
    // The slot's next word is the value itself (lexicon lists it first; its cue words come later in the text).
    const ids = singleTokens(tok, c.family === 'sentiment' ? words : words.slice(0, 1));
    if (ids.length === 0) throw new Error(`${files.lexicon}: no word of ${conceptKey(c)} is a single token (${words.join(', ')})`);
    targets.set(conceptKey(c), ids);
    targetWords.set(conceptKey(c), words);
    const prompts = behaviour.get(c.family);
    if (!prompts || prompts.length < MIN_EXAMPLES) throw new Error(`${files.behaviour}: ${prompts?.length ?? 0} prompt(s) of family '${c.family}'; at least ${MIN_EXAMPLES} are needed`);
    if (c.family !== 'sentiment' && !concepts.get(c.family)?.has(c.concept)) throw new Error(`${files.concepts}: no examples of ${conceptKey(c)}`);
  }
  return { concepts, sentimentPairs, benignTrain, benignEval, behaviour, targets, targetWords, vocabulary: new Set(lex.vocabulary), files };
}
