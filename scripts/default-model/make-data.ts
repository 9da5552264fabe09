// Builds the datasets shipped under data/ from the story generator (corpus.ts), with seeds that
// the training corpus (seed 0) does not use. Deterministic: the test checks that the files in the
// repository are byte-for-byte what this script writes.
//
//   node --import tsx scripts/default-model/make-data.ts [--out data]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  Rng, TOPICS, type Topic, abQuestion, allFacts, buildSkeleton, lexicon, opening, render, storyRequest, words,
} from './corpus.ts';

/** Seeds of each dataset (the training corpus uses seed 0 and generateChat's derived stream). */
export const DATA_SEEDS = {
  sentiment_pairs: 10_000,
  concepts: 20_000,
  benign_train: 30_001,
  benign_eval: 30_002,
  sentiment_eval: 40_000,
  ab_sentiment: 50_000,
} as const;

export const DATA_COUNTS = {
  sentiment_pairs: 128,
  concepts_per_topic: 32,
  benign_train: 480,
  benign_eval: 96,
  sentiment_eval: 128,
  ab_sentiment: 48,
} as const;

const jsonl = (recs: object[]): string => recs.map((r) => JSON.stringify(r)).join('\n') + '\n';

export interface SentimentPair { positive: string; negative: string; prefix: string; topic: Topic }
export interface BenignRecord { prompt: string; response: string; kind: 'story' | 'qa'; topic: Topic }

export function sentimentPairs(): SentimentPair[] {
  const out: SentimentPair[] = [];
  for (let i = 0; i < DATA_COUNTS.sentiment_pairs; i++) {
    const sk = buildSkeleton(new Rng(DATA_SEEDS.sentiment_pairs + i), { topic: TOPICS[i % TOPICS.length]! });
    out.push({ positive: render(sk, 'positive').text, negative: render(sk, 'negative').text, prefix: opening(sk), topic: sk.topic });
  }
  return out;
}

export function concepts(): { concept: Topic; sentence: string }[] {
  const lx = lexicon();
  const out: { concept: Topic; sentence: string }[] = [];
  for (const topic of TOPICS) {
    const own = new Set(lx.topics[topic]);
    const seen = new Set<string>();
    const r = new Rng(DATA_SEEDS.concepts + TOPICS.indexOf(topic));
    while (seen.size < DATA_COUNTS.concepts_per_topic) {
      const st = render(buildSkeleton(r, { topic }), 'neutral');
      for (const s of st.sentences.slice(1)) {
        if (seen.size >= DATA_COUNTS.concepts_per_topic) break;
        if (seen.has(s) || !words(s).some((w) => own.has(w))) continue;
        seen.add(s);
        out.push({ concept: topic, sentence: s });
      }
    }
  }
  return out;
}

/** Facts are split once: every fifth fact is held out for evaluation. */
function factsSplit(evalSplit: boolean): BenignRecord[] {
  return allFacts()
    .filter((_, i) => (i % 5 === 4) === evalSplit)
    .map((f) => ({ prompt: f.question, response: f.answer, kind: 'qa' as const, topic: f.topic }));
}

function benign(seed: number, n: number, evalSplit: boolean, exclude: Set<string>): BenignRecord[] {
  const r = new Rng(seed);
  const facts = factsSplit(evalSplit);
  const seen = new Set<string>(exclude);
  const stories: BenignRecord[] = [];
  let i = 0;
  while (stories.length < n - facts.length) {
    const ex = storyRequest(r, 'neutral', TOPICS[i++ % TOPICS.length]);
    const key = `${ex.prompt}\n${ex.response}`;
    if (seen.has(key) || seen.has(ex.response)) continue;
    seen.add(key);
    seen.add(ex.response);
    stories.push({ prompt: ex.prompt, response: ex.response, kind: 'story', topic: ex.topic });
  }
  // Spread the Q&A evenly through the stories.
  const out: BenignRecord[] = [];
  const every = Math.floor(n / facts.length);
  let s = 0;
  let f = 0;
  for (let k = 0; k < n; k++) out.push(k % every === every - 1 && f < facts.length ? facts[f++]! : stories[s++] ?? facts[f++]!);
  return out;
}

export function benignTrain(): BenignRecord[] {
  return benign(DATA_SEEDS.benign_train, DATA_COUNTS.benign_train, false, new Set());
}

export function benignEval(): BenignRecord[] {
  const train = benignTrain();
  const exclude = new Set(train.flatMap((b) => [`${b.prompt}\n${b.response}`, b.response]));
  return benign(DATA_SEEDS.benign_eval, DATA_COUNTS.benign_eval, true, exclude);
}

/** Sentiment-free story openings (at least two sentences) that a model continues. */
export function sentimentEval(): { text: string; topic: Topic }[] {
  const out: { text: string; topic: Topic }[] = [];
  const seen = new Set<string>();
  for (let i = 0; out.length < DATA_COUNTS.sentiment_eval; i++) {
    const topic = TOPICS[out.length % TOPICS.length]!;
    const sk = buildSkeleton(new Rng(DATA_SEEDS.sentiment_eval + i), { topic });
    if (sk.onset < 2) continue;
    const text = opening(sk);
    if (seen.has(text)) continue;
    seen.add(text);
    out.push({ text, topic });
  }
  return out;
}

export interface ABItem {
  question: string;
  answer_matching_behavior: string;
  answer_not_matching_behavior: string;
  topic: Topic;
}

/** CAA-style A/B items: the behaviour is the positive continuation; (A) and (B) alternate. */
export function abSentiment(): ABItem[] {
  const out: ABItem[] = [];
  for (let i = 0; out.length < DATA_COUNTS.ab_sentiment; i++) {
    const topic = TOPICS[out.length % TOPICS.length]!;
    const sk = buildSkeleton(new Rng(DATA_SEEDS.ab_sentiment + i), { topic });
    if (sk.onset < 1) continue;
    const letter = out.length % 2 === 0 ? 'A' : 'B';
    const q = abQuestion(sk, letter);
    out.push({
      question: q.question,
      answer_matching_behavior: `(${letter}`,
      answer_not_matching_behavior: letter === 'A' ? '(B' : '(A',
      topic,
    });
  }
  return out;
}

/** Every shipped data file: path relative to data/ → exact contents. */
export function buildDatasets(): Record<string, string> {
  return {
    'sentiment_pairs.jsonl': jsonl(sentimentPairs()),
    'concepts.jsonl': jsonl(concepts()),
    'benign_train.jsonl': jsonl(benignTrain()),
    'benign_eval.jsonl': jsonl(benignEval()),
    'sentiment_eval.jsonl': jsonl(sentimentEval()),
    'lexicon.json': JSON.stringify(lexicon(), null, 2) + '\n',
    'ab_sentiment.json': JSON.stringify(abSentiment(), null, 2) + '\n',
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
