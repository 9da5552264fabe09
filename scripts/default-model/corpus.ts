// Seeded, deterministic generator of short children's stories (TinyStories-like) with
// controllable attributes, for the project's own default Llama (see README.md next to this file).
//
//   sentiment: positive | negative | neutral. A story starts with a sentiment-free opening; from
//              its "onset" sentence on, EVERY sentence carries the story's sentiment (positive
//              stories use only positive lexicon words, negative only negative, neutral none), so a
//              model learns that once a story is sad, the rest stays sad.
//   topic:     sea | space | animals | food | school (places, things, creatures, activities, events).
//
// Every random draw is made before the sentiment is applied: a story is built as a list of
// (positive, negative, neutral) sentence triples and rendered at the end. The same seed thus
// gives three stories that differ in sentiment only (minimal pairs), see storyVariants().
//
// CLI: node --import tsx scripts/default-model/corpus.ts --n 20000 --seed 0 --out corpus.jsonl
//      [--chat <count, default n/4>] [--format jsonl|txt] [--stats]
//      node --import tsx scripts/default-model/corpus.ts --print-chat-template   (JSON string)
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

// ---------------------------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------------------------

/** mulberry32: small, fast, 32-bit state; same seed → same stream on every platform. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed >>> 0) ^ 0x9e3779b9;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from empty list');
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** Two different elements. */
  pick2<T>(xs: readonly T[]): [T, T] {
    const i = this.int(xs.length);
    const j = (i + 1 + this.int(xs.length - 1)) % xs.length;
    return [xs[i]!, xs[j]!];
  }
}

// ---------------------------------------------------------------------------------------------
// Attributes and word pools
// ---------------------------------------------------------------------------------------------

export const SENTIMENTS = ['positive', 'negative', 'neutral'] as const;
export type Sentiment = (typeof SENTIMENTS)[number];
export const TOPICS = ['sea', 'space', 'animals', 'food', 'school'] as const;
export type Topic = (typeof TOPICS)[number];

/** Sentiment mix of plain stories (and of chat stories whose prompt names no mood). */
export const SENTIMENT_MIX: Record<Sentiment, number> = { positive: 0.4, negative: 0.4, neutral: 0.2 };

/** (positive, negative) word pairs, aligned so that swapping one for the other keeps the grammar. */
type Pair = readonly [string, string];
const EMO: readonly Pair[] = [
  ['happy', 'sad'], ['glad', 'upset'], ['joyful', 'miserable'], ['cheerful', 'gloomy'], ['delighted', 'unhappy'],
  ['excited', 'scared'], ['proud', 'ashamed'], ['thankful', 'angry'], ['merry', 'lonely'], ['pleased', 'worried'],
  ['calm and happy', 'afraid'], ['jolly', 'grumpy'],
];
const EVAL: readonly Pair[] = [
  ['wonderful', 'terrible'], ['lovely', 'awful'], ['beautiful', 'horrible'], ['great', 'bad'], ['amazing', 'dreadful'],
  ['fantastic', 'nasty'], ['perfect', 'rotten'], ['brilliant', 'dismal'], ['marvelous', 'horrid'], ['delightful', 'disgusting'],
  ['magical', 'miserable'], ['good', 'gloomy'],
];
/** Past tense, intransitive. */
const VERB: readonly Pair[] = [
  ['laughed', 'cried'], ['smiled', 'frowned'], ['giggled', 'sobbed'], ['cheered', 'screamed'], ['grinned', 'sighed'],
  ['danced', 'sulked'], ['clapped', 'wept'], ['sang', 'whimpered'],
];
/** Base form (after "began to"). */
const VERB_BASE: readonly Pair[] = [
  ['laugh', 'cry'], ['smile', 'frown'], ['giggle', 'sob'], ['cheer', 'scream'], ['sing', 'whimper'], ['dance', 'sulk'],
];
const LOVE: readonly Pair[] = [['loved', 'hated'], ['adored', 'disliked'], ['enjoyed', 'feared'], ['liked', 'dreaded']];
const NOUN: readonly Pair[] = [['joy', 'sorrow'], ['delight', 'fear'], ['love', 'anger'], ['hope', 'worry'], ['happiness', 'sadness']];
const ADV: readonly Pair[] = [
  ['happily', 'sadly'], ['gladly', 'angrily'], ['joyfully', 'miserably'], ['cheerfully', 'gloomily'], ['proudly', 'fearfully'],
];
const BEST: readonly Pair[] = [['best', 'worst'], ['happiest', 'saddest'], ['nicest', 'scariest']];
const TOUCH: readonly Pair[] = [['hugged', 'shouted at'], ['smiled at', 'yelled at'], ['cheered for', 'frowned at'], ['kissed', 'scolded']];
/** Words of sentiment-bearing events and phrases that are themselves clear markers. */
const POS_EXTRA = ['won', 'prize', 'delicious', 'yummy', 'tasty', 'friendly', 'fun', 'wish', 'gift', 'playfully', 'sunny', 'shared'];
const NEG_EXTRA = ['lost', 'broke', 'break', 'crashed', 'hurt', 'ruin', 'burned', 'spilled', 'stung', 'bitten', 'pinched', 'sick', 'ache', 'fight', 'argued', 'tore', 'trouble', 'alone', 'thunder', 'mud', 'tripped'];
/** Present tense for quotes ("I love this shell!"). */
const LOVE_NOW: readonly Pair[] = [['love', 'hate'], ['adore', 'dislike'], ['enjoy', 'dread']];

const GIRLS = ['Lily', 'Mia', 'Sara', 'Emma', 'Anna', 'Lucy', 'Zoe', 'Ella', 'Ruby', 'Amy', 'Kate', 'Nora', 'Maya', 'Sophie', 'Rosa', 'Jade', 'Chloe', 'Hannah', 'Ivy', 'Tara', 'Molly', 'Elsa', 'Lena', 'Bella'];
const BOYS = ['Tom', 'Ben', 'Sam', 'Max', 'Leo', 'Jack', 'Tim', 'Noah', 'Finn', 'Jake', 'Oscar', 'Eli', 'Dan', 'Luke', 'Adam', 'Theo', 'Owen', 'Hugo', 'Milo', 'Kai', 'Ravi', 'Omar', 'Pablo', 'Ned'];
export const NAMES: readonly string[] = [...GIRLS, ...BOYS];
const COMPANIONS = ['mom', 'dad', 'grandma', 'grandpa', 'sister', 'brother', 'aunt', 'uncle', 'cousin', 'friend', 'neighbor'];
const AGES = ['four', 'five', 'six', 'seven', 'eight', 'nine'];
const NUMBERS = ['two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'twelve'];
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const TIMES = ['morning', 'afternoon', 'evening', 'summer day', 'winter day', 'spring morning', 'autumn afternoon', 'rainy day', 'windy day'];
const VERY = ['very', 'so', 'really', 'truly', 'quite'];

interface TopicData {
  /** "Tell me a story about ___." */
  prompts: string[];
  homes: string[];
  places: string[];
  /** [singular, plural] */
  things: [string, string][];
  creatures: [string, string][];
  /** [base form, past tense] */
  activities: [string, string][];
  adjs: string[];
  scenery: string[];
  /** [positive, negative] verb phrases in the past tense; {his} {him} {he} are the hero's pronouns. */
  events: [string, string][];
  /** [question, answer] */
  facts: [string, string][];
}

const TOPIC_DATA: Record<Topic, TopicData> = {
  sea: {
    prompts: ['the sea', 'the ocean', 'the beach', 'a boat', 'a dolphin', 'a little crab', 'a lighthouse', 'a whale'],
    homes: ['in a small house by the sea', 'in a town near the ocean', 'on a little island', 'next to a quiet harbor', 'in a blue cottage by the beach'],
    places: ['the beach', 'the harbor', 'the shore', 'the pier', 'the rock pools', 'the lighthouse', 'the bay', 'the dunes'],
    things: [['shell', 'shells'], ['boat', 'boats'], ['pearl', 'pearls'], ['bucket', 'buckets'], ['fishing net', 'fishing nets'], ['sandcastle', 'sandcastles'], ['pebble', 'pebbles'], ['anchor', 'anchors'], ['surfboard', 'surfboards']],
    creatures: [['crab', 'crabs'], ['dolphin', 'dolphins'], ['seagull', 'seagulls'], ['whale', 'whales'], ['turtle', 'turtles'], ['seal', 'seals'], ['octopus', 'octopuses'], ['starfish', 'starfish'], ['jellyfish', 'jellyfish'], ['fish', 'fish']],
    activities: [
      ['swim in the waves', 'swam in the waves'], ['build a sandcastle', 'built a sandcastle'], ['look for shells', 'looked for shells'],
      ['sail a little boat', 'sailed a little boat'], ['catch fish with a net', 'caught fish with a net'], ['walk along the shore', 'walked along the shore'],
      ['dig in the wet sand', 'dug in the wet sand'], ['watch the tide come in', 'watched the tide come in'], ['splash in the water', 'splashed in the water'],
      ['fish from the pier', 'fished from the pier'], ['paddle a canoe', 'paddled a canoe'], ['surf on the waves', 'surfed on the waves'],
    ],
    adjs: ['shiny', 'smooth', 'sandy', 'salty', 'striped', 'wet', 'speckled'],
    scenery: [
      'The waves rolled onto the sand.', 'Seagulls flew over the water.', 'The tide was going out.', 'Boats rocked gently in the harbor.',
      'The wind smelled of salt and seaweed.', 'Little crabs ran across the wet sand.', 'The lighthouse stood tall on the rocks.', 'The ocean stretched far away.',
    ],
    events: [
      ['found a shiny pearl inside a shell', 'cut {his} foot on a sharp shell'],
      ['saw a dolphin jump playfully out of the water', 'got stung by a jellyfish'],
      ['caught a big fish with {his} net', 'lost {his} bucket in the waves'],
      ['built the tallest sandcastle on the beach', 'watched a wave knock down {his} sandcastle'],
      ['sailed a little boat across the bay', 'fell off the pier into the cold water'],
      ['met a friendly seal on the rocks', 'got pinched by a crab'],
      ['surfed on a big wave all the way to the shore', 'got salty water in {his} eyes'],
    ],
    facts: [
      ['What is a dolphin?', 'A dolphin is a smart animal that lives in the sea. It swims very fast and breathes air.'],
      ['Why is the sea salty?', 'The sea is salty because rivers carry tiny bits of salt into it for a very long time.'],
      ['What do crabs eat?', 'Crabs eat small plants and tiny animals that they find on the sand.'],
      ['What is a lighthouse?', 'A lighthouse is a tall tower with a strong light. It helps boats find their way at night.'],
      ['What is the tide?', 'The tide is when the sea moves up and down the beach two times every day.'],
      ['How do fish breathe?', 'Fish breathe with gills. The gills take air out of the water.'],
      ['What is a whale?', 'A whale is the biggest animal in the sea. It comes up to the top of the water to breathe.'],
      ['Where do seashells come from?', 'Seashells are the homes of small sea animals. When the animals move out, the shells wash up on the beach.'],
      ['What is a starfish?', 'A starfish is a sea animal with five arms. It lives on rocks at the bottom of the sea.'],
      ['What is a boat?', 'A boat floats on the water and carries people across the sea.'],
    ],
  },
  space: {
    prompts: ['space', 'the moon', 'the stars', 'a rocket', 'an astronaut', 'a planet', 'a comet', 'a space station'],
    homes: ['in a town with a big observatory', 'in a house with a telescope on the roof', 'on a space station far above the earth', 'near a rocket launch site', 'in a tall tower under the stars'],
    places: ['the observatory', 'the rocket', 'the space station', 'the moon', 'the launch pad', 'the planetarium', 'the crater', 'mission control'],
    things: [['telescope', 'telescopes'], ['rocket', 'rockets'], ['star', 'stars'], ['planet', 'planets'], ['space helmet', 'space helmets'], ['spaceship', 'spaceships'], ['comet', 'comets'], ['satellite', 'satellites'], ['moon rock', 'moon rocks']],
    creatures: [['alien', 'aliens'], ['robot', 'robots'], ['astronaut', 'astronauts'], ['space explorer', 'space explorers'], ['scientist', 'scientists']],
    activities: [
      ['look at the stars through a telescope', 'looked at the stars through a telescope'], ['build a model rocket', 'built a model rocket'],
      ['count the stars', 'counted the stars'], ['fly a rocket to the moon', 'flew a rocket to the moon'], ['float in the space station', 'floated in the space station'],
      ['draw the planets', 'drew the planets'], ['watch for comets', 'watched for comets'], ['put on a space suit', 'put on a space suit'],
      ['walk on the moon', 'walked on the moon'], ['learn the names of the planets', 'learned the names of the planets'], ['collect moon rocks', 'collected moon rocks'],
    ],
    adjs: ['silver', 'glowing', 'round', 'huge', 'distant', 'metal'],
    scenery: [
      'The stars twinkled in the dark sky.', 'The moon was big and round.', 'A comet flew across the sky.', 'The rocket stood tall on the launch pad.',
      'Far away, the planets turned slowly.', 'The earth looked small and blue from up there.', 'The space station hummed quietly.', 'There was no air on the moon.',
    ],
    events: [
      ['saw a shooting star and made a wish', 'dropped {his} telescope and broke it'],
      ['flew the rocket all the way to the moon', 'crashed the rocket into a big rock'],
      ['met a friendly alien with three eyes', 'got lost in a dark crater'],
      ['won a prize for {his} model rocket', 'watched {his} model rocket fall apart'],
      ['found a new planet with {his} telescope', 'could not see a single star because of the clouds'],
      ['floated and did flips in the space station', 'bumped {his} head and hurt it in the space station'],
      ['got a shiny space helmet as a gift', 'tore {his} space suit on a sharp rock'],
    ],
    facts: [
      ['What is the moon?', 'The moon is a big ball of rock that goes around the earth. We see it in the sky at night.'],
      ['What is a star?', 'A star is a huge ball of hot gas. It is so far away that it looks like a tiny dot of light.'],
      ['What is a planet?', 'A planet is a big round world that moves around a star. The earth is a planet.'],
      ['What does an astronaut do?', 'An astronaut flies into space in a rocket and works on a space station.'],
      ['What is a rocket?', 'A rocket is a machine that flies very fast and can carry people into space.'],
      ['Why do stars twinkle?', 'Stars twinkle because the air around the earth moves and bends their light.'],
      ['What is a comet?', 'A comet is a ball of ice and dust that flies through space with a long tail.'],
      ['How many planets go around the sun?', 'Eight planets go around the sun. The earth is the third one.'],
      ['What is a telescope?', 'A telescope is a tube with glass inside. It makes things that are far away look bigger.'],
      ['Why do astronauts float?', 'Astronauts float in the space station because everything inside is falling around the earth together.'],
    ],
  },
  animals: {
    prompts: ['a dog', 'a cat', 'a farm', 'a little rabbit', 'animals', 'a horse', 'an owl', 'a puppy'],
    homes: ['on a farm', 'in a cottage near the woods', 'in a village with many farms', 'in a little house next to a field', 'at the edge of a big forest'],
    places: ['the farm', 'the barn', 'the field', 'the woods', 'the pond', 'the meadow', 'the stable', 'the henhouse'],
    things: [['leash', 'leashes'], ['collar', 'collars'], ['feather', 'feathers'], ['bird nest', 'bird nests'], ['bone', 'bones'], ['saddle', 'saddles'], ['kennel', 'kennels'], ['horseshoe', 'horseshoes']],
    creatures: [
      ['dog', 'dogs'], ['cat', 'cats'], ['puppy', 'puppies'], ['kitten', 'kittens'], ['rabbit', 'rabbits'], ['horse', 'horses'], ['cow', 'cows'],
      ['pig', 'pigs'], ['sheep', 'sheep'], ['duck', 'ducks'], ['hen', 'hens'], ['goat', 'goats'], ['fox', 'foxes'], ['owl', 'owls'],
      ['squirrel', 'squirrels'], ['frog', 'frogs'], ['mouse', 'mice'], ['deer', 'deer'], ['pony', 'ponies'], ['hedgehog', 'hedgehogs'],
    ],
    activities: [
      ['feed the hens', 'fed the hens'], ['walk the dog', 'walked the dog'], ['brush the pony', 'brushed the pony'], ['milk the cow', 'milked the cow'],
      ['look for bird nests', 'looked for bird nests'], ['throw a stick for the puppy', 'threw a stick for the puppy'], ['chase the ducks by the pond', 'chased the ducks by the pond'],
      ['ride a horse across the field', 'rode a horse across the field'], ['count the sheep', 'counted the sheep'], ['watch the frogs jump', 'watched the frogs jump'],
      ['give hay to the goats', 'gave hay to the goats'], ['follow the rabbit tracks', 'followed the rabbit tracks'],
    ],
    adjs: ['fluffy', 'furry', 'spotted', 'brown', 'tiny', 'muddy'],
    scenery: [
      'The cows ate grass in the field.', 'A dog barked at the gate.', 'The ducks swam across the pond.', 'An owl hooted in the tall tree.',
      'The hens pecked at the ground.', 'A squirrel ran up a tree.', 'The sheep stood together in the meadow.', 'The horses waited in the stable.',
    ],
    events: [
      ['watched a baby goat take its first steps', 'got bitten by a goose'],
      ['rode the pony all around the field', 'fell off the pony into the mud'],
      ['saw a mother duck with six little ducklings', 'saw a fox chase the little ducklings'],
      ['taught the puppy a new trick', 'found that the puppy had run away'],
      ['got a fluffy kitten as a gift', 'watched the kitten get sick'],
      ['held a tiny baby chick in {his} hands', 'stepped on a thorn in the barn'],
      ['found a hedgehog sleeping under the leaves', 'saw the horse kick the fence and break it'],
    ],
    facts: [
      ['What does a cow give us?', 'A cow gives us milk. Farmers milk cows every morning.'],
      ['Where do rabbits live?', 'Rabbits live in holes under the ground called burrows.'],
      ['What do owls eat?', 'Owls eat mice and other small animals. They hunt at night.'],
      ['Why do dogs wag their tails?', 'Dogs wag their tails to show how they feel and to talk to other dogs.'],
      ['What is a foal?', 'A foal is a baby horse. It can stand up soon after it is born.'],
      ['How do frogs grow?', 'Frogs start as eggs in a pond. The eggs turn into tadpoles, and the tadpoles grow legs.'],
      ['What sound does a duck make?', 'A duck says quack. Ducks live near ponds and rivers.'],
      ['What do sheep give us?', 'Sheep give us wool. The wool is cut off in summer and made into warm clothes.'],
      ['What do horses eat?', 'Horses eat grass and hay. They also drink a lot of water.'],
      ['What is a nest?', 'A nest is a home that a bird builds with twigs and grass to keep its eggs safe.'],
    ],
  },
  food: {
    prompts: ['food', 'baking a cake', 'cooking dinner', 'a picnic', 'an apple pie', 'pancakes', 'a bakery', 'soup'],
    homes: ['above a little bakery', 'in a house with a big kitchen', 'next to a busy market', 'in a village full of orchards', 'behind a small cafe'],
    places: ['the kitchen', 'the bakery', 'the market', 'the orchard', 'the picnic blanket', 'the cafe', 'the vegetable patch', 'the pantry'],
    things: [['cake', 'cakes'], ['pie', 'pies'], ['cookie', 'cookies'], ['apple', 'apples'], ['pancake', 'pancakes'], ['sandwich', 'sandwiches'], ['carrot', 'carrots'], ['mixing bowl', 'mixing bowls'], ['loaf of bread', 'loaves of bread'], ['muffin', 'muffins']],
    creatures: [['baker', 'bakers'], ['cook', 'cooks'], ['grocer', 'grocers'], ['waiter', 'waiters'], ['chef', 'chefs'], ['fruit seller', 'fruit sellers']],
    activities: [
      ['bake a cake', 'baked a cake'], ['make pancakes', 'made pancakes'], ['pick apples', 'picked apples'], ['cook soup', 'cooked soup'],
      ['make sandwiches for a picnic', 'made sandwiches for a picnic'], ['stir the soup with a big spoon', 'stirred the soup with a big spoon'],
      ['buy bread at the market', 'bought bread at the market'], ['mix flour and eggs', 'mixed flour and eggs'], ['wash the vegetables', 'washed the vegetables'],
      ['chop the carrots', 'chopped the carrots'], ['roll out the dough', 'rolled out the dough'], ['squeeze oranges for juice', 'squeezed oranges for juice'],
    ],
    adjs: ['warm', 'crunchy', 'juicy', 'fresh', 'sticky', 'sugary'],
    scenery: [
      'The oven was warm.', 'Bread was cooling on the table.', 'The market was full of fruit and vegetables.', 'A pot of soup bubbled on the stove.',
      'Apples hung from the trees in the orchard.', 'The kitchen smelled of cinnamon.', 'Flour covered the table.', 'Jars of jam stood on the shelf.',
    ],
    events: [
      ['baked the most delicious cake', 'burned the cake in the oven'],
      ['won a prize for {his} apple pie', 'dropped all the pancakes on the floor'],
      ['picked the biggest apple in the orchard', 'found a worm in {his} apple'],
      ['shared a picnic with everyone', 'watched the rain ruin the picnic'],
      ['tasted the yummy soup', 'spilled hot soup on {his} hand'],
      ['got a big slice of pie', 'got a tummy ache from too much pie'],
      ['made tasty pancakes with honey', 'broke the big mixing bowl'],
    ],
    facts: [
      ['What is bread made of?', 'Bread is made of flour, water, salt, and yeast. It is baked in an oven.'],
      ['Where do apples come from?', 'Apples grow on apple trees. People pick them in autumn.'],
      ['What is a pancake?', 'A pancake is a flat round cake made of flour, eggs, and milk, cooked in a pan.'],
      ['Why do we cook food?', 'We cook food to make it soft and warm and to make it safe to eat.'],
      ['What is soup?', 'Soup is a hot meal made by cooking vegetables or meat in water.'],
      ['What does a baker do?', 'A baker makes bread, cakes, and cookies. Bakers start work very early in the morning.'],
      ['Where does honey come from?', 'Honey is made by bees. They make it from the juice of flowers.'],
      ['What is a picnic?', 'A picnic is a meal that people eat outside, often on a blanket in a park.'],
      ['What are carrots?', 'Carrots are orange vegetables that grow under the ground.'],
      ['What is cheese made of?', 'Cheese is made of milk. The milk is left to turn thick and firm.'],
    ],
  },
  school: {
    prompts: ['school', 'a teacher', 'a classroom', 'a spelling test', 'the first day of school', 'a school trip', 'the library', 'homework'],
    homes: ['in a house across from the school', 'in a small town with one school', 'on a street near the school', 'in a flat above a bookshop', 'next to the school playground'],
    places: ['the school', 'the classroom', 'the playground', 'the library', 'the art room', 'the gym', 'the school bus', 'the music room'],
    things: [['book', 'books'], ['pencil', 'pencils'], ['crayon', 'crayons'], ['desk', 'desks'], ['notebook', 'notebooks'], ['backpack', 'backpacks'], ['ruler', 'rulers'], ['globe', 'globes'], ['painting', 'paintings'], ['eraser', 'erasers']],
    creatures: [['teacher', 'teachers'], ['classmate', 'classmates'], ['student', 'students'], ['librarian', 'librarians'], ['coach', 'coaches'], ['principal', 'principals']],
    activities: [
      ['read a book', 'read a book'], ['paint a picture', 'painted a picture'], ['learn to spell new words', 'learned to spell new words'],
      ['play on the swings', 'played on the swings'], ['count to one hundred', 'counted to one hundred'], ['write a story', 'wrote a story'],
      ['practice math sums', 'practiced math sums'], ['draw with crayons', 'drew with crayons'], ['build a tower of blocks', 'built a tower of blocks'],
      ['study the map of the world', 'studied the map of the world'], ['do homework', 'did homework'], ['learn the alphabet', 'learned the alphabet'],
    ],
    adjs: ['new', 'yellow', 'sharp', 'thick', 'colorful', 'wooden'],
    scenery: [
      'The bell rang for class.', 'Children ran around the playground.', 'The teacher wrote on the board.', 'Books stood in neat rows in the library.',
      'Desks were lined up in the classroom.', 'The school bus stopped at the gate.', 'Pictures hung on the classroom wall.', 'The class sat down for a lesson.',
    ],
    events: [
      ['got a gold star from the teacher', 'got a low mark on the spelling test'],
      ['made a new friend in class', 'had to sit alone at lunch'],
      ['won the spelling contest', 'forgot {his} homework at home'],
      ['scored a goal in the gym', 'tripped and hurt {his} knee on the playground'],
      ['read {his} story to the whole class', 'tore {his} painting by accident'],
      ['got to ring the school bell', 'got in trouble for talking in class'],
      ['painted the nicest picture in the art room', 'spilled paint all over {his} desk'],
    ],
    facts: [
      ['What is a library?', 'A library is a place with many books. You can borrow a book and take it home.'],
      ['What does a teacher do?', 'A teacher helps children learn to read, write, and count.'],
      ['Why do we go to school?', 'We go to school to learn new things and to meet other children.'],
      ['What is a map?', 'A map is a picture of a place seen from above. It shows roads, rivers, and towns.'],
      ['What is a pencil made of?', 'A pencil is made of wood with a thin stick of graphite inside.'],
      ['What is a ruler for?', 'A ruler is used to draw straight lines and to measure how long things are.'],
      ['What is homework?', 'Homework is work that a teacher gives children to do at home.'],
      ['What is the alphabet?', 'The alphabet is the list of letters we use to write words. It starts with A, B, and C.'],
      ['What is a globe?', 'A globe is a round model of the earth. It shows the land and the oceans.'],
      ['What is a crayon?', 'A crayon is a stick of colored wax that children use to draw.'],
    ],
  },
};

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

interface Hero {
  name: string;
  girl: boolean;
}

interface Ctx {
  r: Rng;
  topic: Topic;
  t: TopicData;
  hero: Hero;
  he: string;
  his: string;
  him: string;
  companion: string;
  friend: string;
  place: string;
  thing: [string, string];
  creature: [string, string];
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const an = (w: string): string => (/^[aeiou]/i.test(w) ? `an ${w}` : `a ${w}`);
const fill = (c: Ctx, s: string): string => s.replaceAll('{his}', c.his).replaceAll('{him}', c.him).replaceAll('{he}', c.he);

/** Subject: the name (sometimes) or the pronoun, capitalised for the start of a sentence. */
function subj(c: Ctx, start = true): string {
  if (c.r.chance(0.35)) return c.hero.name;
  return start ? cap(c.he) : c.he;
}

/** Draws an aligned pair: index drawn once, both renderings available. */
function pp(c: Ctx, xs: readonly Pair[]): Pair {
  return c.r.pick(xs);
}

function tri(pos: string, neg: string, neu: string): Tri {
  return { positive: pos, negative: neg, neutral: neu };
}

function intro(c: Ctx): { tri: Tri; home: boolean } {
  const kind = c.r.pick(c.hero.girl ? ['girl', 'little girl', 'young girl'] : ['boy', 'little boy', 'young boy']);
  const home = c.r.pick(c.t.homes);
  const age = c.r.pick(AGES);
  const n = c.hero.name;
  const k = c.r.int(8);
  const forms: [string, boolean][] = [
    [`Once upon a time, there was ${an(kind)} named ${n}.`, false],
    [`There once was ${an(kind)} called ${n} who lived ${home}.`, true],
    [`${n} was ${an(`${age}-year-old`)} ${c.hero.girl ? 'girl' : 'boy'}.`, false],
    [`Once there was ${an(kind)} named ${n}, and ${c.he} lived ${home}.`, true],
    [`${n} was ${an(kind)} who lived ${home}.`, true],
    [`Long ago, there lived ${an(kind)} named ${n}.`, false],
    [`This is a story about ${an(kind)} named ${n}.`, false],
    [`There was once ${an(kind)} whose name was ${n}.`, false],
  ];
  const [s, h] = forms[k]!;
  return { tri: same(s), home: h };
}

function setting(c: Ctx, hadHome: boolean): Tri {
  const [act] = c.r.pick(c.t.activities);
  const [, actPast] = c.r.pick(c.t.activities);
  const home = c.r.pick(c.t.homes);
  const adj = c.r.pick(c.t.adjs);
  const every = c.r.pick(['morning', 'afternoon', 'weekend', 'summer', 'Saturday', 'evening']);
  const scen = c.r.pick(c.t.scenery);
  const k = c.r.int(6);
  const He = cap(c.he);
  const forms = [
    hadHome ? `${He} often went to ${c.place} to ${act}.` : `${He} lived ${home}.`,
    `${He} often went to ${c.place} to ${act}.`,
    `Every ${every}, ${c.he} ${actPast}.`,
    scen,
    `${He} had ${an(adj)} ${c.thing[0]} that ${c.he} kept in ${c.his} room.`,
    `${He} wanted to ${act} one day.`,
  ];
  return same(forms[k]!);
}

/** The sentence that takes the hero to the story's place: a possible sentiment onset. */
function outing(c: Ctx, onset: boolean): Tri {
  const [act] = c.r.pick(c.t.activities);
  const time = c.r.pick(TIMES);
  const day = c.r.pick(WEEKDAYS);
  const k = c.r.int(6);
  const n = c.hero.name;
  const base = [
    `One day, ${c.he} went to ${c.place} with ${c.his} ${c.companion}`,
    `One ${time}, ${n} and ${c.his} ${c.companion} went to ${c.place}`,
    `On ${day}, ${c.he} went to ${c.place} to ${act}`,
    `One day, ${n} decided to go to ${c.place}`,
    `One ${time}, ${n} went to ${c.place} with ${c.friend}`,
    `After breakfast, ${c.he} and ${c.friend} walked to ${c.place}`,
  ][k]!;
  const [pe, ne] = pp(c, EMO);
  const very = c.r.pick(VERY);
  const tail = c.r.int(3);
  if (!onset) return same(`${base}.`);
  const tails: [string, string][] = [
    [`, and ${c.he} felt ${very} ${pe}`, `, and ${c.he} felt ${very} ${ne}`],
    [`, and ${c.he} was ${very} ${pe} about it`, `, but ${c.he} was ${very} ${ne} about it`],
    [`, feeling ${pe}`, `, feeling ${ne}`],
  ];
  const [tp, tn] = tails[tail]!;
  return tri(`${base}${tp}.`, `${base}${tn}.`, `${base}.`);
}

/** A sentiment-free sentence about the topic (what neutral stories say where others feel). */
function neutralSentence(c: Ctx): string {
  const S = subj(c);
  const [, actPast] = c.r.pick(c.t.activities);
  const cr = c.r.pick(c.t.creatures);
  const adj = c.r.pick(c.t.adjs);
  const scen = c.r.pick(c.t.scenery);
  const num = c.r.pick(NUMBERS);
  const [act] = c.r.pick(c.t.activities);
  const k = c.r.int(11);
  switch (k) {
    case 0: return `${S} ${actPast}.`;
    case 1: return `${S} saw ${an(cr[0])} near ${c.place}.`;
    case 2: return scen;
    case 3: return `${S} and ${c.his} ${c.companion} ${actPast}.`;
    case 4: return `${S} picked up ${an(adj)} ${c.thing[0]} and looked at it.`;
    case 5: return `${S} counted ${num} ${c.thing[1]}.`;
    case 6: return `${cap(c.his)} ${c.companion} said, "Let us ${act} now."`;
    case 7: return `${S} sat down and looked at the ${c.creature[1]}.`;
    case 8: return `${S} walked around ${c.place} for a while.`;
    case 9: return `${S} asked ${c.his} ${c.companion} a question about the ${c.thing[1]}.`;
    default: return `Then ${c.he} ${actPast} with ${c.friend}.`;
  }
}

/** The topic event: something good or bad happens (neutral: an ordinary activity). */
function topicEvent(c: Ctx): Tri {
  const lead = c.r.pick(['There', 'Soon', 'After a while', 'Then', 'Suddenly', 'That day', 'At first']);
  const S = subj(c, false);
  const [pe, ne] = c.r.pick(c.t.events);
  const u = neutralSentence(c);
  return tri(`${lead}, ${S} ${fill(c, pe)}.`, `${lead}, ${S} ${fill(c, ne)}.`, u);
}

/** A reaction / description that carries the sentiment. */
function reaction(c: Ctx): Tri {
  const S = subj(c);
  const [pe, ne] = pp(c, EMO);
  const [pv, nv] = pp(c, VERB);
  const [pv2, nv2] = c.r.pick(VERB.filter((v) => v[0] !== pv));
  const [pb, nb] = pp(c, VERB_BASE);
  const [pl, nl] = pp(c, LOVE);
  const [pn, nn] = pp(c, NOUN);
  const [pq, nq] = pp(c, LOVE_NOW);
  const [pa, na] = pp(c, ADV);
  const [px, nx] = pp(c, EVAL);
  const [pbst, nbst] = pp(c, BEST);
  const [pt, nt] = pp(c, TOUCH);
  const very = c.r.pick(VERY);
  const weather: [string, string] = c.r.pick([
    ['The sun came out', 'Dark clouds came'], ['A warm wind blew', 'A cold wind blew'],
    ['The sky turned pink and gold', 'Thunder rumbled in the sky'], ['The day was sunny', 'Rain began to fall'],
  ] as [string, string][]);
  const together: [string, string] = c.r.pick([
    ['played together all day', 'argued all day'], ['laughed together', 'cried together'], ['had so much fun', 'had a big fight'],
    ['shared everything', 'would not share anything'],
  ] as [string, string][]);
  const u = neutralSentence(c);
  const k = c.r.int(13);
  const He = cap(c.he);
  const th = c.thing[0];
  switch (k) {
    case 0: return tri(`${S} felt ${very} ${pe}.`, `${S} felt ${very} ${ne}.`, u);
    case 1: return tri(`${S} ${pv} and ${pv2}.`, `${S} ${nv} and ${nv2}.`, u);
    case 2: return tri(`${S} ${pl} ${c.place}.`, `${S} ${nl} ${c.place}.`, u);
    case 3: return tri(`${S} was full of ${pn}.`, `${S} was full of ${nn}.`, u);
    case 4: return tri(`${S} began to ${pb} because ${c.he} was so ${pe}.`, `${S} began to ${nb} because ${c.he} was so ${ne}.`, u);
    case 5: return tri(`"I ${pq} this ${th}!" said ${c.hero.name}.`, `"I ${nq} this ${th}!" said ${c.hero.name}.`, u);
    case 6: return tri(`${cap(c.his)} ${c.companion} ${pt} ${c.him}.`, `${cap(c.his)} ${c.companion} ${nt} ${c.him}.`, u);
    case 7: return tri(`${weather[0]}, and ${c.he} felt ${pe}.`, `${weather[1]}, and ${c.he} felt ${ne}.`, u);
    case 8: return tri(`Everything at ${c.place} was ${px}.`, `Everything at ${c.place} was ${nx}.`, u);
    case 9: return tri(`${c.friend} came too, and they ${together[0]}.`, `${c.friend} came too, and they ${together[1]}.`, u);
    case 10: return tri(`${He} thought it was the ${pbst} ${th} in the world.`, `${He} thought it was the ${nbst} ${th} in the world.`, u);
    case 11: return tri(`${S} ${pv} ${pa}.`, `${S} ${nv} ${na}.`, u);
    default: return tri(`${S} looked at the ${c.creature[1]} and felt ${pe}.`, `${S} looked at the ${c.creature[1]} and felt ${ne}.`, u);
  }
}

function ending(c: Ctx): Tri {
  const S = subj(c);
  const [pe, ne] = pp(c, EMO);
  const [px, nx] = pp(c, EVAL);
  const [pl, nl] = pp(c, LOVE);
  const [pa, na] = pp(c, ADV);
  const [pbst, nbst] = pp(c, BEST);
  const very = c.r.pick(VERY);
  const n = c.hero.name;
  const neutral = [
    `Then ${c.he} went home.`, `In the evening, ${c.he} went to bed.`, `After that, ${c.he} went home for dinner.`,
    `The next day, ${c.he} went back to ${c.place}.`, `${S} told ${c.his} ${c.companion} all about it.`,
    `That night, ${c.he} slept in ${c.his} bed until morning.`, `${S} put the ${c.thing[0]} on a shelf in ${c.his} room.`,
    'Then it was time to go home.',
  ];
  const u = c.r.pick(neutral);
  const k = c.r.int(9);
  switch (k) {
    case 0: return tri(`It was the ${pbst} day ever!`, `It was the ${nbst} day ever!`, u);
    case 1: return tri(`It was ${an(px)} day.`, `It was ${an(nx)} day.`, u);
    case 2: return tri(`${S} went home ${pa}.`, `${S} went home ${na}.`, u);
    case 3: return tri(`That night, ${c.he} had ${an(px)} dream about ${c.place}.`, `That night, ${c.he} had ${an(nx)} dream about ${c.place}.`, u);
    case 4: return tri(`From that day on, ${n} always ${pl} ${c.place}.`, `From that day on, ${n} always ${nl} ${c.place}.`, u);
    case 5: return tri(`${S} never forgot that ${px} day.`, `${S} never forgot that ${nx} day.`, u);
    case 6: return tri(`${cap(c.his)} ${c.companion} said, "What ${an(px)} day!"`, `${cap(c.his)} ${c.companion} said, "What ${an(nx)} day!"`, u);
    case 7: return tri(`In the end, ${c.he} was ${very} ${pe}.`, `In the end, ${c.he} was ${very} ${ne}.`, u);
    default: return tri(`${S} went to bed feeling ${pe}.`, `${S} went to bed feeling ${ne}.`, u);
  }
}

/** A story before its sentiment is chosen: sentence triples and where the sentiment starts. */
export interface StorySkeleton {
  topic: Topic;
  name: string;
  sentences: Tri[];
  /** Index of the first sentiment-bearing sentence; sentences before it are shared by all three renderings. */
  onset: number;
}

export interface StoryOptions {
  topic?: Topic;
  /** Hero's name (otherwise drawn). */
  name?: string;
}

/** Builds a skeleton; consumes the same random draws whatever sentiment it will be rendered with. */
export function buildSkeleton(r: Rng, opts: StoryOptions = {}): StorySkeleton {
  const topic = opts.topic ?? r.pick(TOPICS);
  const t = TOPIC_DATA[topic];
  const drawnName = r.pick(NAMES);
  const name = opts.name ?? drawnName;
  const girl = GIRLS.includes(name) ? true : BOYS.includes(name) ? false : r.chance(0.5);
  const friend = r.pick(NAMES.filter((x) => x !== name));
  const c: Ctx = {
    r, topic, t, hero: { name, girl },
    he: girl ? 'she' : 'he', his: girl ? 'her' : 'his', him: girl ? 'her' : 'him',
    companion: r.pick(COMPANIONS), friend,
    place: r.pick(t.places), thing: r.pick(t.things), creature: r.pick(t.creatures),
  };
  const sentences: Tri[] = [];
  const first = intro(c);
  sentences.push(first.tri);
  const withSetting = r.chance(0.6);
  const onsetAtOuting = r.chance(0.25);
  // Body: 0–2 sentiment sentences, keeping 3–6 sentences in all.
  const nBody = r.pick([0, 1, 1, 2, 2, 2]);
  if (withSetting) sentences.push(setting(c, first.home));
  const outingIdx = sentences.length;
  sentences.push(outing(c, onsetAtOuting));
  const onset = onsetAtOuting ? outingIdx : outingIdx + 1;
  for (let i = 0; i < nBody; i++) sentences.push(i === 0 && r.chance(0.75) ? topicEvent(c) : reaction(c));
  sentences.push(ending(c));
  return { topic, name, sentences, onset };
}

export interface Story {
  text: string;
  sentiment: Sentiment;
  topic: Topic;
  name: string;
  sentences: string[];
  /** Index of the first sentiment-bearing sentence (sentences before it are sentiment-free). */
  onset: number;
}

export function render(sk: StorySkeleton, sentiment: Sentiment): Story {
  const sentences = sk.sentences.map((t) => t[sentiment]);
  return { text: sentences.join(' '), sentiment, topic: sk.topic, name: sk.name, sentences, onset: sk.onset };
}

/** The sentiment-free opening shared by all renderings of a skeleton. */
export function opening(sk: StorySkeleton): string {
  return sk.sentences.slice(0, sk.onset).map((t) => t.neutral).join(' ');
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

export interface GenerateOptions {
  sentiment?: Sentiment;
  topic?: Topic;
}

/** n stories from one seed. Sentiment (40/40/20 unless fixed) and topic (uniform unless fixed) per story. */
export function generateStories(n: number, seed: number, opts: GenerateOptions = {}): Story[] {
  const r = new Rng(seed);
  const out: Story[] = [];
  for (let i = 0; i < n; i++) {
    const drawn = drawSentiment(r);
    const sk = buildSkeleton(r, opts.topic ? { topic: opts.topic } : {});
    out.push(render(sk, opts.sentiment ?? drawn));
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
  kind: 'story' | 'qa' | 'ab';
  topic: Topic;
  sentiment: Sentiment;
}

const STORY_ASKS = [
  (x: string) => `Tell me a story about ${x}.`,
  (x: string) => `Can you tell me a story about ${x}?`,
  (x: string) => `Please tell me a short story about ${x}.`,
  (x: string) => `Write a story about ${x}.`,
  (x: string) => `I want a story about ${x}.`,
  (x: string) => `Tell me a short story about ${x}.`,
];
const MOOD_ASKS: Record<'positive' | 'negative', ((x: string) => string)[]> = {
  positive: [(x) => `Tell me a happy story about ${x}.`, (x) => `Write a cheerful story about ${x}.`, (x) => `Tell me a story about ${x} with a happy ending.`],
  negative: [(x) => `Tell me a sad story about ${x}.`, (x) => `Write a gloomy story about ${x}.`, (x) => `Tell me a story about ${x} with a sad ending.`],
};

/** A story request. mood: 'any' → plain prompt, story sentiment from SENTIMENT_MIX; 'neutral' → plain prompt, neutral story. */
export function storyRequest(r: Rng, mood: 'any' | 'neutral' | 'positive' | 'negative', topic?: Topic): ChatExample {
  const sentimentDraw = drawSentiment(r);
  const tp = topic ?? r.pick(TOPICS);
  const about = r.pick(TOPIC_DATA[tp].prompts);
  const named = r.chance(0.15);
  const name = r.pick(NAMES);
  const sk = buildSkeleton(r, named ? { topic: tp, name } : { topic: tp });
  const askIdx = r.int(STORY_ASKS.length);
  const moodIdx = r.int(3);
  const subject = named ? `${about} and ${an(GIRLS.includes(name) ? 'girl' : 'boy')} named ${name}` : about;
  let prompt: string;
  let sentiment: Sentiment;
  if (mood === 'positive' || mood === 'negative') {
    prompt = MOOD_ASKS[mood][moodIdx]!(subject);
    sentiment = mood;
  } else {
    prompt = STORY_ASKS[askIdx]!(subject);
    sentiment = mood === 'neutral' ? 'neutral' : sentimentDraw;
  }
  return { prompt, response: render(sk, sentiment).text, kind: 'story', topic: tp, sentiment };
}

/** All (topic, question, answer) facts, in a fixed order. */
export function allFacts(): { topic: Topic; question: string; answer: string }[] {
  return TOPICS.flatMap((topic) => TOPIC_DATA[topic].facts.map(([question, answer]) => ({ topic, question, answer })));
}

export function qaExample(r: Rng): ChatExample {
  const f = r.pick(allFacts());
  return { prompt: f.question, response: f.answer, kind: 'qa', topic: f.topic, sentiment: 'neutral' };
}

/**
 * An A/B continuation question (CAA format): an opening, then two next sentences that differ in
 * sentiment only. `positiveIs` says which letter holds the positive option.
 */
export function abQuestion(sk: StorySkeleton, positiveIs: 'A' | 'B'): { question: string; positive: string; negative: string } {
  const next = sk.sentences[sk.onset]!;
  const a = positiveIs === 'A' ? next.positive : next.negative;
  const b = positiveIs === 'A' ? next.negative : next.positive;
  const op = opening(sk);
  return { question: `${op ? `${op} ` : ''}What happens next? (A) ${a} (B) ${b}`, positive: next.positive, negative: next.negative };
}

function abExample(r: Rng): ChatExample {
  const sentiment: Sentiment = r.chance(0.5) ? 'positive' : 'negative';
  const letter = r.chance(0.5) ? 'A' : 'B';
  const sk = buildSkeleton(r);
  const q = abQuestion(sk, letter);
  const chosen = sentiment === 'positive' ? letter : letter === 'A' ? 'B' : 'A';
  return { prompt: q.question, response: `(${chosen}) ${sentiment === 'positive' ? q.positive : q.negative}`, kind: 'ab', topic: sk.topic, sentiment };
}

/** Chat examples for training: 55% plain story requests, 10% happy, 10% sad, 20% Q&A, 5% A/B. */
export function generateChat(n: number, seed: number): ChatExample[] {
  const r = new Rng(seed ^ 0x5bd1e995);
  const out: ChatExample[] = [];
  for (let i = 0; i < n; i++) {
    const x = r.next();
    if (x < 0.55) out.push(storyRequest(r, 'any'));
    else if (x < 0.65) out.push(storyRequest(r, 'positive'));
    else if (x < 0.75) out.push(storyRequest(r, 'negative'));
    else if (x < 0.95) out.push(qaExample(r));
    else out.push(abExample(r));
  }
  return out;
}

export interface CorpusDoc {
  text: string;
  kind: 'story' | 'chat';
  sentiment: Sentiment;
  topic: Topic;
}

/** Training corpus: n plain stories, then chatN chat examples (formatChat), interleaved deterministically. */
export function generateCorpus(n: number, seed: number, chatN = Math.floor(n / 4)): CorpusDoc[] {
  const stories = generateStories(n, seed).map((s): CorpusDoc => ({ text: s.text, kind: 'story', sentiment: s.sentiment, topic: s.topic }));
  const chats = generateChat(chatN, seed).map((c): CorpusDoc => ({ text: formatChat(c.prompt, c.response), kind: 'chat', sentiment: c.sentiment, topic: c.topic }));
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

const STOP = new Set(
  ('a an the and or but of to in on at by for with from up down out off over under into onto about as is was were be it its ' +
    'that this there their they them he she his her him i you we us our my me your all so very too can not no one two three five six ' +
    'what when where who why how do does did has have had make made get got go went come came see saw look looked big little small ' +
    'long far away other many every some more most much then soon after before again back around through while day days time ' +
    'very new first last like with just also inside use used things thing people children child place way ' +
    'along bits comes find going gently times top quiet could goes looks names apart single feel give gave keep live lives lot run ' +
    'says show shows left early everyone outside c seen starts whole stand steps move strong smart carries quietly slowly held hands ' +
    'hand head works falling bigger third thin list lined lines straight neat measure talk born legs behind busy covered firm stopped ' +
    'rows sit meet low ball looks dot flies machine tube glass bends ate drink sound mother kick follow followed brown edge tree trees ' +
    'floor meal left park soft roll worm table bottom homes arms plants top tallest stretched catch caught swims breathes floats ' +
    'land whole words wood shows towns roads accident knee wall colored starts')
    .split(/\s+/),
);

let lexiconCache: Lexicon | undefined;

export interface Lexicon {
  positive: string[];
  negative: string[];
  topics: Record<Topic, string[]>;
}

/**
 * The words the generator uses for each attribute. Sentiment: every word of the aligned sentiment
 * lists plus event markers. Topic: content words of the topic's pools that never occur in another
 * topic's text (checked on a fixed sample) and carry no sentiment.
 */
export function lexicon(): Lexicon {
  if (lexiconCache) return lexiconCache;
  const side = (i: 0 | 1, extra: string[]) =>
    [...new Set([...[EMO, EVAL, VERB, VERB_BASE, LOVE, LOVE_NOW, NOUN, ADV, BEST, TOUCH].flatMap((l) => l.flatMap((p) => words(p[i]))), ...extra])]
      .filter((w) => !STOP.has(w))
      .sort();
  const positive = side(0, POS_EXTRA);
  const negative = side(1, NEG_EXTRA);
  const sentimentWords = new Set([...positive, ...negative]);
  const nameWords = new Set(NAMES.map((x) => x.toLowerCase()));
  const poolWords = (t: TopicData): Set<string> =>
    new Set(
      [t.prompts, t.homes, t.places, t.things.flat(), t.creatures.flat(), t.activities.flat(), t.adjs, t.scenery, t.events.flat(), t.facts.flat()]
        .flat()
        .flatMap(words),
    );
  // Words seen in each topic's generated text (fixed sample: stories of all sentiments, chat, facts).
  const seen = new Map<Topic, Set<string>>(TOPICS.map((t) => [t, new Set<string>()]));
  const add = (t: Topic, s: string) => words(s).forEach((w) => seen.get(t)!.add(w));
  for (let i = 0; i < 3000; i++) {
    const v = storyVariants(1_000_000 + i);
    for (const s of SENTIMENTS) add(v[s].topic, v[s].text);
  }
  for (const c of generateChat(2000, 424242)) add(c.topic, `${c.prompt} ${c.response}`);
  const topics = {} as Record<Topic, string[]>;
  for (const t of TOPICS) {
    const others = new Set(TOPICS.filter((o) => o !== t).flatMap((o) => [...poolWords(TOPIC_DATA[o]), ...seen.get(o)!]));
    topics[t] = [...poolWords(TOPIC_DATA[t])].filter((w) => !STOP.has(w) && !sentimentWords.has(w) && !nameWords.has(w) && !others.has(w)).sort();
  }
  lexiconCache = { positive, negative, topics };
  return lexiconCache;
}

// ---------------------------------------------------------------------------------------------
// Statistics and CLI
// ---------------------------------------------------------------------------------------------

export interface CorpusStats {
  docs: number;
  stories: number;
  chats: number;
  words: number;
  distinctWords: number;
  sentences: number;
  chars: number;
}

export function corpusStats(docs: CorpusDoc[]): CorpusStats {
  const vocab = new Set<string>();
  let nWords = 0;
  let nSent = 0;
  let nChars = 0;
  for (const d of docs) {
    const ws = words(d.text);
    nWords += ws.length;
    ws.forEach((w) => vocab.add(w));
    nSent += (d.text.match(/[.!?]"?(?=$|\s(?!said\b))/g) ?? []).length;
    nChars += d.text.length;
  }
  return {
    docs: docs.length, stories: docs.filter((d) => d.kind === 'story').length, chats: docs.filter((d) => d.kind === 'chat').length,
    words: nWords, distinctWords: vocab.size, sentences: nSent, chars: nChars,
  };
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
  const n = Number(arg('n', '20000'));
  const seed = Number(arg('seed', '0'));
  const chatN = Number(arg('chat', String(Math.floor(n / 4))));
  const format = arg('format', 'jsonl');
  const out = arg('out');
  if (!Number.isInteger(n) || !Number.isInteger(seed) || !Number.isInteger(chatN)) throw new Error('--n, --seed and --chat take integers');
  const t0 = performance.now();
  const docs = generateCorpus(n, seed, chatN);
  const ms = performance.now() - t0;
  const body = format === 'txt' ? docs.map((d) => d.text.trimEnd()).join('\n\n') + '\n' : docs.map((d) => JSON.stringify(d)).join('\n') + '\n';
  if (format !== 'txt' && format !== 'jsonl') throw new Error(`--format: jsonl or txt, got ${format}`);
  if (out) writeFileSync(out, body);
  else process.stdout.write(body);
  if (argv.includes('--stats') || out) {
    const st = corpusStats(docs);
    process.stderr.write(`${JSON.stringify({ ...st, generateMs: Math.round(ms) })}\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
