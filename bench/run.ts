/**
 * Benchmark runner: `npm run bench -- <suite> [more suites] [--flag[=value] ...]`
 * (same as `node --conditions=source --import tsx bench/run.ts ...`). Each suite is bench/suites/<name>.ts; its
 * default export `(ctx: SuiteContext) => Promise<unknown>` is awaited (a suite that does its
 * work at import time also works). No suite names: lists the suites and runs them all.
 * `--list` only lists them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_DIR, type SuiteContext, type SuiteMain } from './lib.ts';

const SUITES_DIR = path.join(BENCH_DIR, 'suites');

function availableSuites(): string[] {
  if (!fs.existsSync(SUITES_DIR)) return [];
  return fs.readdirSync(SUITES_DIR)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

function parseArgs(argv: string[]): { names: string[]; flags: Record<string, string | boolean> } {
  const names: string[] = [];
  const flags: Record<string, string | boolean> = {};
  for (const a of argv) {
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq < 0) flags[a.slice(2)] = true;
      else flags[a.slice(2, eq)] = a.slice(eq + 1);
    } else {
      names.push(a.replace(/\.ts$/, ''));
    }
  }
  return { names, flags };
}

async function main(): Promise<void> {
  const { names, flags } = parseArgs(process.argv.slice(2));
  const all = availableSuites();
  if (flags.list || names.length === 0) {
    console.log(`Available suites (bench/suites): ${all.length ? all.join(', ') : '(none)'}`);
    if (flags.list) return;
  }
  const toRun = names.length ? names : all;
  const unknown = toRun.filter((n) => !all.includes(n));
  if (unknown.length) {
    console.error(`Unknown suite(s): ${unknown.join(', ')}. Available: ${all.join(', ') || '(none)'}`);
    process.exitCode = 2;
    return;
  }
  const ctx: SuiteContext = { flags };
  let failed = 0;
  for (const name of toRun) {
    console.log(`\n### suite ${name}`);
    const t0 = performance.now();
    try {
      const mod = (await import(pathToFileURL(path.join(SUITES_DIR, `${name}.ts`)).href)) as { default?: unknown };
      if (typeof mod.default === 'function') await (mod.default as SuiteMain)(ctx);
    } catch (err) {
      failed++;
      console.error(`suite ${name} failed:`, err);
    }
    console.log(`### suite ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  if (failed) process.exitCode = 1;
}

await main();
