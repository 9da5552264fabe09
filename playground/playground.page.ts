// The steering playground, in the page: the model from models/default (WebGPU, or the CPU backend
// where the browser has none), the steering vectors and KTS adapter the build shipped
// (assets/index.json), a coefficient slider, unsteered and steered generations side by side, and
// the side-effect KL at the current coefficient with and without the adapter. A user's own GGUF
// control vector can be dropped on the page. Every failure becomes a message in the page.
//
// URL parameters: ?model=<folder URL> (default models/default/), ?device=cpu|webgpu|auto,
// ?tokens=<n> new tokens per generation (default 32), ?texts=<n> benign texts for the side effects
// (default: all shipped).
import { type LlamaForCausalLM, type Tokenizer, generate, loadModelFrom, loadTokenizerFrom } from '@kts/llama';
import {
  type AttachedLoRA, type ChatFormatter, type EvalModel, SteeringVector, batchSteer, chatFormatterFor, formatPair,
  loadPeftAdapterFrom, selectDevice, sideEffectKL, tokenizeFormatted,
} from '@kts/steer';
import { adapterInfo } from '@kts/webgpu';
import type { AssetIndex } from './assets.ts';

const params = new URLSearchParams(location.search);
const MODEL_URL = params.get('model') ?? 'models/default/';
const DEVICE = (params.get('device') ?? 'auto') as 'auto' | 'cpu' | 'webgpu';
const NEW_TOKENS = Number(params.get('tokens') ?? 32);
const TEXTS = Number(params.get('texts') ?? Infinity);

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const body = document.body;

// ---- messages -----------------------------------------------------------------------------

function message(kind: 'error' | 'notice', title: string, detail?: unknown): void {
  const div = document.createElement('div');
  div.className = kind;
  const strong = document.createElement('strong');
  strong.textContent = title;
  div.append(strong);
  if (detail !== undefined) div.append(`: ${detail instanceof Error ? detail.message : String(detail)}`);
  $('messages').append(div);
}

function status(text: string): void {
  $('status').textContent = text;
}

// Nothing may end as a blank page or an uncaught exception: anything that escapes lands here.
addEventListener('error', (e) => message('error', 'Unexpected error', e.error ?? e.message));
addEventListener('unhandledrejection', (e) => {
  e.preventDefault();
  message('error', 'Unexpected error', e.reason);
});

// ---- state --------------------------------------------------------------------------------

interface Loaded {
  device: string;
  base: LlamaForCausalLM;
  tok: Tokenizer;
  format: ChatFormatter;
  /** The same model with the KTS adapter, when one was shipped. */
  kts: { model: LlamaForCausalLM; lora: AttachedLoRA } | null;
  benign: number[][];
  vectors: Map<string, SteeringVector>;
}

let app: Loaded | null = null;

async function fetchIndex(): Promise<AssetIndex | null> {
  try {
    const res = await fetch('assets/index.json');
    if (!res.ok) throw new Error(`HTTP ${res.status} for assets/index.json`);
    return (await res.json()) as AssetIndex;
  } catch (e) {
    message('error', 'No shipped steering vectors or adapter (was the playground built?)', e);
    return null;
  }
}

function addVector(name: string, v: SteeringVector, select = false): void {
  app!.vectors.set(name, v);
  const option = new Option(name, name);
  $<HTMLSelectElement>('vector').add(option);
  if (select) option.selected = true;
}

async function load(): Promise<Loaded | null> {
  status('Looking for WebGPU…');
  const choice = await selectDevice(DEVICE);
  $('backend').textContent = `Backend: ${choice.description}`;
  if (choice.device === 'cpu' && DEVICE !== 'cpu') {
    message('notice', 'No WebGPU in this browser: running on the CPU backend', choice.description.replace(/^CPU backend \(WebGPU unavailable: (.*)\)$/, '$1'));
  }
  if (choice.device === 'webgpu' && adapterInfo().isFallback) {
    message('notice', "This browser's WebGPU adapter is a CPU fallback", 'it works, but slowly; add ?device=cpu to the address for the faster CPU backend');
  }
  status(`Loading the model from ${MODEL_URL}…`);
  let base: LlamaForCausalLM;
  let tok: Tokenizer;
  try {
    base = await loadModelFrom(MODEL_URL, { device: choice.device });
    tok = await loadTokenizerFrom(MODEL_URL);
  } catch (e) {
    message('error', `Could not load the model from ${MODEL_URL}`, e);
    return null;
  }
  const format = chatFormatterFor(tok);
  const index = await fetchIndex();
  const loaded: Loaded = {
    device: choice.device, base, tok, format, kts: null, vectors: new Map(),
    benign: (index?.benign ?? []).slice(0, TEXTS).map((r) => tokenizeFormatted(tok, formatPair(format, r.prompt, r.response)).ids),
  };
  app = loaded;
  // Selected first: the last vector the adapter did not see (a topic held out from KTS training).
  const first = (index?.vectors ?? []).filter((v) => !v.inKtsTraining).at(-1)?.name;
  for (const v of index?.vectors ?? []) {
    try {
      const vector = await SteeringVector.loadFrom(`assets/${v.file}`);
      vector.checkFits(base.config, v.file);
      addVector(v.inKtsTraining ? v.name : `${v.name} (held out from KTS)`, vector, v.name === first);
    } catch (e) {
      message('error', `Could not load the shipped vector ${v.name}`, e);
    }
  }
  if (index?.adapter) {
    try {
      const model = await loadModelFrom(MODEL_URL, { device: choice.device });
      loaded.kts = { model, lora: await loadPeftAdapterFrom(model, `assets/${index.adapter.dir}`) };
      $('adapter-note').textContent = `The KTS adapter was trained for ${index.adapter.settings.steps} steps against the ${index.adapter.trainedOn.join(', ')} vectors (coefficients up to ±${index.adapter.settings.coeff}).`;
    } catch (e) {
      message('error', 'Could not load the shipped KTS adapter', e);
    }
  } else {
    $('adapter-note').textContent = 'No KTS adapter was shipped with this build.';
  }
  const prompts = $<HTMLSelectElement>('prompt');
  for (const p of index?.prompts ?? ['Tell me a story.']) prompts.add(new Option(p, p));
  return loaded;
}

// ---- generations and side effects ---------------------------------------------------------------

async function generations(a: Loaded, v: SteeringVector, coeff: number, prompt: string): Promise<[string, string, string]> {
  const ids = tokenizeFormatted(a.tok, formatPair(a.format, prompt, '')).ids;
  const decode = (out: number[]) => a.tok.decode(out).trim();
  // Unsteered and steered in one batch: one coefficient per sequence.
  const [plain, steered] = await generate(a.base, [ids, ids], { maxNewTokens: NEW_TOKENS, steer: batchSteer(v, v.layers, [0, coeff], a.device) });
  const kts = a.kts ? (await generate(a.kts.model, [ids], { maxNewTokens: NEW_TOKENS, steer: batchSteer(v, v.layers, [coeff], a.device) }))[0]! : null;
  return [decode(plain!), decode(steered!), kts ? decode(kts) : '(no KTS adapter)'];
}

async function sideEffects(a: Loaded, v: SteeringVector, coeff: number): Promise<[number, number | null]> {
  const setting = { vector: v, layers: v.layers, coeff };
  const opts = { batchSize: 8, device: a.device };
  const original: EvalModel = { name: 'original', model: a.base, lora: null };
  const kl = await sideEffectKL(original, setting, a.benign, opts);
  const ktsKL = a.kts ? await sideEffectKL({ name: 'kts', model: a.kts.model, lora: a.kts.lora }, setting, a.benign, opts) : null;
  return [kl, ktsKL];
}

let running = false;
let again = false;
let refreshes = 0;

/** Recomputes everything for the current controls; calls made while one runs coalesce into one more run. */
async function refresh(): Promise<void> {
  if (!app) return;
  if (running) {
    again = true;
    return;
  }
  running = true;
  body.dataset.busy = 'true';
  try {
    do {
      again = false;
      const v = app.vectors.get($<HTMLSelectElement>('vector').value);
      const coeff = Number($<HTMLInputElement>('coeff').value);
      const prompt = $<HTMLSelectElement>('prompt').value;
      if (!v) break;
      status(`Generating at coefficient ${coeff}…`);
      const t0 = performance.now();
      const [plain, steered, kts] = await generations(app, v, coeff, prompt);
      $('gen-unsteered').textContent = plain;
      $('gen-steered').textContent = steered;
      $('gen-kts').textContent = kts;
      status(`Measuring side effects at coefficient ${coeff}…`);
      const t1 = performance.now();
      const [kl, ktsKL] = await sideEffects(app, v, coeff);
      $('kl-coeff').textContent = String(coeff);
      $('kl-original').textContent = `${kl.toFixed(4)} nats/token`;
      $('kl-kts').textContent = ktsKL === null ? 'no adapter' : `${ktsKL.toFixed(4)} nats/token`;
      const s = (a: number, b: number) => ((b - a) / 1000).toFixed(1);
      status(`Generations ${s(t0, t1)} s, side effects ${s(t1, performance.now())} s.`);
    } while (again);
  } catch (e) {
    message('error', 'Steering failed', e);
    status('Failed.');
  } finally {
    running = false;
    body.dataset.busy = 'false';
    body.dataset.refreshes = String(++refreshes);
  }
}

// ---- a user's own vector ------------------------------------------------------------------------

const isGguf = (b: Uint8Array) => b.length >= 4 && String.fromCharCode(...b.subarray(0, 4)) === 'GGUF';

async function addUserVector(file: File): Promise<void> {
  try {
    if (!app) throw new Error('the model is not loaded');
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (!isGguf(bytes) && !file.name.endsWith('.safetensors')) {
      throw new Error('not a GGUF control vector: a GGUF file starts with the bytes "GGUF" (llama.cpp control vectors, or kts vector --out x.gguf)');
    }
    const v = SteeringVector.fromBytes(bytes, file.name);
    v.checkFits(app.base.config, file.name);
    addVector(`${file.name} (yours)`, v, true);
    message('notice', `Added ${file.name}`, `layers ${v.layers.join(', ')}, width ${v.dim}`);
    await refresh();
  } catch (e) {
    message('error', `Could not use ${file.name}`, e);
  }
}

function wireControls(): void {
  const coeff = $<HTMLInputElement>('coeff');
  coeff.addEventListener('input', () => ($('coeff-value').textContent = coeff.value));
  for (const id of ['vector', 'coeff', 'prompt']) {
    const el = $<HTMLInputElement>(id);
    el.disabled = false;
    el.addEventListener('change', () => void refresh());
  }
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    for (const f of e.dataTransfer?.files ?? []) void addUserVector(f);
  });
  $<HTMLInputElement>('file').addEventListener('change', (e) => {
    for (const f of (e.target as HTMLInputElement).files ?? []) void addUserVector(f);
  });
}

async function main(): Promise<void> {
  try {
    const loaded = await load();
    if (!loaded) {
      body.dataset.state = 'error';
      status('The playground could not start; see the messages above.');
      return;
    }
    wireControls();
    body.dataset.state = 'ready';
    await refresh();
  } catch (e) {
    body.dataset.state = 'error';
    message('error', 'The playground could not start', e);
  }
}

void main();
