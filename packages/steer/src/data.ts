// Datasets: contrast pairs for steering vectors, benign text for KTS and evaluation, and A/B
// behaviour questions. Each loader names the file and line of any malformed record.
import { createHash, readFileSync } from '@kts/tensor/host';
import { Generator } from '@kts/tensor';

/** A contrast pair: the same prompt with a positive and a negative completion (or two texts). */
export interface ContrastPair {
  /** Text showing the behaviour. With `prompt`, only the answer part; otherwise the full text. */
  positive: string;
  negative: string;
  /** When set, texts are (prompt, answer) and formatted with the model's chat template. */
  prompt?: string;
}

/** CAA-style A/B question (Rimsky et al.): the question lists the options "(A) … (B) …". */
export interface ABQuestion {
  question: string;
  answer_matching_behavior: string;
  answer_not_matching_behavior: string;
}

export interface BenignExample {
  /** Verbatim text, or a (prompt, response) pair to chat-format. */
  text?: string;
  prompt?: string;
  response?: string;
}

export function readJsonl<T = Record<string, unknown>>(path: string): T[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: T[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as T);
    } catch (e) {
      throw new Error(`${path}:${i + 1}: invalid JSON (${(e as Error).message})`);
    }
  });
  if (out.length === 0) throw new Error(`${path}: no records`);
  return out;
}

/** Reads .json (an array) or .jsonl. */
export function readRecords(path: string): Record<string, unknown>[] {
  if (path.endsWith('.jsonl')) return readJsonl(path);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: invalid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(data)) throw new Error(`${path}: expected a JSON array of records`);
  return data as Record<string, unknown>[];
}

function str(path: string, i: number, rec: Record<string, unknown>, key: string): string {
  const v = rec[key];
  if (typeof v !== 'string') throw new Error(`${path}: record ${i + 1}: field '${key}' must be a string`);
  return v;
}

export type PairFormat = 'pairs' | 'ab' | 'concepts';

/** Detects the format from the first record's keys. */
export function detectFormat(path: string, rec: Record<string, unknown>): PairFormat {
  if ('positive' in rec && 'negative' in rec) return 'pairs';
  if ('question' in rec && 'answer_matching_behavior' in rec) return 'ab';
  if ('concept' in rec && 'sentence' in rec) return 'concepts';
  throw new Error(`${path}: unknown record format with keys [${Object.keys(rec).join(', ')}]; expected {positive, negative}, CAA A/B {question, answer_matching_behavior, answer_not_matching_behavior} or {concept, sentence}`);
}

export interface LoadPairsOptions {
  /** For concept data: which concept is "positive" (default: every concept against the rest, see loadConceptPairs). */
  concept?: string;
  /** Wrap concept sentences as `Think about the concept of "{c}" in this sentence:\n{s}`. */
  conceptPrompt?: boolean;
}

/** Loads contrast pairs from any supported format. */
export function loadPairs(path: string, opts: LoadPairsOptions = {}): { format: PairFormat; pairs: ContrastPair[] } {
  const recs = readRecords(path);
  const format = detectFormat(path, recs[0]!);
  if (format === 'pairs') {
    return { format, pairs: recs.map((r, i) => ({ positive: str(path, i, r, 'positive'), negative: str(path, i, r, 'negative'), ...(typeof r.prompt === 'string' ? { prompt: r.prompt } : {}) })) };
  }
  if (format === 'ab') {
    // CAA: the prompt is the question, the answers are the letters "(A" / "(B" (their first tokens carry the choice).
    return {
      format,
      pairs: recs.map((r, i) => ({
        prompt: str(path, i, r, 'question'),
        positive: str(path, i, r, 'answer_matching_behavior'),
        negative: str(path, i, r, 'answer_not_matching_behavior'),
      })),
    };
  }
  const byConcept = new Map<string, string[]>();
  recs.forEach((r, i) => {
    const c = str(path, i, r, 'concept');
    byConcept.set(c, [...(byConcept.get(c) ?? []), str(path, i, r, 'sentence')]);
  });
  const concept = opts.concept ?? [...byConcept.keys()][0]!;
  return { format, pairs: conceptPairs(byConcept, concept, opts.conceptPrompt ?? false, path) };
}

/**
 * Pairs each sentence of `concept` with a sentence of another concept. The negatives are drawn
 * from every other concept in turn (their first sentences, then their second ones, …), or, with
 * `seed`, shuffled across all of them as the KTS code does; never all from one concept (then two
 * concepts' vectors would be each other's negation). With wrap, both sides say which concept to
 * think about.
 */
export function conceptPairs(byConcept: Map<string, string[]>, concept: string, wrap: boolean, label = 'concepts', seed?: number): ContrastPair[] {
  const own = byConcept.get(concept);
  if (!own) throw new Error(`${label}: no sentences for concept '${concept}' (have: ${[...byConcept.keys()].join(', ')})`);
  const lists = [...byConcept.entries()].filter(([c]) => c !== concept).map(([c, ss]) => ss.map((s) => ({ c, s })));
  if (lists.length === 0) throw new Error(`${label}: concept pairs need at least two concepts`);
  const longest = Math.max(...lists.map((l) => l.length));
  let others = Array.from({ length: longest }, (_, i) => lists.flatMap((l) => (i < l.length ? [l[i]!] : []))).flat();
  if (seed !== undefined) others = new Generator(seed).shuffle(others);
  const fmt = (c: string, s: string) => (wrap ? `Think about the concept of "${c}" in this sentence:\n${s}` : s);
  return own.map((s, i) => {
    const o = others[i % others.length]!;
    return { positive: fmt(concept, s), negative: fmt(o.c, o.s) };
  });
}

export function loadConcepts(path: string): Map<string, string[]> {
  const recs = readRecords(path);
  const byConcept = new Map<string, string[]>();
  recs.forEach((r, i) => {
    const c = str(path, i, r, 'concept');
    byConcept.set(c, [...(byConcept.get(c) ?? []), str(path, i, r, 'sentence')]);
  });
  return byConcept;
}

export function loadBenign(path: string): BenignExample[] {
  return readJsonl<Record<string, unknown>>(path).map((r, i) => {
    if (typeof r.text === 'string') return { text: r.text };
    if (typeof r.prompt === 'string' && typeof r.response === 'string') return { prompt: r.prompt, response: r.response };
    throw new Error(`${path}:${i + 1}: benign records are {"text"} or {"prompt", "response"}`);
  });
}

export function loadAB(path: string): ABQuestion[] {
  return readRecords(path).map((r, i) => ({
    question: str(path, i, r, 'question'),
    answer_matching_behavior: str(path, i, r, 'answer_matching_behavior'),
    answer_not_matching_behavior: str(path, i, r, 'answer_not_matching_behavior'),
  }));
}

/** Short content hash recorded in vector metadata, so a vector says which data made it. */
export function dataHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16);
}
