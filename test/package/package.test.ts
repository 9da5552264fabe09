/**
 * The packages as a user gets them: the five workspaces packed (`npm pack`, which builds them),
 * installed from the tarballs into a fresh project without network (npm's cache, filled by the
 * repository's `npm ci`), then
 * - a plain `node` script (no tsx) imports all four public packages, trains one autograd step,
 *   runs a WebGPU op, loads models/default, extracts a vector and generates (app.mjs);
 * - `npx kts --help` and `npx kts info` run the bin;
 * - a strict TypeScript consumer made of the README's examples type-checks against the packed
 *   declarations (readme-consumer.ts);
 * - esbuild bundles the four packages for a browser from their built files: no `node:` import.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bundleForBrowser } from '../../playground/web.ts';
import { type Packed, consumerLock } from './lockfile.ts';
import { consumerFromReadme } from './readme-consumer.ts';

const REPO = resolve('.');
const WORKSPACES = ['kernels', 'packages/tensor', 'packages/webgpu', 'packages/llama', 'packages/steer'];
const MINUTES = 60_000;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** A command's stdout; on failure an error with the command and the end of its output. */
function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  } catch (e) {
    const { stdout = '', stderr = '' } = e as { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${`${stdout}\n${stderr}`.trim().slice(-3000)}`);
  }
}

describe('the packed packages in a fresh project', () => {
  const project = mkdtempSync(join(tmpdir(), 'kts-package-'));

  before(() => {
    const packs = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', project, ...WORKSPACES.flatMap((w) => ['-w', w])], REPO)) as
      { name: string; filename: string; integrity: string; files: { path: string }[] }[];
    assert.equal(packs.length, WORKSPACES.length);
    for (const p of packs) {
      assert.ok(p.files.some((f) => f.path === 'package.json') && !p.files.some((f) => f.path.startsWith('node_modules/')), p.filename);
    }
    const packed: Packed[] = packs.map((p, i) => ({ name: p.name, folder: WORKSPACES[i]!, filename: p.filename, integrity: p.integrity }));
    // The consumer's own tools (typescript, @types/node) at the repository's versions.
    const { packageJson, lock } = consumerLock(JSON.parse(readFileSync('package-lock.json', 'utf8')), packed, ['typescript', '@types/node']);
    writeFileSync(join(project, 'package.json'), JSON.stringify(packageJson, null, 2));
    writeFileSync(join(project, 'package-lock.json'), JSON.stringify(lock, null, 2));
    run(npm, ['ci', '--offline', '--no-audit', '--no-fund'], project);
    copyFileSync('test/package/app.mjs', join(project, 'app.mjs'));
  }, { timeout: 5 * MINUTES });

  after(() => rmSync(project, { recursive: true, force: true }));

  test('a plain node script uses all four packages: autograd, WebGPU, the default model, a vector, generation', { timeout: 3 * MINUTES }, () => {
    const out = JSON.parse(run(process.execPath, ['app.mjs', REPO], project).trim().split('\n').at(-1)!) as Record<string, unknown>;
    assert.ok((out.lossAfter as number) < (out.lossBefore as number), 'one AdamW step lowers the loss');
    if (process.env.CI === 'true') assert.ok(out.webgpu, `WebGPU from the installed package: ${out.webgpuError}`);
    if (out.webgpu) assert.equal(out.webgpuSum, 12);
    assert.deepEqual(out.vectorLayers, [1, 2]);
    assert.equal(out.vectorDim, 128);
    assert.ok((out.plain as string).length > 0);
    assert.notEqual(out.steered, out.plain, 'steering changes the continuation');
  });

  test('npx kts runs the built CLI', { timeout: 2 * MINUTES }, () => {
    const help = run(npm, ['exec', '--offline', '--', 'kts', '--help'], project);
    for (const cmd of ['info', 'generate', 'vector', 'train', 'eval', 'merge']) assert.match(help, new RegExp(`^  ${cmd}\\b`, 'm'));
    const info = JSON.parse(run(npm, ['exec', '--offline', '--', 'kts', 'info', '--model', join(REPO, 'models/default')], project)) as { parameters: number };
    assert.ok(info.parameters > 0);
  });

  test("a strict TypeScript consumer made of the README's examples type-checks against the packed declarations", { timeout: 2 * MINUTES }, () => {
    const source = consumerFromReadme(readFileSync('README.md', 'utf8'));
    assert.ok((source.match(/^export async function/gm) ?? []).length >= 5, 'the README has its examples');
    writeFileSync(join(project, 'consumer.ts'), source);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext',
        types: ['node'], skipLibCheck: false,
      },
      files: ['consumer.ts'],
    }));
    run(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project);
  });

  test('esbuild bundles the four packages for a browser from their built files, with no node: import', { timeout: 2 * MINUTES }, async () => {
    writeFileSync(join(project, 'page.js'), [
      "import * as tensor from '@kts/tensor';",
      "import * as webgpu from '@kts/webgpu';",
      "import * as llama from '@kts/llama';",
      "import * as steer from '@kts/steer';",
      'globalThis.kts = { tensor, webgpu, llama, steer };',
    ].join('\n'));
    const outdir = join(project, 'bundle');
    const meta = await bundleForBrowser(join(project, 'page.js'), outdir, { sources: false, minify: false });
    const inputs = Object.keys(meta.inputs);
    assert.ok(inputs.some((f) => f.includes('@kts/webgpu/dist/gpu/browser.js')), 'the browser adapter module');
    assert.ok(!inputs.some((f) => /@kts\/\w+\/src\//.test(f)), 'no TypeScript sources');
    for (const f of inputs) assert.doesNotMatch(f, /@kts\/tensor\/dist\/(host\/node|cpu\/threads)\.js|@kts\/webgpu\/dist\/gpu\/node\.js|node_modules\/webgpu\//, f);
    for (const file of Object.keys(meta.outputs).filter((f) => f.endsWith('.js'))) {
      assert.doesNotMatch(readFileSync(file, 'utf8'), /from\s*["']node:|require\(["']node:|import\(["']node:/, file);
    }
  });
});
