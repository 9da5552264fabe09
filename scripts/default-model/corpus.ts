// Seeded, deterministic generator of short children's stories with independent attributes, and
// of the chat corpus the project's default Llama is trained on (see README.md next to this file).
//
// Every story draws, independently and uniformly, one value of each attribute family:
//
//   place (12)    beach, forest, farm, …      "One day, she went to the beach."
//   creature (10) dog, cat, owl, …            "Lily had a pet owl."
//   activity (10) sing, dance, paint, …       "He wanted to paint."        (later: "He painted all afternoon.")
//   object (10)   kite, hat, ball, …          "She found a red kite."      (with a colour)
//   color (8)     red, blue, green, …
//   weather (6)   sunny, rainy, snowy, …      "The weather was snowy."
//   sentiment     positive | negative | neutral (40/40/20)
//
// A story mentions 2–5 of the families (each present with p = 0.8; colour comes with its
// object), in random order, then refers back to one or two of them ("The owl followed her
// everywhere."), so a model has to carry each attribute forward in its residual stream. The
// sentiment starts after that, at the "onset" sentence, which always contains "felt <emotion>",
// and every later sentence keeps it. All random draws are made before the sentiment is applied,
// so one seed rendered with two sentiments gives a minimal pair (storyVariants).
//
// The chat part of the corpus is story requests ("Tell me a story about a fox.") and capability
// tasks (tasks.ts) whose answers no attribute changes.
//
// CLI: node --import tsx scripts/default-model/corpus.ts --n 16000 --seed 0 --out corpus.jsonl
//      [--chat <count, default n·3/4>] [--format jsonl|txt] [--stats]
//      node --import tsx scripts/default-model/corpus.ts --print-chat-template   (JSON string)
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Rng } from './rng.ts';
import { type Task, type TaskKind, COPY_WORDS, DAYS, fixedTasks, randomTask } from './tasks.ts';

export { Rng } from './rng.ts';

// ---------------------------------------------------------------------------------------------
// Attributes
// ---------------------------------------------------------------------------------------------

export const FAMILIES = {
  place: ['beach', 'forest', 'farm', 'castle', 'desert', 'mountain', 'city', 'river', 'garden', 'cave', 'island', 'park'],
  creature: ['dog', 'cat', 'owl', 'fox', 'rabbit', 'bear', 'frog', 'turtle', 'horse', 'duck'],
  activity: ['sing', 'dance', 'paint', 'swim', 'climb', 'skate', 'jump', 'draw', 'whistle', 'bake'],
  object: ['kite', 'hat', 'ball', 'drum', 'lamp', 'key', 'box', 'bell', 'cup', 'book'],
  color: ['red', 'blue', 'green', 'yellow', 'purple', 'brown', 'pink', 'white'],
  weather: ['sunny', 'rainy', 'snowy', 'windy', 'foggy', 'stormy'],
} as const;
export type Family = keyof typeof FAMILIES;
export const FAMILY_NAMES = Object.keys(FAMILIES) as Family[];
/** Families that a story mentions on their own (colour is mentioned with its object). */
const MENTIONED: Family[] = ['place', 'creature', 'activity', 'object', 'weather'];

const PAST: Record<string, string> = {
  sing: 'sang', dance: 'danced', paint: 'painted', swim: 'swam', climb: 'climbed', skate: 'skated', jump: 'jumped', draw: 'drew', whistle: 'whistled', bake: 'baked',
};

/**
 * Cues: sentences that only a story with that value says, and their marker words (the words no
 * other value's story contains). A cue may come before the value's first mention (so the model
 * learns to infer the attribute from context and keeps it as a latent in its residual stream) or
 * after it (so the attribute shapes the text that follows). Colour has none: it is a bare word.
 * `{S}` is the subject, `{he}` `{his}` `{him}` the hero's pronouns, `{it}` the value's own words.
 */
interface Cue { before: string[]; after: string[]; markers: string[] }
const cue = (sentences: string[], markers: string[], after = sentences): Cue => ({ before: sentences, after, markers });
export const CUES: Partial<Record<Family, Record<string, Cue>>> = {
  weather: {
    sunny: cue(['The sun was shining brightly.'], ['shining', 'brightly', 'sunglasses'], ['Everyone wore sunglasses.']),
    rainy: cue(['Puddles covered the road.'], ['puddles', 'umbrella'], ['Everyone carried an umbrella.']),
    snowy: cue(['Snowflakes drifted down from the sky.'], ['snowflakes', 'mittens'], ['Everyone wore warm mittens.']),
    windy: cue(['Strong gusts blew across the land.'], ['gusts', 'scarves'], ['Everyone held on to their scarves.']),
    foggy: cue(['A thick mist covered everything.'], ['mist', 'haze'], ['A grey haze hung over the hills.']),
    stormy: cue(['Thunder rumbled in the distance.'], ['thunder', 'rumbled', 'lightning'], ['Lightning flashed across the sky.']),
  },
  place: {
    beach: cue(['Waves rolled onto the sand.'], ['waves', 'sand']),
    forest: cue(['Tall pine trees grew all around.'], ['pine']),
    farm: cue(['An old barn stood by the fields.'], ['barn', 'fields']),
    castle: cue(['Knights guarded the drawbridge.'], ['knights', 'drawbridge']),
    desert: cue(['Cactus plants grew on the dry dunes.'], ['cactus', 'dunes']),
    mountain: cue(['A rocky trail led up to the peak.'], ['rocky', 'trail', 'peak']),
    city: cue(['Buses drove along the busy streets.'], ['buses', 'streets']),
    river: cue(['Ripples flowed under the old bridge.'], ['ripples', 'bridge']),
    garden: cue(['Roses and tulips grew in neat rows.'], ['roses', 'tulips']),
    cave: cue(['Bats hung from the dark ceiling.'], ['bats', 'ceiling']),
    island: cue(['Palm trees swayed by the shore.'], ['palm', 'shore']),
    park: cue(['Children played on the swings.'], ['swings']),
  },
  creature: {
    dog: cue(['Something nearby barked and wagged its tail.'], ['barked', 'wagged'], ['The dog barked and wagged its tail.']),
    cat: cue(['Something nearby purred softly.'], ['purred'], ['The cat purred softly.']),
    owl: cue(['Something nearby hooted from a branch.'], ['hooted', 'branch'], ['The owl hooted from a branch.']),
    fox: cue(['Something with a bushy tail ran by.'], ['bushy'], ['The fox waved its bushy tail.']),
    rabbit: cue(['Something nearby nibbled a carrot.'], ['nibbled', 'carrot'], ['The rabbit nibbled a carrot.']),
    bear: cue(['Something nearby growled and sniffed the air.'], ['growled', 'sniffed'], ['The bear growled and sniffed the air.']),
    frog: cue(['Something nearby croaked and leaped.'], ['croaked', 'leaped'], ['The frog croaked and leaped.']),
    turtle: cue(['Something nearby crawled slowly inside its shell.'], ['crawled', 'shell'], ['The turtle crawled slowly inside its shell.']),
    horse: cue(['Something nearby galloped across the grass.'], ['galloped'], ['The horse galloped across the grass.']),
    duck: cue(['Something nearby quacked and paddled.'], ['quacked', 'paddled'], ['The duck quacked and paddled.']),
  },
  activity: {
    sing: cue(['{S} knew many songs.'], ['songs']),
    dance: cue(['{S} practiced twirling to music.'], ['twirling', 'music']),
    paint: cue(['{S} had a set of brushes.'], ['brushes']),
    swim: cue(['{S} had new goggles.'], ['goggles']),
    climb: cue(['{S} had a climbing harness.'], ['harness', 'climbing']),
    skate: cue(['{S} had shiny new skates.'], ['skates']),
    jump: cue(['{S} practiced on a trampoline.'], ['trampoline']),
    draw: cue(['{S} had a sketchbook.'], ['sketchbook']),
    whistle: cue(['{S} could make a loud tune.'], ['tune']),
    bake: cue(['{S} helped with the oven.'], ['oven']),
  },
  object: {
    kite: cue([], ['string'], ['It flew high on a long string.']),
    hat: cue([], ['brim'], ['It had a wide brim.']),
    ball: cue([], ['bounced'], ['It bounced across the floor.']),
    drum: cue([], ['boom'], ['It went boom when {he} hit it.']),
    lamp: cue([], ['glowed'], ['It glowed in the dark.']),
    key: cue([], ['lock'], ['It opened an old lock.']),
    box: cue([], ['lid', 'creaked'], ['It had a lid that creaked.']),
    bell: cue([], ['ding'], ['It rang with a ding.']),
    cup: cue([], ['cocoa'], ['{He} drank cocoa from it.']),
    book: cue([], ['pages'], ['It had many pages.']),
  },
};

export const SENTIMENTS = ['positive', 'negative', 'neutral'] as const;
export type Sentiment = (typeof SENTIMENTS)[number];
export const SENTIMENT_MIX: Record<Sentiment, number> = { positive: 0.4, negative: 0.4, neutral: 0.2 };

/** (positive, negative) word pairs, aligned so that swapping one for the other keeps the grammar. */
type Pair = readonly [string, string];
/** Emotions: the word after "felt" (the sentiment slot). */
export const EMO: readonly Pair[] = [
  ['happy', 'sad'], ['glad', 'upset'], ['joyful', 'miserable'], ['cheerful', 'gloomy'], ['delighted', 'unhappy'],
  ['excited', 'scared'], ['proud', 'ashamed'], ['thankful', 'angry'], ['merry', 'lonely'], ['pleased', 'worried'], ['jolly', 'grumpy'],
];
const EVAL: readonly Pair[] = [
  ['wonderful', 'terrible'], ['lovely', 'awful'], ['beautiful', 'horrible'], ['great', 'bad'], ['amazing', 'dreadful'],
  ['fantastic', 'nasty'], ['perfect', 'rotten'], ['brilliant', 'dismal'], ['marvelous', 'horrid'],
];
const VERB: readonly Pair[] = [['laughed', 'cried'], ['smiled', 'frowned'], ['giggled', 'sobbed'], ['cheered', 'screamed'], ['grinned', 'sighed'], ['clapped', 'wept']];
const LOVE: readonly Pair[] = [['loved', 'hated'], ['adored', 'disliked'], ['enjoyed', 'feared'], ['liked', 'dreaded']];
const LOVE_NOW: readonly Pair[] = [['love', 'hate'], ['adore', 'dislike'], ['enjoy', 'dread']];
const ADV: readonly Pair[] = [['happily', 'sadly'], ['gladly', 'angrily'], ['joyfully', 'miserably'], ['cheerfully', 'gloomily'], ['proudly', 'fearfully']];
const BEST: readonly Pair[] = [['best', 'worst'], ['happiest', 'saddest'], ['nicest', 'scariest']];
const TOUCH: readonly Pair[] = [['hugged', 'shouted at'], ['smiled at', 'yelled at'], ['cheered for', 'frowned at'], ['kissed', 'scolded']];
/** Event words that only positive (negative) text contains. */
const POS_EXTRA = ['won', 'prize', 'funny', 'trick', 'surprise', 'present', 'perfectly'];
const NEG_EXTRA = ['lost', 'broke', 'hurt', 'fell', 'knee'];

const GIRLS = ['Lily', 'Mia', 'Sara', 'Emma', 'Anna', 'Lucy', 'Zoe', 'Ella', 'Ruby', 'Amy', 'Kate', 'Nora', 'Maya', 'Sophie', 'Rosa', 'Jade', 'Chloe', 'Hannah', 'Ivy', 'Tara', 'Molly', 'Elsa', 'Lena', 'Bella'];
const BOYS = ['Tom', 'Ben', 'Sam', 'Max', 'Leo', 'Jack', 'Tim', 'Noah', 'Finn', 'Jake', 'Oscar', 'Eli', 'Dan', 'Luke', 'Adam', 'Theo', 'Owen', 'Hugo', 'Milo', 'Kai', 'Ravi', 'Omar', 'Pablo', 'Ned'];
export const NAMES: readonly string[] = [...GIRLS, ...BOYS];
const COMPANIONS = ['mom', 'dad', 'grandma', 'grandpa', 'sister', 'brother', 'aunt', 'uncle', 'cousin', 'neighbor'];
const AGES = ['four', 'five', 'six', 'seven', 'eight', 'nine'];

// ---------------------------------------------------------------------------------------------
// Story construction
// ---------------------------------------------------------------------------------------------

/** One sentence in its three sentiment renderings (identical strings for sentiment-free sentences). */
export interface Tri {
  positive: string;
  negative: string;
  neutral: string;
}
const same = (s: string): Tri => ({ positive: s, negative: s, neutral: s });
const tri = (positive: string, negative: string, neutral: string): Tri => ({ positive, negative, neutral });
const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const an = (w: string): string => (/^[aeiou]/i.test(w) ? `an ${w}` : `a ${w}`);

export type Attributes = Record<Family, string>;

interface Ctx {
  r: Rng;
  name: string;
  girl: boolean;
  he: string;
  his: string;
  him: string;
  companion: string;
  a: Attributes;
  present: Set<Family>;
  /** Sentiment-free sentences already in the story (neutral renderings do not repeat one). */
  said: Set<string>;
}

/** Subject: the name (sometimes) or the pronoun, capitalised for the start of a sentence. */
function subj(c: Ctx): string {
  return c.r.chance(0.35) ? c.name : cap(c.he);
}

/** Where a family's word first appears: its sentence and the text before the word in it. */
export interface Mention {
  sentence: number;
  before: string;
  /** A cue of the value came before this first mention (the value could be inferred). */
  cued: boolean;
}

/** A mention sentence split at the family's word: [text before the word, text after it]. */
function mentionParts(c: Ctx, f: Family): [string, string][] {
  const S = subj(c);
  const { object } = c.a;
  switch (f) {
    case 'weather': return [[`The weather was`, '.'], [`That morning, the weather was`, '.'], [`The day was`, '.']];
    case 'place': return [[`One day, ${c.he} went to the`, '.'], [`${S} and ${c.his} ${c.companion} walked to the`, '.'], [`${S} lived near the`, '.'], [`${S} went to play at the`, '.']];
    case 'creature': return [[`${S} had a pet`, '.'], [`${S} saw a little`, '.'], [`${S} played with a small`, '.']];
    case 'activity': return [[`${S} wanted to`, '.'], [`${S} was learning to`, '.'], [`${cap(c.his)} ${c.companion} taught ${c.him} to`, '.']];
    case 'object': return [[`${S} found a`, ` ${object}.`], [`${cap(c.his)} ${c.companion} gave ${c.him} a`, ` ${object}.`], [`${S} made a`, ` ${object}.`]];
    case 'color': throw new Error('colour is mentioned with its object');
  }
}

function mention(c: Ctx, f: Family): { text: string; mentions: Partial<Record<Family, string>> } {
  const [before, after] = c.r.pick(mentionParts(c, f));
  const word = f === 'object' ? c.a.color : c.a[f];
  const text = `${before} ${word}${after}`;
  if (f !== 'object') return { text, mentions: { [f]: before } };
  return { text, mentions: { color: before, object: `${before} ${c.a.color}` } };
}

/** A sentiment-free sentence that refers back to an attribute already mentioned. */
function remention(c: Ctx, f: Family): string {
  const S = subj(c);
  const { place, creature, activity, object, color, weather } = c.a;
  const forms: Record<Exclude<Family, 'color'>, string[]> = {
    weather: [`${S} looked up at the ${weather} sky.`, `The ${weather} weather did not stop ${c.him}.`],
    place: [`At the ${place}, ${c.he} sat down for a while.`, `${S} walked all around the ${place}.`, `The ${place} was very quiet.`],
    creature: [`The ${creature} followed ${c.him} everywhere.`, `${S} gave the ${creature} some water.`, `The ${creature} sat next to ${c.him}.`],
    activity: [`${S} ${PAST[activity]} all afternoon.`, `Then ${c.he} ${PAST[activity]} with ${c.his} ${c.companion}.`, `${S} ${PAST[activity]} again and again.`],
    object: [`${S} held the ${color} ${object} up high.`, `${S} put the ${color} ${object} in ${c.his} bag.`, `The ${color} ${object} was on the table.`],
  };
  return c.r.pick(forms[f as Exclude<Family, 'color'>]);
}

/** A cue sentence of the family's value, before or after its first mention (null: none of that kind). */
function cueSentence(c: Ctx, f: Family, when: 'before' | 'after'): string | null {
  const options = CUES[f]?.[c.a[f]]?.[when] ?? [];
  if (!options.length) return null;
  const S = subj(c);
  return c.r.pick(options).replaceAll('{S}', S).replaceAll('{He}', cap(c.he)).replaceAll('{he}', c.he).replaceAll('{his}', c.his).replaceAll('{him}', c.him);
}

/** A neutral sentence: a re-mention of a present attribute (what neutral stories say where others feel), not said before. */
function neutralSentence(c: Ctx): string {
  const fams = MENTIONED.filter((f) => c.present.has(f));
  const key = (x: string) => x.replace(/^\S+ /, ''); // "Lily looked up …" repeats "She looked up …"
  let s = remention(c, c.r.pick(fams));
  for (let tries = 0; tries < 8 && c.said.has(key(s)); tries++) s = remention(c, c.r.pick(fams));
  c.said.add(key(s));
  return s;
}

/** The onset: the first sentiment sentence, always "… felt <emotion> …". */
function onsetSentence(c: Ctx): Tri {
  const S = subj(c);
  const [pe, ne] = c.r.pick(EMO);
  const forms: [string, string][] = [[`${S} felt`, '.'], [`${S} felt`, ' all day.']];
  if (c.present.has('place')) forms.push([`At the ${c.a.place}, ${c.he} felt`, '.']);
  const [before, after] = c.r.pick(forms);
  const u = neutralSentence(c);
  return tri(`${before} ${pe}${after}`, `${before} ${ne}${after}`, u);
}

/** A later sentiment sentence: a reaction or an event. */
function reaction(c: Ctx): Tri {
  const S = subj(c);
  const { place, creature, object, color } = c.a;
  const [pv, nv] = c.r.pick(VERB);
  const [pv2, nv2] = c.r.pick(VERB.filter((v) => v[0] !== pv));
  const [pl, nl] = c.r.pick(LOVE);
  const [pq, nq] = c.r.pick(LOVE_NOW);
  const [pt, nt] = c.r.pick(TOUCH);
  const [px, nx] = c.r.pick(EVAL);
  const u = neutralSentence(c);
  const forms: [string, string][] = [
    [`${S} ${pv} and ${pv2}.`, `${S} ${nv} and ${nv2}.`],
    [`${cap(c.his)} ${c.companion} ${pt} ${c.him}.`, `${cap(c.his)} ${c.companion} ${nt} ${c.him}.`],
    [`Everything was ${px}.`, `Everything was ${nx}.`],
    [`Then ${c.he} won a prize.`, `Then ${c.he} lost ${c.his} way home.`],
    [`Then ${c.he} got a surprise present.`, `Then ${c.he} fell and hurt ${c.his} knee.`],
  ];
  if (c.present.has('place')) forms.push([`${S} ${pl} the ${place}.`, `${S} ${nl} the ${place}.`]);
  if (c.present.has('creature')) forms.push([`The ${creature} did a funny trick.`, `The ${creature} ran away from ${c.him}.`]);
  if (c.present.has('object')) {
    forms.push([`"I ${pq} this ${object}!" said ${c.name}.`, `"I ${nq} this ${object}!" said ${c.name}.`]);
    forms.push([`The ${color} ${object} worked perfectly.`, `The ${color} ${object} broke.`]);
  }
  const [p, n] = c.r.pick(forms);
  return tri(p, n, u);
}

function ending(c: Ctx): Tri {
  const S = subj(c);
  const [pe, ne] = c.r.pick(EMO);
  const [px, nx] = c.r.pick(EVAL);
  const [pa, na] = c.r.pick(ADV);
  const [pb, nb] = c.r.pick(BEST);
  const neutral = [`Then ${c.he} went home.`, `In the evening, ${c.he} went to bed.`, `After that, ${c.he} went home for dinner.`, `${S} told ${c.his} ${c.companion} all about it.`, 'Then it was time to go home.'];
  const u = c.r.pick(neutral);
  const forms: [string, string][] = [
    [`It was the ${pb} day ever!`, `It was the ${nb} day ever!`],
    [`${S} went home ${pa}.`, `${S} went home ${na}.`],
    [`${S} never forgot that ${px} day.`, `${S} never forgot that ${nx} day.`],
    [`${cap(c.his)} ${c.companion} said, "What ${an(px)} day!"`, `${cap(c.his)} ${c.companion} said, "What ${an(nx)} day!"`],
    [`In the end, ${c.he} was very ${pe}.`, `In the end, ${c.he} was very ${ne}.`],
    [`${S} went to bed feeling ${pe}.`, `${S} went to bed feeling ${ne}.`],
  ];
  const [p, n] = c.r.pick(forms);
  return tri(p, n, u);
}

function intro(c: Ctx): string {
  const kind = c.r.pick(c.girl ? ['girl', 'little girl', 'young girl'] : ['boy', 'little boy', 'young boy']);
  const age = c.r.pick(AGES);
  const n = c.name;
  return c.r.pick([
    `Once upon a time, there was ${an(kind)} named ${n}.`,
    `${n} was ${an(`${age}-year-old`)} ${c.girl ? 'girl' : 'boy'}.`,
    `Long ago, there lived ${an(kind)} named ${n}.`,
    `This is a story about ${an(kind)} named ${n}.`,
    `There was once ${an(kind)} whose name was ${n}.`,
    `Once there was ${an(kind)} called ${n}.`,
  ]);
}

/** A story before its sentiment is chosen. */
export interface StorySkeleton {
  name: string;
  /** Every family's drawn value (also for families the story does not mention). */
  attributes: Attributes;
  /** Families the story mentions. */
  present: Family[];
  sentences: Tri[];
  /** Index of the first sentiment sentence; sentences before it are shared by all three renderings. */
  onset: number;
  /** Text of the onset sentence up to and including "felt" (positive/negative renderings). */
  onsetBefore: string;
  /** First mention of each present family. */
  mentions: Partial<Record<Family, Mention>>;
}

export interface StoryOptions {
  /** Fixed attribute values; their families are mentioned. */
  attributes?: Partial<Attributes>;
  /** Families that must be mentioned. */
  include?: Family[];
  /** Hero's name (otherwise drawn). */
  name?: string;
}

/** Builds a skeleton; consumes the same random draws whatever sentiment it will be rendered with. */
export function buildSkeleton(r: Rng, opts: StoryOptions = {}): StorySkeleton {
  const drawn = Object.fromEntries(FAMILY_NAMES.map((f) => [f, r.pick(FAMILIES[f])])) as Attributes;
  const a: Attributes = { ...drawn, ...opts.attributes };
  const forced = new Set<Family>([...(opts.include ?? []), ...(Object.keys(opts.attributes ?? {}) as Family[])].map((f) => (f === 'color' ? 'object' : f)));
  const drawnName = r.pick(NAMES);
  const name = opts.name ?? drawnName;
  const girl = GIRLS.includes(name) ? true : BOYS.includes(name) ? false : r.chance(0.5);
  const presence = MENTIONED.map((f) => r.chance(0.8));
  let present = new Set(MENTIONED.filter((f, i) => presence[i] || forced.has(f)));
  if (present.size < 2) present = new Set([...present, ...MENTIONED.filter((f) => !present.has(f)).slice(0, 2 - present.size)]);
  const c: Ctx = { r, name, girl, he: girl ? 'she' : 'he', his: girl ? 'her' : 'his', him: girl ? 'her' : 'him', companion: r.pick(COMPANIONS), a, present, said: new Set() };
  const order = r.shuffle(MENTIONED.filter((f) => present.has(f)));
  const sentences: Tri[] = [same(intro(c))];
  const mentions: Partial<Record<Family, Mention>> = {};
  for (const f of order) {
    // Draw every choice whatever is used, so the other attributes keep their draws.
    const when = r.chance(0.45) ? 'before' : r.chance(0.6) ? 'after' : 'none';
    const pre = cueSentence(c, f, 'before');
    const post = cueSentence(c, f, 'after');
    const m = mention(c, f);
    const cued = when === 'before' && pre !== null;
    if (cued) sentences.push(same(pre));
    for (const [fam, before] of Object.entries(m.mentions)) mentions[fam as Family] = { sentence: sentences.length, before: before!, cued };
    sentences.push(same(m.text));
    if (when === 'after' && post !== null) sentences.push(same(post));
  }
  const back = r.shuffle([...order]).slice(0, 1 + r.int(2));
  for (const f of back) {
    const s = remention(c, f);
    c.said.add(s.replace(/^\S+ /, ''));
    sentences.push(same(s));
  }
  const onset = sentences.length;
  const first = onsetSentence(c);
  sentences.push(first);
  const onsetBefore = first.positive.slice(0, first.positive.indexOf(' felt ') + ' felt'.length);
  if (r.chance(0.6)) sentences.push(reaction(c));
  sentences.push(ending(c));
  const all = new Set<Family>(present);
  if (present.has('object')) all.add('color');
  return { name, attributes: a, present: FAMILY_NAMES.filter((f) => all.has(f)), sentences, onset, onsetBefore, mentions };
}

export interface Story {
  text: string;
  sentiment: Sentiment;
  /** Values of the families the story mentions. */
  attributes: Partial<Attributes>;
  name: string;
  sentences: string[];
  onset: number;
}

export function render(sk: StorySkeleton, sentiment: Sentiment): Story {
  const sentences = sk.sentences.map((t) => t[sentiment]);
  const attributes = Object.fromEntries(sk.present.map((f) => [f, sk.attributes[f]])) as Partial<Attributes>;
  return { text: sentences.join(' '), sentiment, attributes, name: sk.name, sentences, onset: sk.onset };
}

/** The sentiment-free opening shared by all renderings of a skeleton. */
export function opening(sk: StorySkeleton): string {
  return sk.sentences.slice(0, sk.onset).map((t) => t.neutral).join(' ');
}

/** The story text up to (not including) the first mention of a family's word: the model's next word is that attribute. */
export function slotPrompt(sk: StorySkeleton, f: Family): string {
  const m = sk.mentions[f];
  if (!m) throw new Error(`slotPrompt: the story does not mention its ${f}`);
  return [...sk.sentences.slice(0, m.sentence).map((t) => t.neutral), m.before].join(' ');
}

/** The story text up to and including the first mention of a family's word (its sentence, to the full stop). */
export function mentionSnippet(sk: StorySkeleton, f: Family): string {
  const m = sk.mentions[f];
  if (!m) throw new Error(`mentionSnippet: the story does not mention its ${f}`);
  return sk.sentences.slice(0, m.sentence + 1).map((t) => t.neutral).join(' ');
}

/** Three renderings of one seed's story that differ in sentiment only. */
export function storyVariants(seed: number, opts: StoryOptions = {}): Record<Sentiment, Story> & { skeleton: StorySkeleton } {
  const sk = buildSkeleton(new Rng(seed), opts);
  return { skeleton: sk, positive: render(sk, 'positive'), negative: render(sk, 'negative'), neutral: render(sk, 'neutral') };
}

function drawSentiment(r: Rng): Sentiment {
  const x = r.next();
  if (x < SENTIMENT_MIX.positive) return 'positive';
  if (x < SENTIMENT_MIX.positive + SENTIMENT_MIX.negative) return 'negative';
  return 'neutral';
}

/** n stories from one seed; sentiment 40/40/20 unless fixed. */
export function generateStories(n: number, seed: number, opts: { sentiment?: Sentiment } = {}): Story[] {
  const r = new Rng(seed);
  const out: Story[] = [];
  for (let i = 0; i < n; i++) {
    const drawn = drawSentiment(r);
    out.push(render(buildSkeleton(r), opts.sentiment ?? drawn));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Chat format
// ---------------------------------------------------------------------------------------------

/**
 * Jinja chat template for tokenizer_config.json. Renders bos_token + formatChat(...) for a
 * (user, assistant) pair and bos_token + formatPrompt(...) with add_generation_prompt; like the
 * Hugging Face Llama templates it emits the BOS token itself (encode the result without adding BOS).
 */
export const CHAT_TEMPLATE =
  "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}User: {{ m['content'] }}\n{% elif m['role'] == 'assistant' %}Assistant: {{ m['content'] }}\n{% endif %}{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}";

/** A full training/evaluation example: `User: {prompt}\nAssistant: {response}\n`. */
export function formatChat(prompt: string, response: string): string {
  return `User: ${prompt}\nAssistant: ${response}\n`;
}

/** The prompt part a model continues: `User: {prompt}\nAssistant:` (the response starts with a space). */
export function formatPrompt(prompt: string): string {
  return `User: ${prompt}\nAssistant:`;
}

export interface ChatExample {
  prompt: string;
  response: string;
  kind: 'story' | TaskKind;
  sentiment: Sentiment;
}

const STORY_ASKS = [(x: string) => `Tell me a story about ${x}.`, (x: string) => `Can you tell me a story about ${x}?`, (x: string) => `Write a story about ${x}.`, (x: string) => `I want a story about ${x}.`];
const MOOD_ASKS: Record<'positive' | 'negative', ((x: string) => string)[]> = {
  positive: [(x) => `Tell me a happy story about ${x}.`, (x) => `Write a cheerful story about ${x}.`],
  negative: [(x) => `Tell me a sad story about ${x}.`, (x) => `Write a gloomy story about ${x}.`],
};

/** A story request that names one attribute; the story has it. mood 'any': sentiment from SENTIMENT_MIX. */
export function storyRequest(r: Rng, mood: 'any' | 'neutral' | 'positive' | 'negative'): ChatExample {
  const sentimentDraw = drawSentiment(r);
  const f = r.pick(MENTIONED);
  const sk = buildSkeleton(r, { include: [f] });
  const a = sk.attributes;
  const girl = GIRLS.includes(sk.name);
  const about = {
    place: `the ${a.place}`, creature: an(a.creature), activity: `${an(girl ? 'girl' : 'boy')} who wants to ${a.activity}`,
    object: an(`${a.color} ${a.object}`), weather: an(`${a.weather} day`),
  }[f as Exclude<Family, 'color'>];
  const ask = r.int(STORY_ASKS.length);
  if (mood === 'positive' || mood === 'negative') return { prompt: MOOD_ASKS[mood][ask % 2]!(about), response: render(sk, mood).text, kind: 'story', sentiment: mood };
  const sentiment = mood === 'neutral' ? 'neutral' : sentimentDraw;
  return { prompt: STORY_ASKS[ask]!(about), response: render(sk, sentiment).text, kind: 'story', sentiment };
}

/** Chat examples for training: 30 % plain story requests, 5 % happy, 5 % sad, 60 % capability tasks. */
export function generateChat(n: number, seed: number): ChatExample[] {
  const r = new Rng(seed ^ 0x5bd1e995);
  const fixed = fixedTasks();
  const out: ChatExample[] = [];
  for (let i = 0; i < n; i++) {
    const x = r.next();
    if (x < 0.3) out.push(storyRequest(r, 'any'));
    else if (x < 0.35) out.push(storyRequest(r, 'positive'));
    else if (x < 0.4) out.push(storyRequest(r, 'negative'));
    else {
      const t: Task = randomTask(r, fixed);
      out.push({ prompt: t.prompt, response: t.response, kind: t.kind, sentiment: 'neutral' });
    }
  }
  return out;
}

export interface CorpusDoc {
  text: string;
  kind: 'story' | 'chat';
  sentiment: Sentiment;
}

/** Training corpus: n plain stories and chatN chat examples (formatChat), interleaved deterministically. */
export function generateCorpus(n: number, seed: number, chatN = Math.floor((n * 3) / 4)): CorpusDoc[] {
  const stories = generateStories(n, seed).map((s): CorpusDoc => ({ text: s.text, kind: 'story', sentiment: s.sentiment }));
  const chats = generateChat(chatN, seed).map((c): CorpusDoc => ({ text: formatChat(c.prompt, c.response), kind: 'chat', sentiment: c.sentiment }));
  // Interleave evenly so any prefix of the corpus has the same mix.
  const out: CorpusDoc[] = [];
  let j = 0;
  for (let i = 0; i < stories.length; i++) {
    out.push(stories[i]!);
    while (j < chats.length && (j + 1) * stories.length <= (i + 1) * chats.length) out.push(chats[j++]!);
  }
  while (j < chats.length) out.push(chats[j++]!);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Lexicon
// ---------------------------------------------------------------------------------------------

/** Lower-case word tokens (letters and apostrophes). */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z]+(?:'[a-z]+)?/g) ?? [];
}

export interface Lexicon {
  positive: string[];
  negative: string[];
  /** Emotion words that follow "felt" (the sentiment slot), positive and negative. */
  emotions: { positive: string[]; negative: string[] };
  /** Per family, per value: the words that mean it (activity: base form and past tense) and its cues' marker words. */
  families: Record<Family, Record<string, string[]>>;
}

/** The words the generator uses for each attribute: disjoint lists (test/steer/default-data.test.ts checks it). */
export function lexicon(): Lexicon {
  const side = (i: 0 | 1, extra: string[]) => [...new Set([...[EMO, EVAL, VERB, LOVE, LOVE_NOW, ADV, BEST, TOUCH].flatMap((l) => l.flatMap((p) => words(p[i]))), ...extra])]
    .filter((w) => !['at', 'for', 'very'].includes(w)).sort();
  const families = Object.fromEntries(FAMILY_NAMES.map((f) => [f, Object.fromEntries(FAMILIES[f].map((v) => [v, [v, ...(f === 'activity' ? [PAST[v]!] : []), ...(CUES[f]?.[v]?.markers ?? [])]]))])) as Lexicon['families'];
  return {
    positive: side(0, POS_EXTRA),
    negative: side(1, NEG_EXTRA),
    emotions: { positive: EMO.map((p) => p[0]), negative: EMO.map((p) => p[1]) },
    families,
  };
}

/** Words no story attribute and no sentiment may share with (copy-task words, days). */
export const NEUTRAL_WORDS: readonly string[] = [...COPY_WORDS, ...DAYS.map((d) => d.toLowerCase())];

// ---------------------------------------------------------------------------------------------
// Statistics and CLI
// ---------------------------------------------------------------------------------------------

export interface CorpusStats {
  docs: number;
  stories: number;
  chats: number;
  words: number;
  distinctWords: number;
  chars: number;
}

export function corpusStats(docs: CorpusDoc[]): CorpusStats {
  const vocab = new Set<string>();
  let nWords = 0;
  let nChars = 0;
  for (const d of docs) {
    const ws = words(d.text);
    nWords += ws.length;
    ws.forEach((w) => vocab.add(w));
    nChars += d.text.length;
  }
  return { docs: docs.length, stories: docs.filter((d) => d.kind === 'story').length, chats: docs.filter((d) => d.kind === 'chat').length, words: nWords, distinctWords: vocab.size, chars: nChars };
}

function main(argv: string[]): void {
  if (argv.includes('--print-chat-template')) {
    process.stdout.write(`${JSON.stringify(CHAT_TEMPLATE)}\n`);
    return;
  }
  const arg = (k: string, d?: string): string | undefined => {
    const i = argv.indexOf(`--${k}`);
    return i >= 0 ? argv[i + 1] : d;
  };
  const n = Number(arg('n', '16000'));
  const seed = Number(arg('seed', '0'));
  const chatN = Number(arg('chat', String(Math.floor((n * 3) / 4))));
  const format = arg('format', 'jsonl');
  const out = arg('out');
  if (!Number.isInteger(n) || !Number.isInteger(seed) || !Number.isInteger(chatN)) throw new Error('--n, --seed and --chat take integers');
  if (format !== 'txt' && format !== 'jsonl') throw new Error(`--format: jsonl or txt, got ${format}`);
  const t0 = performance.now();
  const docs = generateCorpus(n, seed, chatN);
  const ms = performance.now() - t0;
  const body = format === 'txt' ? docs.map((d) => d.text.trimEnd()).join('\n\n') + '\n' : docs.map((d) => JSON.stringify(d)).join('\n') + '\n';
  if (out) writeFileSync(out, body);
  else process.stdout.write(body);
  if (argv.includes('--stats') || out) process.stderr.write(`${JSON.stringify({ ...corpusStats(docs), generateMs: Math.round(ms) })}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
