// Tests for the default model's text generator, shipped datasets and tokenizer
// (scripts/default-model/, data/, models/default/). No Python needed: the tokenizer file is
// checked by reading its protobuf directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTokenizer } from '@kts/llama';
import {
  CHAT_TEMPLATE, FAMILIES, FAMILY_NAMES, type Family, NEUTRAL_WORDS, type Sentiment, buildSkeleton, formatChat, formatPrompt, generateChat,
  generateCorpus, generateStories, lexicon, mentionSnippet, opening, Rng, slotPrompt, storyVariants, words,
} from '../../scripts/default-model/corpus.ts';
import { DATA_COUNTS, DATA_DIR, buildDatasets } from '../../scripts/default-model/make-data.ts';
import { fixedTasks } from '../../scripts/default-model/tasks.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL_DIR = join(ROOT, 'models/default');

const lx = lexicon();
const POS = new Set(lx.positive);
const NEG = new Set(lx.negative);
/** Word → [family, value] for every attribute word. */
const ATTR = new Map<string, [Family, string]>(FAMILY_NAMES.flatMap((f) => Object.entries(lx.families[f]).flatMap(([v, ws]) => ws.map((w) => [w, [f, v] as [Family, string]]))));
const count = (text: string, set: Set<string>): number => words(text).filter((w) => set.has(w)).length;
const attributeWords = (text: string) => words(text).filter((w) => ATTR.has(w)).map((w) => ATTR.get(w)!);

function readJsonl(name: string): Record<string, unknown>[] {
  return readFileSync(join(DATA_DIR, name), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
}
function str(r: Record<string, unknown>, k: string): string {
  const v = r[k];
  assert.equal(typeof v, 'string', `field ${k} of ${JSON.stringify(r).slice(0, 120)}`);
  return v as string;
}

test('generator: same seed gives the same stories, different seeds differ', () => {
  const a = generateStories(200, 7);
  assert.deepEqual(a, generateStories(200, 7));
  assert.notDeepEqual(a.map((s) => s.text), generateStories(200, 8).map((s) => s.text));
  assert.deepEqual(generateChat(50, 3), generateChat(50, 3));
  assert.deepEqual(generateCorpus(40, 1, 10), generateCorpus(40, 1, 10));
  // Fixing the sentiment keeps every other draw: same openings.
  const pos = generateStories(100, 7, { sentiment: 'positive' });
  pos.forEach((s, i) => assert.equal(s.sentences.slice(0, s.onset).join(' '), a[i]!.sentences.slice(0, a[i]!.onset).join(' ')));
});

test('generator: each story mentions one value per family, drawn independently; sentiment is consistent', () => {
  const stories = generateStories(3000, 12345);
  const byValue = new Map<string, number>();
  const bySent = new Map<Sentiment, number>();
  for (const s of stories) {
    bySent.set(s.sentiment, (bySent.get(s.sentiment) ?? 0) + 1);
    const seen = attributeWords(s.text);
    for (const [f, v] of seen) assert.equal(s.attributes[f], v, `${f} '${v}' in a story whose ${f} is ${s.attributes[f]}: ${s.text}`);
    for (const f of Object.keys(s.attributes) as Family[]) assert.ok(seen.some(([g]) => g === f), `no ${f} word: ${s.text}`);
    for (const [f, v] of Object.entries(s.attributes)) byValue.set(`${f}:${v}`, (byValue.get(`${f}:${v}`) ?? 0) + 1);
    const [p, n] = [count(s.text, POS), count(s.text, NEG)];
    if (s.sentiment === 'positive') assert.ok(p > 0 && n === 0, s.text);
    if (s.sentiment === 'negative') assert.ok(n > 0 && p === 0, s.text);
    if (s.sentiment === 'neutral') assert.ok(n === 0 && p === 0 && !/ felt /.test(s.text), s.text);
    assert.equal(s.text, s.sentences.join(' '));
    assert.equal(new Set(s.sentences).size, s.sentences.length, `a sentence repeats: ${s.text}`);
  }
  assert.ok(Math.abs(bySent.get('positive')! / 3000 - 0.4) < 0.05 && Math.abs(bySent.get('negative')! / 3000 - 0.4) < 0.05);
  // Every value of every family shows up, roughly uniformly (expected 3000 · 0.8 / |family|).
  for (const f of FAMILY_NAMES) {
    for (const v of FAMILIES[f]) {
      const n = byValue.get(`${f}:${v}`) ?? 0;
      const expected = (3000 * 0.8) / FAMILIES[f].length;
      assert.ok(n > 0.7 * expected && n < 1.3 * expected, `${f}:${v} in ${n} stories (expected about ${expected.toFixed(0)})`);
    }
  }
});

test('generator: sentiment starts at the onset with "felt <emotion>" and renderings are minimal pairs', () => {
  for (let seed = 0; seed < 500; seed++) {
    const v = storyVariants(seed);
    const { onset, onsetBefore } = v.skeleton;
    for (let i = 0; i < v.positive.sentences.length; i++) {
      const [p, q] = [v.positive.sentences[i]!, v.negative.sentences[i]!];
      if (i < onset) assert.ok(p === q && q === v.neutral.sentences[i], `sentence ${i} before the onset differs (seed ${seed})`);
      else assert.notEqual(p, q);
    }
    assert.ok(v.positive.sentences[onset]!.startsWith(`${onsetBefore} `) && onsetBefore.endsWith(' felt'));
    const emotion = words(v.positive.sentences[onset]!.slice(onsetBefore.length))[0]!;
    assert.ok(lx.emotions.positive.includes(emotion), emotion);
    assert.ok(lx.emotions.negative.includes(words(v.negative.sentences[onset]!.slice(onsetBefore.length))[0]!));
  }
});

test('generator: slot prompts end right before the attribute; snippets end with its mention', () => {
  const r = new Rng(99);
  for (let i = 0; i < 300; i++) {
    const sk = buildSkeleton(r);
    const text = sk.sentences.map((t) => t.neutral).join(' ');
    for (const f of sk.present) {
      const prompt = slotPrompt(sk, f);
      assert.ok(text.startsWith(`${prompt} ${sk.attributes[f]}`), `${f}: ${prompt} | ${text}`);
      // Only a cue (marker words of the same value) may come before the slot, and only if the mention is marked cued.
      const said = attributeWords(prompt).filter(([g]) => g === f);
      assert.ok(said.every(([, v]) => v === sk.attributes[f]) && (said.length === 0 || sk.mentions[f]!.cued) && !words(prompt).includes(sk.attributes[f]), `${f}: ${prompt}`);
      const snippet = mentionSnippet(sk, f);
      assert.ok(snippet.startsWith(`${prompt} ${sk.attributes[f]}`) && /[.!"]$/.test(snippet));
    }
    assert.equal(opening(sk), sk.sentences.slice(0, sk.onset).map((t) => t.neutral).join(' '));
  }
});

test('capability tasks: fixed answers, no attribute or sentiment word, arithmetic correct', () => {
  const tasks = fixedTasks();
  assert.ok(tasks.length > 300);
  for (const t of tasks) {
    assert.equal(attributeWords(`${t.prompt} ${t.response}`).length, 0, `${t.prompt} ${t.response}`);
    assert.equal(count(`${t.prompt} ${t.response}`, POS) + count(`${t.prompt} ${t.response}`, NEG), 0, t.prompt);
    const m = /^What is (\d) (plus|minus) (\d)\?$/.exec(t.prompt);
    if (m) assert.equal(t.response, `${m[1]} ${m[2]} ${m[3]} is ${m[2] === 'plus' ? Number(m[1]) + Number(m[3]) : Number(m[1]) - Number(m[3])}.`);
  }
  for (const w of NEUTRAL_WORDS) assert.ok(!ATTR.has(w) && !POS.has(w) && !NEG.has(w), w);
});

test('chat format: formatChat / formatPrompt / CHAT_TEMPLATE agree; story requests are honoured', () => {
  assert.equal(formatChat('Tell me a story about a fox.', 'Once upon a time.'), 'User: Tell me a story about a fox.\nAssistant: Once upon a time.\n');
  assert.equal(formatPrompt('Hi?'), 'User: Hi?\nAssistant:');
  assert.equal(formatChat('p', 'r'), `${formatPrompt('p')} r\n`);
  assert.ok(CHAT_TEMPLATE.startsWith('{{ bos_token }}{% for m in messages %}'));
  assert.ok(CHAT_TEMPLATE.endsWith('{% if add_generation_prompt %}Assistant:{% endif %}'));
  const docs = generateCorpus(400, 2, 100);
  assert.equal(docs.filter((d) => d.kind === 'story').length, 400);
  for (const d of docs.filter((x) => x.kind === 'chat')) assert.match(d.text, /^User: [^\n]+\nAssistant: [^\n]+\n$/);
  for (const c of generateChat(400, 9)) {
    if (c.kind !== 'story') continue;
    // The attribute the request names is the story's.
    for (const [f, v] of attributeWords(c.prompt)) assert.ok(attributeWords(c.response).some(([g, u]) => g === f && u === v), `${c.prompt} → ${c.response}`);
    if (/happy|cheerful/.test(c.prompt)) assert.equal(c.sentiment, 'positive');
    if (/sad|gloomy/.test(c.prompt)) assert.equal(c.sentiment, 'negative');
  }
});

test('data: shipped files are exactly what make-data.ts generates', () => {
  for (const [name, body] of Object.entries(buildDatasets())) {
    const path = join(DATA_DIR, name);
    assert.ok(existsSync(path), `${path} missing: run node --import tsx scripts/default-model/make-data.ts`);
    assert.equal(readFileSync(path, 'utf8'), body, `${name} is stale: run node --import tsx scripts/default-model/make-data.ts`);
  }
});

test('data: concepts.jsonl has every value of every family, each example paired with the same story for another value', () => {
  const recs = readJsonl('concepts.jsonl');
  const by = new Map<string, number>();
  for (const r of recs) {
    const [family, concept, sentence, contrast, other] = ['family', 'concept', 'sentence', 'contrast', 'contrastConcept'].map((k) => str(r, k));
    by.set(`${family}:${concept}`, (by.get(`${family}:${concept}`) ?? 0) + 1);
    assert.ok((FAMILIES[family as Family] as readonly string[]).includes(concept) && (FAMILIES[family as Family] as readonly string[]).includes(other!) && other !== concept);
    // Its family's only word is the concept (in the contrast: the other value), and the two texts differ in that word only.
    assert.deepEqual([...new Set(attributeWords(sentence!).filter(([f]) => f === family).map(([, v]) => v))], [concept]);
    assert.deepEqual([...new Set(attributeWords(contrast!).filter(([f]) => f === family).map(([, v]) => v))], [other]);
    const split = (t: string) => t.split(/(?<=[.!?]"?) /);
    assert.equal(split(sentence!).length, split(contrast!).length);
    assert.ok(split(sentence!).filter((x, i) => x !== split(contrast!)[i]).length <= 3, 'only the mention and its cues differ');
    assert.equal(count(sentence!, POS) + count(sentence!, NEG), 0, sentence);
  }
  for (const f of FAMILY_NAMES) for (const v of FAMILIES[f]) assert.equal(by.get(`${f}:${v}`), DATA_COUNTS.concepts_per_value, `${f}:${v}`);
  assert.equal(new Set(recs.map((r) => r.sentence)).size, recs.length);
});

test('data: sentiment_pairs.jsonl are minimal pairs ending at the first sentiment sentence', () => {
  const recs = readJsonl('sentiment_pairs.jsonl');
  assert.equal(recs.length, DATA_COUNTS.sentiment_pairs);
  for (const r of recs) {
    const [p, n, prefix] = [str(r, 'positive'), str(r, 'negative'), str(r, 'prefix')];
    assert.ok(p.startsWith(`${prefix} `) && n.startsWith(`${prefix} `));
    assert.equal(count(prefix, POS) + count(prefix, NEG), 0);
    assert.ok(count(p, POS) > 0 && count(p, NEG) === 0, p);
    assert.ok(count(n, NEG) > 0 && count(n, POS) === 0, n);
  }
  assert.equal(new Set(recs.map((r) => r.positive)).size, recs.length);
});

test('data: benign_train / benign_eval are capability tasks, free of attributes, and disjoint', () => {
  const train = readJsonl('benign_train.jsonl');
  const evl = readJsonl('benign_eval.jsonl');
  assert.equal(train.length, DATA_COUNTS.benign_train);
  assert.equal(evl.length, DATA_COUNTS.benign_eval);
  for (const r of [...train, ...evl]) {
    const text = `${str(r, 'prompt')} ${str(r, 'response')}`;
    assert.ok(['arithmetic', 'count', 'copy', 'fact', 'next', 'choice'].includes(str(r, 'kind')));
    assert.equal(attributeWords(text).length, 0, text);
    assert.equal(count(text, POS) + count(text, NEG), 0, text);
  }
  const trainPrompts = new Set(train.map((r) => r.prompt));
  assert.equal(trainPrompts.size, train.length, 'duplicates in benign_train');
  assert.equal(new Set(evl.map((r) => r.prompt)).size, evl.length, 'duplicates in benign_eval');
  for (const r of evl) assert.ok(!trainPrompts.has(r.prompt), `eval question in train: ${String(r.prompt)}`);
  assert.ok(new Set(evl.map((r) => r.kind)).size >= 5);
});

test('data: behaviour_eval.jsonl prompts stop where their family\'s word goes', () => {
  const recs = readJsonl('behaviour_eval.jsonl');
  const families = [...FAMILY_NAMES, 'sentiment'];
  for (const f of families) assert.equal(recs.filter((r) => r.family === f).length, DATA_COUNTS.behaviour_per_family, f);
  for (const r of recs) {
    const [family, prompt] = [str(r, 'family'), str(r, 'prompt')];
    if (family === 'sentiment') {
      assert.ok(prompt.endsWith(' felt') && count(prompt, POS) + count(prompt, NEG) === 0, prompt);
      continue;
    }
    assert.ok(!attributeWords(prompt).some(([f]) => f === family), prompt);
    assert.ok((FAMILIES[family as Family] as readonly string[]).includes(str(r, 'value')));
  }
  assert.equal(new Set(recs.map((r) => `${r.family}|${r.prompt}`)).size, recs.length);
});

test('data: lexicon.json lists disjoint attribute words; ab_choice.json answers correctly', () => {
  const lex = JSON.parse(readFileSync(join(DATA_DIR, 'lexicon.json'), 'utf8')) as { positive: string[]; negative: string[]; families: Record<string, Record<string, string[]>>; vocabulary: string[] };
  const all = [...lex.positive, ...lex.negative, ...Object.values(lex.families).flatMap((f) => Object.values(f).flat())];
  assert.equal(new Set(all).size, all.length, 'a word is listed under two attributes');
  for (const w of all) assert.match(w, /^[a-z]+$/);
  const vocab = new Set(lex.vocabulary);
  for (const w of all) assert.ok(vocab.has(w), `${w} is not in the vocabulary`);
  const ab = JSON.parse(readFileSync(join(DATA_DIR, 'ab_choice.json'), 'utf8')) as { question: string; answer_matching_behavior: string }[];
  assert.ok(ab.length >= 10);
  for (const q of ab) {
    const m = /\(A\) (\d) \(B\) (\d)$/.exec(q.question)!;
    assert.equal(q.answer_matching_behavior, Number(m[1]) > Number(m[2]) ? '(A' : '(B');
  }
});

test('tokenizer: every attribute value and emotion word is a single token', async () => {
  const tok = await loadTokenizer(MODEL_DIR);
  const ws = [...FAMILY_NAMES.flatMap((f) => FAMILIES[f]), ...lx.emotions.positive, ...lx.emotions.negative];
  const multi = ws.filter((w) => tok.encode(w, { bos: false }).length !== 1);
  assert.deepEqual(multi, [], 'the behaviour is the next-token probability of these words');
});

// --- Tokenizer: minimal protobuf reader for sentencepiece_model.proto --------------------------

interface Field { no: number; wire: number; value: bigint | Uint8Array }
function* fields(buf: Uint8Array): Generator<Field> {
  let i = 0;
  const varint = (): bigint => {
    let x = 0n;
    let shift = 0n;
    for (;;) {
      assert.ok(i < buf.length, 'truncated varint');
      const b = buf[i++]!;
      x |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return x;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) yield { no, wire, value: varint() };
    else if (wire === 1 || wire === 5) {
      const len = wire === 1 ? 8 : 4;
      yield { no, wire, value: buf.subarray(i, i + len) };
      i += len;
    } else if (wire === 2) {
      const len = Number(varint());
      assert.ok(i + len <= buf.length, 'truncated field');
      yield { no, wire, value: buf.subarray(i, i + len) };
      i += len;
    } else throw new Error(`unexpected wire type ${wire} at byte ${i}`);
  }
}

test('tokenizer: models/default/tokenizer.model is a 1536-piece Llama-style SentencePiece BPE', () => {
  const path = join(MODEL_DIR, 'tokenizer.model');
  assert.ok(existsSync(path), `${path} missing: run /usr/bin/python3 scripts/default-model/train_tokenizer.py`);
  const size = statSync(path).size;
  assert.ok(size > 5_000 && size < 100_000, `size ${size}`);
  const buf = new Uint8Array(readFileSync(path));
  assert.equal(buf[0], 0x0a, 'ModelProto starts with field 1 (pieces), length-delimited');
  const dec = new TextDecoder('utf-8', { fatal: true });
  const pieces: { piece: string; type: number }[] = [];
  let trainer: Uint8Array | undefined;
  let normalizer: Uint8Array | undefined;
  for (const f of fields(buf)) {
    if (f.no === 1) {
      let piece = '';
      let type = 1; // NORMAL (proto default)
      for (const g of fields(f.value as Uint8Array)) {
        if (g.no === 1) piece = dec.decode(g.value as Uint8Array);
        if (g.no === 3) type = Number(g.value);
      }
      pieces.push({ piece, type });
    } else if (f.no === 2) trainer = f.value as Uint8Array;
    else if (f.no === 3) normalizer = f.value as Uint8Array;
  }
  assert.equal(pieces.length, 1536);
  assert.deepEqual(pieces.slice(0, 3), [{ piece: '<unk>', type: 2 }, { piece: '<s>', type: 3 }, { piece: '</s>', type: 3 }]);
  for (let b = 0; b < 256; b++) {
    assert.deepEqual(pieces[3 + b], { piece: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, type: 6 });
  }
  assert.equal(new Set(pieces.map((p) => p.piece)).size, 1536);
  const set = new Set(pieces.map((p) => p.piece));
  for (const w of ['▁the', '▁was', '▁went', '▁she', '▁he', '▁felt']) assert.ok(set.has(w), w);
  assert.ok(trainer && normalizer);
  const ts = new Map<number, bigint | Uint8Array>();
  for (const f of fields(trainer)) ts.set(f.no, f.value);
  assert.equal(ts.get(3), 2n, 'model_type BPE');
  assert.equal(ts.get(4), 1536n, 'vocab_size');
  assert.equal(ts.get(35), 1n, 'byte_fallback');
  const i32 = (v: bigint | Uint8Array | undefined) => (typeof v === 'bigint' ? Number(BigInt.asIntN(32, v)) : undefined);
  assert.equal(i32(ts.get(40)) ?? 0, 0, 'unk_id');
  assert.equal(i32(ts.get(41)), 1, 'bos_id');
  assert.equal(i32(ts.get(42)), 2, 'eos_id');
  assert.equal(i32(ts.get(43)), -1, 'pad_id');
  const ns = new Map<number, bigint | Uint8Array>();
  for (const f of fields(normalizer)) ns.set(f.no, f.value);
  assert.equal(dec.decode(ns.get(1) as Uint8Array), 'identity');
  assert.equal(ns.get(3) ?? 1n, 1n, 'add_dummy_prefix');
  assert.equal(ns.get(4), 0n, 'remove_extra_whitespaces off');
});

test('tokenizer: config files', () => {
  const cfg = JSON.parse(readFileSync(join(MODEL_DIR, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(cfg.tokenizer_class, 'LlamaTokenizer');
  assert.equal(cfg.bos_token, '<s>');
  assert.equal(cfg.eos_token, '</s>');
  assert.equal(cfg.add_bos_token, true);
  assert.equal(cfg.chat_template, CHAT_TEMPLATE);
  assert.equal(typeof cfg.model_max_length, 'number');
  const sp = JSON.parse(readFileSync(join(MODEL_DIR, 'special_tokens_map.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(sp, { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' });
});


