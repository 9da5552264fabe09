// `npm run playground`: builds the static page into playground/dist — the page script (esbuild,
// from the packages' sources), the model folder, and the vectors and KTS adapter of ./assets.ts
// (made again only when the model, the data or the settings changed) — then serves it on
// 127.0.0.1 with esbuild's file server (./web.ts).
//
//   npm run playground                 # http://127.0.0.1:8731/
//   npm run playground -- --port 0     # any free port
//   npm run playground -- --build-only
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForBrowser, serveStatic } from './web.ts';
import { writeAssets } from './assets.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Files of a model folder the page loads. */
const MODEL_FILES = ['config.json', 'model.safetensors', 'model.safetensors.index.json', 'tokenizer.model', 'tokenizer.json', 'tokenizer_config.json'];
/** Inputs of the assets: when none changed, the vectors and adapter are not made again. */
const ASSET_INPUTS = ['data/sentiment_pairs.jsonl', 'data/concepts.jsonl', 'data/benign_train.jsonl', 'data/benign_eval.jsonl', join(HERE, 'assets.ts')];

export interface BuildOptions {
  out?: string;
  model?: string;
  log?: (line: string) => void;
}

function modelFiles(model: string): string[] {
  const shards = readdirSync(model).filter((f) => /^model-.*\.safetensors$/.test(f));
  return [...MODEL_FILES, ...shards].filter((f) => existsSync(join(model, f)));
}

function inputsHash(model: string): string {
  const h = createHash('sha256');
  for (const f of [...modelFiles(model).map((f) => join(model, f)), ...ASSET_INPUTS]) h.update(f).update(readFileSync(f));
  return h.digest('hex');
}

/** Builds the playground into `out` (default playground/dist) and returns that folder. */
export async function buildPlayground(opts: BuildOptions = {}): Promise<string> {
  const out = opts.out ?? join(HERE, 'dist');
  const model = opts.model ?? 'models/default';
  const log = opts.log ?? ((s: string) => console.log(s));
  mkdirSync(out, { recursive: true });
  await bundleForBrowser(join(HERE, 'playground.page.ts'), out);
  for (const f of ['index.html', 'style.css']) copyFileSync(join(HERE, f), join(out, f));
  const modelOut = join(out, 'models/default');
  rmSync(modelOut, { recursive: true, force: true });
  mkdirSync(modelOut, { recursive: true });
  for (const f of modelFiles(model)) copyFileSync(join(model, f), join(modelOut, f));

  const stamp = join(out, 'assets/inputs.sha256');
  const hash = inputsHash(model);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) {
    log('playground: vectors and adapter are up to date');
  } else {
    rmSync(join(out, 'assets'), { recursive: true, force: true });
    log('playground: extracting steering vectors and training a small KTS adapter (CPU, once per model)…');
    await writeAssets(model, out, (s) => log(`  ${s}`));
    writeFileSync(stamp, hash);
  }
  log(`playground: built ${out} (${(statSync(join(out, 'app.js')).size / 1024).toFixed(0)} KiB app.js)`);
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name: string) => process.argv.find((a, i) => process.argv[i - 1] === name);
  const dir = await buildPlayground();
  if (!process.argv.includes('--build-only')) {
    const { url } = await serveStatic(dir, Number(arg('--port') ?? 8731));
    console.log(`playground: ${url} (Ctrl-C stops)`);
  }
}
