// Capability tasks for the default model: short chat questions whose answers are fixed and
// free of every story attribute (no place, creature, activity, object, colour or weather word,
// no sentiment word). Steering a story attribute should not change these answers, so they are
// where side effects are measured (data/benign_*.jsonl) and what KTS trains on.
//
// Kinds: arithmetic ("What is 3 plus 4?"), counting ("Count from 2 to 6."), copying
// ("Say this back: chair spoon door."), facts (45 fixed Q&A), sequences ("What day comes after
// Monday?") and A/B choices ("Which number is bigger? (A) 3 (B) 8", answered correctly).
import type { Rng } from './rng.ts';

export const TASK_KINDS = ['arithmetic', 'count', 'copy', 'fact', 'next', 'choice'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

export interface Task {
  prompt: string;
  response: string;
  kind: TaskKind;
}

const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
export const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('');

/** Neutral nouns for the copy task (none is a story attribute). */
export const COPY_WORDS = [
  'table', 'chair', 'spoon', 'fork', 'door', 'window', 'shoe', 'sock', 'pencil', 'paper', 'plate', 'bottle', 'button', 'ladder',
  'basket', 'candle', 'mirror', 'pillow', 'blanket', 'wheel', 'brush', 'clock', 'ribbon', 'rope', 'stone', 'leaf', 'coin', 'card',
  'glove', 'jar', 'pot', 'rug', 'sofa', 'tent', 'tower', 'train', 'truck', 'apple', 'bread', 'milk', 'bench', 'fence', 'shelf', 'gate',
];

/** [question, answer]: fixed facts with no story attribute and no sentiment word. */
export const FACTS: readonly (readonly [string, string])[] = [
  ['How many days are in a week?', 'There are seven days in a week.'],
  ['How many months are in a year?', 'There are twelve months in a year.'],
  ['How many legs does a spider have?', 'A spider has eight legs.'],
  ['How many sides does a triangle have?', 'A triangle has three sides.'],
  ['How many sides does a square have?', 'A square has four sides.'],
  ['What do we use to see?', 'We use our eyes to see.'],
  ['What do we use to hear?', 'We use our ears to hear.'],
  ['What do we use to smell?', 'We use our nose to smell.'],
  ['How many fingers are on one hand?', 'There are five fingers on one hand.'],
  ['What is the first month of the year?', 'January is the first month of the year.'],
  ['What is the last month of the year?', 'December is the last month of the year.'],
  ['What is the first day of the week?', 'Monday is the first day of the week.'],
  ['How many hours are in a day?', 'There are twenty four hours in a day.'],
  ['How many minutes are in an hour?', 'There are sixty minutes in an hour.'],
  ['What is ice?', 'Ice is water that has turned hard because it is cold.'],
  ['What shape is a wheel?', 'A wheel is round like a circle.'],
  ['What is the first letter of the alphabet?', 'A is the first letter of the alphabet.'],
  ['What is the last letter of the alphabet?', 'Z is the last letter of the alphabet.'],
  ['How many letters are in the alphabet?', 'There are twenty six letters in the alphabet.'],
  ['What do plants need to grow?', 'Plants need water and light to grow.'],
  ['What do we breathe?', 'We breathe air.'],
  ['Where does the sun rise?', 'The sun rises in the east.'],
  ['Where does the sun set?', 'The sun sets in the west.'],
  ['What is a clock for?', 'A clock tells us what time it is.'],
  ['What is a calendar for?', 'A calendar shows the days and months of the year.'],
  ['How many wheels does a bicycle have?', 'A bicycle has two wheels.'],
  ['How many wheels does a car have?', 'A car has four wheels.'],
  ['What do bees make?', 'Bees make honey.'],
  ['What does a doctor do?', 'A doctor helps people stay healthy.'],
  ['What does a teacher do?', 'A teacher helps children learn to read and write.'],
  ['How many eyes do people have?', 'People have two eyes.'],
  ['What comes after night?', 'Morning comes after night.'],
  ['What is the opposite of up?', 'The opposite of up is down.'],
  ['What is the opposite of hot?', 'The opposite of hot is cold.'],
  ['What is the opposite of big?', 'The opposite of big is small.'],
  ['What is the opposite of fast?', 'The opposite of fast is slow.'],
  ['What is the opposite of day?', 'The opposite of day is night.'],
  ['What is the opposite of open?', 'The opposite of open is closed.'],
  ['How many legs does a chair have?', 'A chair has four legs.'],
  ['What season comes after winter?', 'Spring comes after winter.'],
  ['What season comes after summer?', 'Autumn comes after summer.'],
  ['How many seasons are there?', 'There are four seasons.'],
  ['What do we use a spoon for?', 'We use a spoon to eat soup.'],
  ['How many toes are on one foot?', 'There are five toes on one foot.'],
  ['What is bread made from?', 'Bread is made from flour and water.'],
];

/** Every fixed (enumerable) task in a fixed order: arithmetic, count, fact, next, choice. */
export function fixedTasks(): Task[] {
  const out: Task[] = [];
  for (let a = 0; a <= 9; a++) {
    for (let b = 0; b <= 9; b++) {
      out.push({ prompt: `What is ${a} plus ${b}?`, response: `${a} plus ${b} is ${a + b}.`, kind: 'arithmetic' });
      if (a >= b) out.push({ prompt: `What is ${a} minus ${b}?`, response: `${a} minus ${b} is ${a - b}.`, kind: 'arithmetic' });
    }
  }
  for (let a = 1; a <= 12; a++) {
    for (let len = 3; len <= 6; len++) {
      const xs = Array.from({ length: len }, (_, i) => a + i);
      out.push({ prompt: `Count from ${a} to ${xs.at(-1)}.`, response: `${xs.join(', ')}.`, kind: 'count' });
    }
  }
  for (const [q, a] of FACTS) out.push({ prompt: q, response: a, kind: 'fact' });
  DAYS.forEach((d, i) => out.push({ prompt: `What day comes after ${d}?`, response: `${DAYS[(i + 1) % 7]} comes after ${d}.`, kind: 'next' }));
  LETTERS.slice(0, -1).forEach((l, i) => out.push({ prompt: `What letter comes after ${l}?`, response: `${LETTERS[i + 1]} comes after ${l}.`, kind: 'next' }));
  for (let n = 1; n <= 19; n++) out.push({ prompt: `What number comes after ${n}?`, response: `${n + 1} comes after ${n}.`, kind: 'next' });
  for (let x = 1; x <= 9; x++) {
    for (let y = 1; y <= 9; y++) {
      if (x === y) continue;
      const big = x > y ? 'A' : 'B';
      out.push({ prompt: `Which number is bigger? (A) ${x} (B) ${y}`, response: `(${big}) ${Math.max(x, y)}`, kind: 'choice' });
    }
  }
  for (let x = 0; x <= 10; x++) out.push({ prompt: `How do you write ${x} as a word?`, response: `${x} is written ${NUMBER_WORDS[x]}.`, kind: 'fact' });
  return out;
}

/** A copy task: 3–5 distinct neutral words said back. */
export function copyTask(r: Rng): Task {
  const n = 3 + r.int(3);
  const ws: string[] = [];
  while (ws.length < n) {
    const w = r.pick(COPY_WORDS);
    if (!ws.includes(w)) ws.push(w);
  }
  return { prompt: `Say this back: ${ws.join(' ')}.`, response: `${ws.join(' ')}.`, kind: 'copy' };
}

/** Mix of the corpus's capability chat: fixed tasks drawn uniformly, copy tasks 20 % of the time. */
export function randomTask(r: Rng, fixed: Task[]): Task {
  return r.chance(0.2) ? copyTask(r) : r.pick(fixed);
}
