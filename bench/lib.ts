/**
 * Shared benchmark helpers for every suite in bench/suites/. See bench/README.md.
 *
 *   const suite = new BenchSuite('matmul-cpu', { baseline: 'tfjs-cpu' });
 *   await suite.measure('1024x1024x1024', 'kts-cpu', () => run(), { flops: matmulFlops(1024, 1024, 1024) });
 *   suite.finish();   // prints the table, writes bench/results/matmul-cpu.{json,md}
 */
import Benchmark from 'benchmark';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const RESULTS_DIR = path.join(BENCH_DIR, 'results');

// ---------------------------------------------------------------------------------------------
// Machine info

export interface MachineInfo {
  cpu: string;
  cores: number;
  memGiB: number;
  platform: string;
  arch: string;
  node: string;
  v8: string;
  loadavg: number[];
  date: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: os.platform(),
    arch: os.arch(),
    node: process.version,
    v8: process.versions.v8,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    date: new Date().toISOString(),
  };
}

// ---------------------------------------------------------------------------------------------
// Timing

export interface TimeOptions {
  /** 'auto' (default): benchmark.js for fast synchronous functions, median-of-N otherwise. */
  method?: 'auto' | 'benchmark.js' | 'median';
  /** Minimum number of samples (default 5; never less than 5). */
  minSamples?: number;
  /** Maximum samples for the median-of-N timer (default 30). */
  maxSamples?: number;
  /** Rough time budget per measurement in ms (default 2000). */
  targetMs?: number;
  /** Warm-up calls before timing (default 2; at least 1 is always made). */
  warmup?: number;
  /** In 'auto' mode, functions slower than this per call (ms) use the median-of-N timer (default 20). */
  slowMs?: number;
}

export interface Timing {
  medianMs: number;
  minMs: number;
  meanMs: number;
  /** Number of samples the median is taken over. */
  samples: number;
  method: 'benchmark.js' | 'median';
  /** benchmark.js relative margin of error (percent), when that method was used. */
  rme?: number;
}

type BenchFn = () => unknown;

const isPromise = (x: unknown): x is Promise<unknown> =>
  typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/**
 * Times `fn` (sync or async) and returns the median time per call in ms.
 * Fast synchronous functions go through benchmark.js (median of its per-cycle samples);
 * async or slow ones through a median-of-N timer (one call per sample, at least 5 samples).
 * The function must do all of its work before returning (or before its promise resolves):
 * e.g. read results back with dataSync()/await data().
 */
export async function timeFn(fn: BenchFn, opts: TimeOptions = {}): Promise<Timing> {
  const minSamples = Math.max(5, opts.minSamples ?? 5);
  const maxSamples = Math.max(minSamples, opts.maxSamples ?? 30);
  const targetMs = opts.targetMs ?? 2000;
  const warmup = Math.max(1, opts.warmup ?? 2);
  const slowMs = opts.slowMs ?? 20;

  let isAsync = false;
  let lastMs = 0;
  for (let i = 0; i < warmup; i++) {
    const t0 = performance.now();
    const r = fn();
    if (isPromise(r)) {
      isAsync = true;
      await r;
    }
    lastMs = performance.now() - t0;
  }

  let method = opts.method ?? 'auto';
  if (method === 'auto') method = isAsync || lastMs > slowMs ? 'median' : 'benchmark.js';
  if (method === 'benchmark.js' && isAsync) throw new Error('timeFn: benchmark.js method needs a synchronous function');

  if (method === 'benchmark.js') {
    const bench = new Benchmark('timeFn', fn as () => void, {
      minSamples,
      maxTime: targetMs / 1000,
      initCount: 1,
    });
    bench.run({ async: false });
    if (bench.error) throw bench.error;
    const sample = bench.stats.sample.map((s: number) => s * 1000);
    return {
      medianMs: median(sample),
      minMs: Math.min(...sample),
      meanMs: bench.stats.mean * 1000,
      samples: sample.length,
      method: 'benchmark.js',
      rme: bench.stats.rme,
    };
  }

  const n = Math.min(maxSamples, Math.max(minSamples, Math.ceil(targetMs / Math.max(lastMs, 1e-3))));
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = fn();
    if (isPromise(r)) await r;
    times.push(performance.now() - t0);
  }
  return {
    medianMs: median(times),
    minMs: Math.min(...times),
    meanMs: times.reduce((a, b) => a + b, 0) / times.length,
    samples: times.length,
    method: 'median',
  };
}

// ---------------------------------------------------------------------------------------------
// Work measures

/** Floating-point operations of an M×K by K×N matmul (2·M·N·K), times batch. */
export function matmulFlops(M: number, N: number, K: number, batch = 1): number {
  return 2 * M * N * K * batch;
}

export const gflops = (flops: number, ms: number): number => flops / (ms * 1e6);
export const gbps = (bytes: number, ms: number): number => bytes / (ms * 1e6);

// ---------------------------------------------------------------------------------------------
// Suites: rows, ratios, output

export interface Work {
  /** Floating-point operations per call: gives a GFLOP/s column. */
  flops?: number;
  /** Bytes moved per call: gives a GB/s column. */
  bytes?: number;
}

export interface MeasureOptions extends TimeOptions, Work {
  /** Free-form extra fields stored with the row in the JSON (e.g. dtype, backend flags). */
  meta?: Record<string, unknown>;
}

export interface BenchRow {
  /** What is being compared, e.g. a shape '1024x1024x1024'. Rows with the same group are peers. */
  shape: string;
  /** Which implementation, e.g. 'kts-cpu', 'tfjs-wasm'. */
  impl: string;
  medianMs: number;
  minMs: number;
  samples: number;
  method: Timing['method'];
  rme?: number;
  gflops?: number;
  gbps?: number;
  /** speedup of this row over each peer impl in the same shape: peer.medianMs / this.medianMs (> 1 = faster). */
  ratio: Record<string, number>;
  meta?: Record<string, unknown>;
}

export interface SuiteOptions {
  /** Impl that ratios are listed against first (default: every peer gets a column). */
  baseline?: string;
  /** Directory for <suite>.json / <suite>.md (default bench/results). */
  resultsDir?: string;
  /** Print each row as soon as it is measured (default true). */
  verbose?: boolean;
}

export interface SuiteResult {
  suite: string;
  machine: MachineInfo;
  notes: string[];
  rows: BenchRow[];
}

const fmt = (x: number | undefined, digits = 2): string =>
  x === undefined || !Number.isFinite(x) ? '' : x >= 1000 ? x.toFixed(0) : x >= 100 ? x.toFixed(1) : x.toFixed(digits);

export class BenchSuite {
  readonly name: string;
  readonly machine: MachineInfo;
  readonly rows: BenchRow[] = [];
  readonly notes: string[] = [];
  private readonly opts: SuiteOptions;

  constructor(name: string, opts: SuiteOptions = {}) {
    this.name = name;
    this.opts = opts;
    this.machine = machineInfo();
  }

  /** Adds a free-text note (printed, and saved in the JSON and Markdown). */
  note(text: string): void {
    this.notes.push(text);
    console.log(`[${this.name}] note: ${text}`);
  }

  /** Times `fn` with timeFn and records a row for (shape, impl). */
  async measure(shape: string, impl: string, fn: BenchFn, opts: MeasureOptions = {}): Promise<BenchRow> {
    const t = await timeFn(fn, opts);
    return this.record(shape, impl, t, opts);
  }

  /** Records an externally obtained timing (e.g. GPU timestamps) as a row. */
  record(shape: string, impl: string, t: Pick<Timing, 'medianMs'> & Partial<Timing>, work: Work & { meta?: Record<string, unknown> } = {}): BenchRow {
    const row: BenchRow = {
      shape,
      impl,
      medianMs: t.medianMs,
      minMs: t.minMs ?? t.medianMs,
      samples: t.samples ?? 1,
      method: t.method ?? 'median',
      ratio: {},
    };
    if (t.rme !== undefined) row.rme = t.rme;
    if (work.flops !== undefined) row.gflops = gflops(work.flops, t.medianMs);
    if (work.bytes !== undefined) row.gbps = gbps(work.bytes, t.medianMs);
    if (work.meta) row.meta = work.meta;
    this.rows.push(row);
    if (this.opts.verbose ?? true) {
      const perf = [row.gflops !== undefined ? `${fmt(row.gflops)} GFLOP/s` : '', row.gbps !== undefined ? `${fmt(row.gbps)} GB/s` : '']
        .filter(Boolean).join(', ');
      console.log(`[${this.name}] ${shape} ${impl}: ${fmt(row.medianMs, 3)} ms (median of ${row.samples}, ${row.method})${perf ? ' ' + perf : ''}`);
    }
    return row;
  }

  /** All impl names in first-seen order, the baseline first. */
  impls(): string[] {
    const seen: string[] = [];
    for (const r of this.rows) if (!seen.includes(r.impl)) seen.push(r.impl);
    const b = this.opts.baseline;
    return b && seen.includes(b) ? [b, ...seen.filter((x) => x !== b)] : seen;
  }

  /** Rows grouped by shape (first-seen order), then by impl (first-seen order). */
  sortedRows(): BenchRow[] {
    const shapes: string[] = [];
    const impls: string[] = [];
    for (const r of this.rows) {
      if (!shapes.includes(r.shape)) shapes.push(r.shape);
      if (!impls.includes(r.impl)) impls.push(r.impl);
    }
    return [...this.rows].sort((x, y) =>
      shapes.indexOf(x.shape) - shapes.indexOf(y.shape) || impls.indexOf(x.impl) - impls.indexOf(y.impl));
  }

  private computeRatios(): void {
    for (const r of this.rows) {
      r.ratio = {};
      for (const p of this.rows) {
        if (p !== r && p.shape === r.shape && p.impl !== r.impl) r.ratio[p.impl] = p.medianMs / r.medianMs;
      }
    }
  }

  /** Table as rows of strings (header first); columns: shape, impl, ms, GFLOP/s, GB/s, vs <each impl>. */
  table(): string[][] {
    this.computeRatios();
    const impls = this.impls();
    const hasF = this.rows.some((r) => r.gflops !== undefined);
    const hasB = this.rows.some((r) => r.gbps !== undefined);
    const header = ['shape', 'impl', 'median ms', ...(hasF ? ['GFLOP/s'] : []), ...(hasB ? ['GB/s'] : []), ...impls.map((i) => `vs ${i}`)];
    const out = [header];
    for (const r of this.sortedRows()) {
      out.push([
        r.shape, r.impl, fmt(r.medianMs, 3),
        ...(hasF ? [fmt(r.gflops)] : []),
        ...(hasB ? [fmt(r.gbps)] : []),
        ...impls.map((i) => (i === r.impl ? '1' : r.ratio[i] !== undefined ? `${fmt(r.ratio[i])}x` : '')),
      ]);
    }
    return out;
  }

  /** Markdown: machine line, notes, and the table. */
  markdown(): string {
    const t = this.table();
    const m = this.machine;
    const lines = [
      `# ${this.name}`,
      '',
      `${m.date} · ${m.cpu} (${m.cores} logical cores, ${m.memGiB} GiB) · Node ${m.node} (V8 ${m.v8}) · ${m.platform}/${m.arch} · load ${m.loadavg.join(' ')}`,
      '',
      'Times are medians; "vs X" is X\'s median time divided by this row\'s (above 1 = this row is faster).',
      '',
      ...this.notes.map((n) => `- ${n}`),
      ...(this.notes.length ? [''] : []),
      `| ${t[0].join(' | ')} |`,
      `| ${t[0].map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`,
      ...t.slice(1).map((r) => `| ${r.join(' | ')} |`),
      '',
    ];
    return lines.join('\n');
  }

  /** Prints the table and writes <resultsDir>/<name>.json and .md. Returns the result object. */
  finish(): SuiteResult {
    const t = this.table();
    const widths = t[0].map((_, c) => Math.max(...t.map((r) => r[c].length)));
    const line = (r: string[]) => r.map((s, c) => (c < 2 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join('  ');
    console.log(`\n== ${this.name} ==  ${this.machine.cpu}, Node ${this.machine.node}`);
    console.log(line(t[0]));
    console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const r of t.slice(1)) console.log(line(r));
    for (const n of this.notes) console.log(`  * ${n}`);

    const result: SuiteResult = { suite: this.name, machine: this.machine, notes: this.notes, rows: this.sortedRows() };
    const dir = this.opts.resultsDir ?? RESULTS_DIR;
    fs.mkdirSync(dir, { recursive: true });
    const jsonPath = path.join(dir, `${this.name}.json`);
    const mdPath = path.join(dir, `${this.name}.md`);
    fs.writeFileSync(jsonPath, JSON.stringify(result, null, 2) + '\n');
    fs.writeFileSync(mdPath, this.markdown());
    console.log(`  wrote ${path.relative(process.cwd(), jsonPath)} and ${path.relative(process.cwd(), mdPath)}\n`);
    return result;
  }
}

// ---------------------------------------------------------------------------------------------
// Suite module contract (used by bench/run.ts)

export interface SuiteContext {
  /** `--key=value` / `--flag` arguments from the command line (flag → true). */
  flags: Record<string, string | boolean>;
}

/** A suite module's default export. */
export type SuiteMain = (ctx: SuiteContext) => Promise<unknown> | unknown;

/** Parses a comma-separated numeric flag, e.g. --sizes=256,512. */
export function numberListFlag(ctx: SuiteContext, key: string, fallback: number[]): number[] {
  const v = ctx.flags[key];
  if (typeof v !== 'string') return fallback;
  return v.split(',').map((s) => Number(s.trim())).filter((x) => Number.isFinite(x) && x > 0);
}

/** Deterministic pseudo-random fill in [-1, 1) (mulberry32), for reproducible inputs. */
export function fillRandom<T extends Float32Array | Float64Array>(arr: T, seed = 1): T {
  let s = seed >>> 0;
  for (let i = 0; i < arr.length; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    arr[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return arr;
}
