// Builds the datasets shipped under data/ from the story generator (corpus.ts) and the
// capability tasks (tasks.ts), with seeds that the training corpus (seed 0) does not use.
// Deterministic: the test checks that the files in the repository are byte-for-byte what this
// script writes.
//
//   node --import tsx scripts/default-model/make-data.ts [--out data]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  FAMILIES, FAMILY_NAMES, type Family, Rng, buildSkeleton, generateCorpus, lexicon, opening, render, slotPrompt, words,
} from './corpus.ts';
import { type Task, copyTask, fixedTasks } from './tasks.ts';

/** Seeds of each dataset (the training corpus uses seed 0 and generateChat's derived stream). */
export const DATA_SEEDS = {
  concepts: 20_000,
  sentiment_pairs: 10_000,
  benign_train: 30_001,
  benign_eval: 30_002,
  behaviour_eval: 40_000,
} as const;

export const DATA_COUNTS = {
  concepts_per_value: 48,
  sentiment_pairs: 128,
  benign_train: 480,
  benign_eval: 96,
  behaviour_per_family: 64,
} as const;

const jsonl = (recs: object[]): string => recs.map((r) => JSON.stringify(r)).join('\n') + '\n';

export interface ConceptRecord { family: Family; concept: string; sentence: string; contrast: string; contrastConcept: string }
export interface SentimentPair { positive: string; negative: string; prefix: string }
export interface BenignRecord { prompt: string; response: string; kind: Task['kind'] }
export interface BehaviourRecord { family: Family | 'sentiment'; prompt: string; value: string }

/**
 * Concept examples: for every value of every family, distinct story openings through the sentence
 * first mentioning it and the sentence after ("… She had a pet owl. The owl hooted from a
 * branch."), the other attributes at random. Each has a contrast: the same story built from the
 * same seed with another value of the family, drawn at random ("… She had a pet fox. The fox
 * waved its bushy tail."), so a mean difference sees the concept and nothing else (unpaired
 * examples differ in length and structure too, which swamps the concept in a small model).
 */
export function concepts(): ConceptRecord[] {
  const out: ConceptRecord[] = [];
  FAMILY_NAMES.forEach((family, fi) => {
    FAMILIES[family].forEach((concept, vi) => {
      const pick = new Rng(DATA_SEEDS.concepts + 1000 * fi + vi);
      const seen = new Set<string>();
      for (let i = 0; seen.size < DATA_COUNTS.concepts_per_value; i++) {
        const seed = DATA_SEEDS.concepts * 100 + 10_000 * fi + 1000 * vi + i;
        const others = FAMILIES[family].filter((v) => v !== concept);
        const other = others[pick.int(others.length)]!;
        const sk = buildSkeleton(new Rng(seed), { attributes: { [family]: concept } });
        const alt = buildSkeleton(new Rng(seed), { attributes: { [family]: other } });
        const m = sk.mentions[family]!;
        const end = Math.min(m.sentence + 2, sk.onset); // the mention and, if sentiment-free, the sentence after it
        const text = (k: typeof sk) => k.sentences.slice(0, end).map((t) => t.neutral).join(' ');
        const s = text(sk);
        if (seen.has(s)) continue;
        seen.add(s);
        out.push({ family, concept, sentence: s, contrast: text(alt), contrastConcept: other });
      }
    });
  });
  return out;
}

/** Sentiment contrast pairs: a story opening, then its first sentiment sentence rendered positively / negatively. */
export function sentimentPairs(): SentimentPair[] {
  const out: SentimentPair[] = [];
  for (let i = 0; i < DATA_COUNTS.sentiment_pairs; i++) {
    const sk = buildSkeleton(new Rng(DATA_SEEDS.sentiment_pairs + i));
    const prefix = opening(sk);
    const [pos, neg] = [render(sk, 'positive'), render(sk, 'negative')].map((s) => s.sentences[sk.onset]!);
    out.push({ positive: `${prefix} ${pos}`, negative: `${prefix} ${neg}`, prefix });
  }
  return out;
}

/** Fixed tasks are split once: every fifth goes to evaluation. */
function fixedSplit(evalSplit: boolean): Task[] {
  return fixedTasks().filter((_, i) => (i % 5 === 4) === evalSplit);
}

function benign(seed: number, n: number, evalSplit: boolean, exclude: Set<string>): BenignRecord[] {
  const fixed = fixedSplit(evalSplit);
  const r = new Rng(seed);
  const copies: Task[] = [];
  const seen = new Set(exclude);
  while (fixed.length + copies.length < n) {
    const t = copyTask(r);
    if (seen.has(t.prompt)) continue;
    seen.add(t.prompt);
    copies.push(t);
  }
  // Interleave the copy tasks evenly among the fixed ones.
  const out: BenignRecord[] = [];
  let c = 0;
  fixed.forEach((t, i) => {
    out.push({ prompt: t.prompt, response: t.response, kind: t.kind });
    while (c < copies.length && (c + 1) * fixed.length <= (i + 1) * copies.length) {
      const { prompt, response, kind } = copies[c++]!;
      out.push({ prompt, response, kind });
    }
  });
  return out;
}

export function benignTrain(): BenignRecord[] {
  return benign(DATA_SEEDS.benign_train, DATA_COUNTS.benign_train, false, new Set());
}

export function benignEval(): BenignRecord[] {
  return benign(DATA_SEEDS.benign_eval, DATA_COUNTS.benign_eval, true, new Set(benignTrain().map((b) => b.prompt)));
}

/**
 * Behaviour prompts: story text cut right before a family's first mention (the next word is the
 * attribute; no cue of it comes earlier), and for sentiment the opening plus "… felt" (the next word is an emotion). `value`
 * is what the story itself says there (empty for sentiment), which the prompt does not contain.
 */
export function behaviourEval(): BehaviourRecord[] {
  const out: BehaviourRecord[] = [];
  [...FAMILY_NAMES, 'sentiment' as const].forEach((family, fi) => {
    const r = new Rng(DATA_SEEDS.behaviour_eval + fi);
    const seen = new Set<string>();
    let n = 0;
    while (n < DATA_COUNTS.behaviour_per_family) {
      const sk = buildSkeleton(r, family === 'sentiment' ? {} : { include: [family] });
      if (family !== 'sentiment' && sk.mentions[family]!.cued) continue; // no cue before the slot: the text does not give the value away
      const prompt = family === 'sentiment' ? `${opening(sk)} ${sk.onsetBefore}` : slotPrompt(sk, family);
      if (seen.has(prompt)) continue;
      seen.add(prompt);
      out.push({ family, prompt, value: family === 'sentiment' ? '' : sk.attributes[family] });
      n++;
    }
  });
  return out;
}

/** CAA-style A/B items from the held-out "Which number is bigger?" tasks; the matching answer is the correct one. */
export function abChoice(): { question: string; answer_matching_behavior: string; answer_not_matching_behavior: string }[] {
  return fixedSplit(true).filter((t) => t.kind === 'choice').map((t) => {
    const right = t.response.slice(0, 2);
    return { question: t.prompt, answer_matching_behavior: right, answer_not_matching_behavior: right === '(A' ? '(B' : '(A' };
  });
}

/** The lexicon plus every word of a corpus sample (the experiment counts generated words outside it as ungrammatical). */
export function lexiconFile(): string {
  const vocabulary = [...new Set(generateCorpus(4000, 7).flatMap((d) => words(d.text)))].sort();
  return JSON.stringify({ ...lexicon(), vocabulary }, null, 2) + '\n';
}

/** Every shipped data file: path relative to data/ → exact contents. */
export function buildDatasets(): Record<string, string> {
  return {
    'concepts.jsonl': jsonl(concepts()),
    'sentiment_pairs.jsonl': jsonl(sentimentPairs()),
    'benign_train.jsonl': jsonl(benignTrain()),
    'benign_eval.jsonl': jsonl(benignEval()),
    'behaviour_eval.jsonl': jsonl(behaviourEval()),
    'lexicon.json': lexiconFile(),
    'ab_choice.json': JSON.stringify(abChoice(), null, 2) + '\n',
  };
}

export const DATA_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../data');

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--out');
  const out = i >= 0 ? process.argv[i + 1]! : DATA_DIR;
  mkdirSync(out, { recursive: true });
  for (const [name, body] of Object.entries(buildDatasets())) {
    writeFileSync(join(out, name), body);
    process.stderr.write(`${join(out, name)}: ${body.length} bytes\n`);
  }
}
