/**
 * kts in a browser: Debian's Chromium, driven by playwright-core, with WebGPU on whatever adapter it
 * offers (without a GPU: SwiftShader, a CPU *fallback* adapter that must not be refused). One
 * browser, a few pages:
 * - test/browser/checks.page.ts: the op goldens forward and backward on WebGPU; the default
 *   model's logits against Node's; a steered generation (vector given as GGUF bytes) against Node's;
 * - the playground (playground/build.ts) on WebGPU: it loads, generates and measures side effects;
 *   a screenshot that is not blank; bad files dropped on it give messages, never an uncaught error;
 * - the playground with a model URL that 404s, and in a browser without WebGPU.
 * With CI=true a missing Chromium or adapter fails; elsewhere these tests are skipped, saying why.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, copyFileSync, mkdtempSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { type LlamaForCausalLM, generate, loadModel, loadTokenizer } from '@kts/llama';
import { SteeringVector, batchSteer, defaultSteerLayers, encodeControlVector } from '@kts/steer';
import { Generator, noGrad, tensor } from '@kts/tensor';
import { maxAbsDiff } from '../helpers/compare.ts';
import { buildPlayground } from '../../playground/build.ts';
import { bundleForBrowser, serveStatic } from '../../playground/web.ts';
import { chromiumPath, launchChromium } from './chromium.ts';
import type { InPage } from './checks.ts';

const CI = process.env.CI === 'true';
const EXE = chromiumPath();
const SKIP = EXE ? false : 'Chromium not found (apt-get install chromium, or set KTS_CHROMIUM)';
if (CI && !EXE) throw new Error('CI=true: the browser tests need Chromium (apt-get install chromium)');
const SCREENSHOT = 'test-output/browser/playground.png';
const MINUTES = 60_000;

let browser: Browser;
const servers: { stop: () => Promise<void> }[] = [];
const pageErrors: string[] = [];

async function open(url: string, setup?: (page: Page) => Promise<unknown>): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on('pageerror', (e) => pageErrors.push(`${url}: ${e.message}`));
  await setup?.(page);
  await page.goto(url);
  return page;
}

/** The page's messages (errors and notices), as text. */
const messages = (page: Page) => page.locator('#messages').innerText();
/** A data-* attribute of the playground's body: state (loading, ready, error), refreshes (steering runs done). */
const bodyData = (page: Page, name: 'state' | 'refreshes') => page.locator('body').getAttribute(`data-${name}`);
/** Waits until the playground has steered `n` times, or failed to start. */
const steeredOrFailed = (page: Page, n: number, timeout: number) =>
  page.waitForFunction(`document.body.dataset.refreshes === '${n}' || document.body.dataset.state === 'error'`, null, { timeout });

describe('kts in Chromium', { skip: SKIP }, () => {
  let checksUrl = '';
  let playgroundUrl = '';
  let checks: Page;
  let model: LlamaForCausalLM;
  let ids: number[];

  before(async () => {
    // The checks page: its bundle and the model folder, served from a temp dir.
    const dir = mkdtempSync(join(tmpdir(), 'kts-browser-'));
    await bundleForBrowser('test/browser/checks.page.ts', dir);
    writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>checks</title><script type="module" src="app.js"></script>');
    mkdirSync(join(dir, 'models/default'), { recursive: true });
    for (const f of readdirSync('models/default')) copyFileSync(join('models/default', f), join(dir, 'models/default', f));
    const [checksServer, playgroundServer] = await Promise.all([
      serveStatic(dir),
      buildPlayground({ log: () => {} }).then((out) => serveStatic(out)),
    ]);
    servers.push(checksServer, playgroundServer);
    checksUrl = checksServer.url;
    playgroundUrl = playgroundServer.url;
    browser = await launchChromium(EXE!);
    checks = await open(checksUrl);
    await checks.waitForFunction("document.title === 'checks ready'");
    model = await loadModel('models/default');
    ids = (await loadTokenizer('models/default')).encode('User: Tell me a story about the sea.\nAssistant:');
  }, { timeout: 5 * MINUTES });

  after(async () => {
    await browser?.close();
    for (const s of servers) await s.stop();
  });

  test('WebGPU: an adapter, a fallback one accepted', async () => {
    const { description, info } = await checks.evaluate(() => (globalThis as InPage).checks!.init());
    assert.equal(info.backend, 'browser');
    assert.ok(description.length > 0);
    process.stdout.write(`# adapter: ${description}${info.isFallback ? ' (fallback)' : ''}\n`);
  });

  test('the op goldens, forward and backward, on WebGPU in the page', { timeout: 5 * MINUTES }, async () => {
    const { total, failures } = await checks.evaluate(() => (globalThis as InPage).checks!.goldens());
    assert.ok(total > 300, `only ${total} golden cases`);
    assert.deepEqual(failures, []);
  });

  test("the default model's logits in the page match Node's (CPU backend)", { timeout: 5 * MINUTES }, async () => {
    const want = noGrad(() => model.forward(tensor(Int32Array.from(ids), [1, ids.length])).logits.toArray());
    const got = await checks.evaluate((x) => (globalThis as InPage).checks!.logits(x), ids);
    assert.ok(maxAbsDiff(got, want) <= 1e-3, `max abs difference ${maxAbsDiff(got, want)}`);
  });

  test("a steered generation in the page matches Node's", { timeout: 5 * MINUTES }, async () => {
    // A seeded random direction per steering layer; strong enough to change the continuation.
    const g = new Generator(7);
    const D = model.config.hiddenSize;
    const vector = new SteeringVector(new Map(defaultSteerLayers(model.numLayers).map((l) => [l, Float32Array.from({ length: D }, () => 2 * g.normal())])));
    const bytes = encodeControlVector({ modelHint: 'default', layerCount: model.numLayers, directions: new Map(vector.directions) });
    const n = 8;
    const [steered] = await generate(model, [ids], { maxNewTokens: n, steer: batchSteer(vector, vector.layers, [1], 'cpu') });
    const [plain] = await generate(model, [ids], { maxNewTokens: n });
    assert.notDeepEqual(steered, plain, 'the vector must change the continuation for this check to mean anything');
    const got = await checks.evaluate(([i, b, k]) => (globalThis as InPage).checks!.steered(i, b, 1, k), [ids, Array.from(bytes), n] as const);
    assert.deepEqual(got, steered);
  });

  test('the playground on WebGPU: generations, side effects, a screenshot that is not blank; bad files give messages', { timeout: 5 * MINUTES }, async () => {
    const page = await open(`${playgroundUrl}?tokens=4&texts=1`);
    await steeredOrFailed(page, 1, 4 * MINUTES);
    assert.equal(await bodyData(page, 'state'), 'ready', await messages(page));
    assert.match(await page.locator('#backend').innerText(), /WebGPU backend/);
    for (const id of ['gen-unsteered', 'gen-steered', 'gen-kts']) assert.ok((await page.locator(`#${id}`).innerText()).length > 0, id);
    assert.match(await page.locator('#kl-original').innerText(), /^\d+\.\d+ nats\/token$/);
    assert.match(await page.locator('#kl-kts').innerText(), /^\d+\.\d+ nats\/token$/);
    assert.ok(await page.locator('#vector option').count() >= 2, 'the shipped vectors are listed');

    mkdirSync('test-output/browser', { recursive: true });
    const png = await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const inked = await checks.evaluate((b64) => (globalThis as InPage).checks!.ink(b64), png.toString('base64'));
    assert.ok(inked > 0.02, `the screenshot is ${(100 * inked).toFixed(2)} % ink: blank?`);

    // Bad files, through the file input the drop zone also feeds.
    const D = model.config.hiddenSize;
    const narrow = encodeControlVector({ modelHint: 'x', layerCount: 4, directions: new Map([[1, new Float32Array(D / 2)]]) });
    const model8 = Buffer.from(encodeControlVector({ modelHint: 'x', layerCount: 4, directions: new Map([[1, new Float32Array(D)]]) }));
    const notControl = Buffer.from(model8.toString('latin1').replace('controlvector', 'llamaxxxxxxxx'), 'latin1');
    const bad: [string, Buffer, RegExp][] = [
      ['notes.txt', Buffer.from('hello'), /Could not use notes\.txt: not a GGUF control vector/],
      ['narrow.gguf', Buffer.from(narrow), new RegExp(`Could not use narrow\\.gguf: .*width ${D / 2}, but the model's hidden size is ${D}`)],
      ['corrupt.safetensors', Buffer.from([9, 9, 9, 9, 9, 9, 9, 9, 1, 2, 3]), /Could not use corrupt\.safetensors: safetensors: /],
      ['model.gguf', notControl, /Could not use model\.gguf: .*expected 'controlvector'/],
    ];
    for (const [name, buffer, want] of bad) {
      await page.locator('#file').setInputFiles({ name, mimeType: 'application/octet-stream', buffer });
      await page.locator('#messages', { hasText: `Could not use ${name}` }).waitFor();
      assert.match(await messages(page), want);
    }
    assert.equal(await bodyData(page, 'refreshes'), '1', 'bad files start no steering');
    await page.close();
  });

  test('the playground says so when the model URL 404s, and runs on the CPU backend without WebGPU', { timeout: 3 * MINUTES }, async () => {
    const missing = await open(`${playgroundUrl}?model=models/missing/&device=cpu`);
    await missing.waitForFunction("document.body.dataset.state === 'error'");
    assert.match(await messages(missing), /Could not load the model from models\/missing\/: .*config\.json not found/);
    await missing.close();

    // A browser without WebGPU: navigator.gpu is gone before the page's script runs.
    const noGpu = await open(`${playgroundUrl}?tokens=2&texts=1`, (p) => p.addInitScript("Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined })"));
    await steeredOrFailed(noGpu, 1, 2 * MINUTES);
    assert.match(await messages(noGpu), /No WebGPU in this browser: running on the CPU backend/);
    assert.match(await noGpu.locator('#kl-original').innerText(), /nats\/token/);
    await noGpu.close();
  });

  test('no page threw an uncaught exception', () => {
    assert.deepEqual(pageErrors, []);
  });
});
