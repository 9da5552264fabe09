// Tests for the default model's text generator, shipped datasets and tokenizer
// (scripts/default-model/, data/, models/default/). No Python needed: the tokenizer file is
// checked by reading its protobuf directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CHAT_TEMPLATE, SENTIMENTS, TOPICS, type Sentiment, type Topic, formatChat, formatPrompt, generateChat, generateCorpus,
  generateStories, lexicon, storyVariants, words,
} from '../../scripts/default-model/corpus.ts';
import { DATA_COUNTS, DATA_DIR, buildDatasets } from '../../scripts/default-model/make-data.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL_DIR = join(ROOT, 'models/default');

const lx = lexicon();
const POS = new Set(lx.positive);
const NEG = new Set(lx.negative);
const TOPIC_WORDS = new Map(TOPICS.map((t) => [t, new Set(lx.topics[t])]));
const count = (text: string, set: Set<string>): number => words(text).filter((w) => set.has(w)).length;

function readJsonl(name: string): Record<string, unknown>[] {
  return readFileSync(join(DATA_DIR, name), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
}
function strField(r: Record<string, unknown>, k: string): string {
  const v = r[k];
  assert.equal(typeof v, 'string', `field ${k} of ${JSON.stringify(r).slice(0, 120)}`);
  return v as string;
}

test('generator: same seed gives the same stories, different seeds differ', () => {
  const a = generateStories(200, 7);
  const b = generateStories(200, 7);
  const c = generateStories(200, 8);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.map((s) => s.text), c.map((s) => s.text));
  assert.deepEqual(generateChat(50, 3), generateChat(50, 3));
  assert.deepEqual(generateCorpus(40, 1, 10), generateCorpus(40, 1, 10));
  // Fixing the sentiment keeps every other draw: same skeletons, same openings.
  const pos = generateStories(100, 7, { sentiment: 'positive' });
  pos.forEach((s, i) => assert.equal(s.sentences.slice(0, s.onset).join(' '), a[i]!.sentences.slice(0, a[i]!.onset).join(' ')));
});

test('generator: sentiment and topic are controlled attributes', () => {
  const stories = generateStories(3000, 12345);
  const bySent = new Map<Sentiment, number>();
  const byTopic = new Map<Topic, number>();
  for (const s of stories) {
    bySent.set(s.sentiment, (bySent.get(s.sentiment) ?? 0) + 1);
    byTopic.set(s.topic, (byTopic.get(s.topic) ?? 0) + 1);
    const p = count(s.text, POS);
    const n = count(s.text, NEG);
    if (s.sentiment === 'positive') assert.ok(p > 0 && n === 0, `positive story with negative words: ${s.text}`);
    if (s.sentiment === 'negative') assert.ok(n > 0 && p === 0, `negative story with positive words: ${s.text}`);
    if (s.sentiment === 'neutral') assert.ok(n === 0 && p === 0, `neutral story with sentiment words: ${s.text}`);
    const ws = words(s.text);
    assert.ok(ws.some((w) => TOPIC_WORDS.get(s.topic)!.has(w)), `no ${s.topic} word: ${s.text}`);
    for (const t of TOPICS) if (t !== s.topic) assert.ok(!ws.some((w) => TOPIC_WORDS.get(t)!.has(w)), `${s.topic} story with ${t} words: ${s.text}`);
    assert.ok(s.sentences.length >= 3 && s.sentences.length <= 6, `${s.sentences.length} sentences: ${s.text}`);
    assert.equal(s.text, s.sentences.join(' '));
    // Sentence-final punctuation count agrees with the sentence list.
    assert.equal((s.text.match(/[.!?]"?(?=$|\s(?!said\b))/g) ?? []).length, s.sentences.length, s.text);
  }
  // Mix: about 40/40/20 and every topic present.
  assert.ok(Math.abs(bySent.get('positive')! / 3000 - 0.4) < 0.05 && Math.abs(bySent.get('negative')! / 3000 - 0.4) < 0.05);
  for (const t of TOPICS) assert.ok(byTopic.get(t)! > 400, `topic ${t}: ${byTopic.get(t)}`);
});

test('generator: sentiment persists from the onset to the end; renderings are minimal pairs', () => {
  for (let seed = 0; seed < 1000; seed++) {
    const v = storyVariants(seed);
    const { onset } = v.skeleton;
    const n = v.positive.sentences.length;
    assert.ok(onset >= 1 && onset < n);
    for (const s of SENTIMENTS) assert.equal(v[s].sentences.length, n);
    for (let i = 0; i < n; i++) {
      const [p, q, u] = [v.positive.sentences[i]!, v.negative.sentences[i]!, v.neutral.sentences[i]!];
      if (i < onset) {
        assert.ok(p === q && q === u, `sentence ${i} before onset differs (seed ${seed})`);
      } else {
        assert.notEqual(p, q, `sentence ${i} after onset is sentiment-free (seed ${seed})`);
        assert.equal(count(p, NEG), 0);
        assert.equal(count(q, POS), 0);
        assert.equal(count(u, POS) + count(u, NEG), 0);
      }
    }
    // The last sentence always names the feeling.
    assert.ok(count(v.positive.sentences[n - 1]!, POS) > 0, v.positive.text);
    assert.ok(count(v.negative.sentences[n - 1]!, NEG) > 0, v.negative.text);
  }
});

test('generator: vocabulary is rich (hundreds of distinct words)', () => {
  const vocab = new Set(generateStories(2000, 5).flatMap((s) => words(s.text)));
  assert.ok(vocab.size > 600, `distinct words: ${vocab.size}`);
  assert.ok(lx.positive.length >= 40 && lx.negative.length >= 40);
  for (const t of TOPICS) assert.ok(lx.topics[t].length >= 40, `topic ${t}: ${lx.topics[t].length} words`);
});

test('chat format: formatChat / formatPrompt / CHAT_TEMPLATE agree', () => {
  assert.equal(formatChat('Tell me a story about the sea.', 'Once upon a time.'), 'User: Tell me a story about the sea.\nAssistant: Once upon a time.\n');
  assert.equal(formatPrompt('Hi?'), 'User: Hi?\nAssistant:');
  assert.equal(formatChat('p', 'r'), `${formatPrompt('p')} r\n`);
  assert.ok(CHAT_TEMPLATE.includes("User: {{ m['content'] }}\n") && CHAT_TEMPLATE.includes("Assistant: {{ m['content'] }}\n"));
  assert.ok(CHAT_TEMPLATE.startsWith('{{ bos_token }}{% for m in messages %}'));
  assert.ok(CHAT_TEMPLATE.endsWith('{% if add_generation_prompt %}Assistant:{% endif %}'));
  const docs = generateCorpus(400, 2, 100);
  assert.equal(docs.filter((d) => d.kind === 'story').length, 400);
  const chats = docs.filter((d) => d.kind === 'chat');
  assert.equal(chats.length, 100);
  for (const d of chats) assert.match(d.text, /^User: [^\n]+\nAssistant: [^\n]+\n$/);
  for (const d of docs.filter((x) => x.kind === 'story')) assert.ok(!d.text.includes('\n'));
  // Mood prompts are honoured.
  for (const c of generateChat(400, 9)) {
    if (c.kind !== 'story') continue;
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

test('data: sentiment_pairs.jsonl are minimal pairs differing in sentiment only', () => {
  const recs = readJsonl('sentiment_pairs.jsonl');
  assert.ok(recs.length >= 64);
  assert.equal(recs.length, DATA_COUNTS.sentiment_pairs);
  for (const r of recs) {
    const [p, n, prefix] = [strField(r, 'positive'), strField(r, 'negative'), strField(r, 'prefix')];
    assert.ok(TOPICS.includes(strField(r, 'topic') as Topic));
    assert.notEqual(p, n);
    assert.ok(p.startsWith(prefix) && n.startsWith(prefix) && prefix.length > 0);
    assert.ok(count(p, POS) > 0 && count(p, NEG) === 0, p);
    assert.ok(count(n, NEG) > 0 && count(n, POS) === 0, n);
    assert.equal(count(prefix, POS) + count(prefix, NEG), 0);
    // Same number of sentences; the words outside the sentiment slots are shared.
    const sp = p.split(/(?<=[.!?]"?) /);
    const sn = n.split(/(?<=[.!?]"?) /);
    assert.equal(sp.length, sn.length);
  }
  assert.equal(new Set(recs.map((r) => r.positive)).size, recs.length);
});

test('data: concepts.jsonl has >= 4 topics with >= 24 on-topic sentences', () => {
  const recs = readJsonl('concepts.jsonl');
  const by = new Map<string, string[]>();
  for (const r of recs) by.set(strField(r, 'concept'), [...(by.get(strField(r, 'concept')) ?? []), strField(r, 'sentence')]);
  assert.ok(by.size >= 4);
  for (const [c, ss] of by) {
    assert.ok(TOPICS.includes(c as Topic));
    assert.ok(ss.length >= 24, `${c}: ${ss.length}`);
    assert.equal(new Set(ss).size, ss.length);
    for (const s of ss) {
      assert.ok(count(s, TOPIC_WORDS.get(c as Topic)!) > 0, s);
      assert.equal(count(s, POS) + count(s, NEG), 0, s);
      for (const t of TOPICS) if (t !== c) assert.equal(count(s, TOPIC_WORDS.get(t)!), 0, s);
    }
  }
});

test('data: benign_train / benign_eval are neutral, well-formed and disjoint', () => {
  const train = readJsonl('benign_train.jsonl');
  const evl = readJsonl('benign_eval.jsonl');
  assert.ok(train.length >= 400 && evl.length >= 64);
  const key = (r: Record<string, unknown>) => `${strField(r, 'prompt')}\n${strField(r, 'response')}`;
  for (const r of [...train, ...evl]) {
    const [p, resp] = [strField(r, 'prompt'), strField(r, 'response')];
    assert.ok(['story', 'qa'].includes(strField(r, 'kind')));
    assert.ok(!p.includes('\n') && !resp.includes('\n'));
    assert.equal(count(p, POS) + count(p, NEG) + count(resp, POS) + count(resp, NEG), 0, `${p} ${resp}`);
  }
  const trainKeys = new Set(train.map(key));
  const trainResp = new Set(train.map((r) => r.response));
  assert.equal(trainKeys.size, train.length, 'duplicates in benign_train');
  assert.equal(new Set(evl.map(key)).size, evl.length, 'duplicates in benign_eval');
  for (const r of evl) {
    assert.ok(!trainKeys.has(key(r)), `eval example in train: ${key(r)}`);
    assert.ok(!trainResp.has(r.response), `eval response in train: ${String(r.response)}`);
  }
  assert.ok(train.some((r) => r.kind === 'qa') && evl.some((r) => r.kind === 'qa'));
});

test('data: sentiment_eval.jsonl openings are sentiment-free and distinct', () => {
  const recs = readJsonl('sentiment_eval.jsonl');
  assert.ok(recs.length >= 64);
  for (const r of recs) {
    const t = strField(r, 'text');
    assert.ok(TOPICS.includes(strField(r, 'topic') as Topic));
    assert.equal(count(t, POS) + count(t, NEG), 0, t);
    assert.ok((t.match(/[.!?]"?(?=$|\s(?!said\b))/g) ?? []).length >= 2, t);
  }
  assert.equal(new Set(recs.map((r) => r.text)).size, recs.length);
  // Held out from the pairs used to build steering vectors.
  const prefixes = new Set(readJsonl('sentiment_pairs.jsonl').map((r) => r.prefix));
  assert.equal(recs.filter((r) => prefixes.has(r.text)).length, 0);
});

test('data: lexicon.json lists disjoint attribute words', () => {
  const lex = JSON.parse(readFileSync(join(DATA_DIR, 'lexicon.json'), 'utf8')) as { positive: string[]; negative: string[]; topics: Record<string, string[]> };
  assert.ok(lex.positive.length >= 40 && lex.negative.length >= 40);
  assert.deepEqual(Object.keys(lex.topics).sort(), [...TOPICS].sort());
  const all = [...lex.positive, ...lex.negative, ...Object.values(lex.topics).flat()];
  assert.equal(new Set(all).size, all.length, 'a word is listed under two attributes');
  for (const w of all) assert.match(w, /^[a-z]+$/);
});

test('data: ab_sentiment.json is balanced CAA A/B', () => {
  const recs = JSON.parse(readFileSync(join(DATA_DIR, 'ab_sentiment.json'), 'utf8')) as Record<string, unknown>[];
  assert.ok(Array.isArray(recs) && recs.length >= 32);
  let a = 0;
  for (const r of recs) {
    const q = strField(r, 'question');
    const m = strField(r, 'answer_matching_behavior');
    const n = strField(r, 'answer_not_matching_behavior');
    assert.ok(['(A', '(B'].includes(m) && ['(A', '(B'].includes(n) && m !== n);
    if (m === '(A') a++;
    const match = /^(.*) \(A\) (.*) \(B\) (.*)$/.exec(q);
    assert.ok(match, q);
    const [optA, optB] = [match[2]!, match[3]!];
    const [behav, other] = m === '(A' ? [optA, optB] : [optB, optA];
    assert.ok(count(behav, NEG) === 0 && count(other, POS) === 0, q);
    assert.ok(count(behav, POS) > 0 || count(other, NEG) > 0 || behav !== other, q);
  }
  assert.equal(a * 2, recs.length, 'A and B must be balanced');
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

test('tokenizer: models/default/tokenizer.model is a 1024-piece Llama-style SentencePiece BPE', () => {
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
  assert.equal(pieces.length, 1024);
  assert.deepEqual(pieces.slice(0, 3), [{ piece: '<unk>', type: 2 }, { piece: '<s>', type: 3 }, { piece: '</s>', type: 3 }]);
  for (let b = 0; b < 256; b++) {
    assert.deepEqual(pieces[3 + b], { piece: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, type: 6 });
  }
  assert.equal(new Set(pieces.map((p) => p.piece)).size, 1024);
  // Whole common words are single pieces.
  const set = new Set(pieces.map((p) => p.piece));
  for (const w of ['▁the', '▁was', '▁went', '▁day', '▁she', '▁he']) assert.ok(set.has(w), w);
  assert.ok(trainer && normalizer);
  const ts = new Map<number, bigint | Uint8Array>();
  for (const f of fields(trainer)) ts.set(f.no, f.value);
  assert.equal(ts.get(3), 2n, 'model_type BPE');
  assert.equal(ts.get(4), 1024n, 'vocab_size');
  assert.equal(ts.get(35), 1n, 'byte_fallback');
  const i32 = (v: bigint | Uint8Array | undefined) => (typeof v === 'bigint' ? Number(BigInt.asIntN(32, v)) : undefined);
  // unk_id 0 is the proto default and may be omitted.
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
