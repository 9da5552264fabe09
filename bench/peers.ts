/**
 * Peer implementations measured next to kts in the same run (bench/README.md, "Peers"):
 *
 *   kts-cpu          @kts/tensor on its CPU backend (TypeScript; large matmuls on worker threads)
 *   tfjs-cpu         @tensorflow/tfjs 'cpu' backend (plain JS, one thread)
 *   tfjs-wasm        @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD; one thread under Node)
 *   gpu.js-webgpu    gpu.js 2.24 'webgpu' mode (WGSL compute shaders) on the same Dawn adapter as kts
 *   gpu.js-cpu       gpu.js 2.24 'cpu' mode (kernels compiled to plain JS, one thread)
 *   onnxruntime-cpu  onnxruntime-node, CPU execution provider (matmul suite only)
 *   pytorch-cpu      PyTorch eager (reference/bench_ops.py, Debian's torch), all cores
 *
 * gpu.js and onnxruntime-node live in bench/peers/node_modules (`npm run bench:peers`), not in the
 * root install; when they are missing the suites note it and go on without them.
 *
 * Flags every suite with peers understands:
 *   --peers=kts-cpu,tfjs-wasm,...  only these peers (default: all)     --no-peers  kts rows only
 *   --peer-cap-ms=6000   skip a peer on a shape when its best throughput so far predicts a call above this
 *   --torch-threads=N    PyTorch threads (default: all cores)
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { create } from 'webgpu';
import { cpuThreads, type Tensor } from '@kts/tensor';
import { BENCH_DIR, timeFn, type BenchRow, type BenchSuite, type SuiteContext, type Timing } from './lib.ts';

export { tf };

export const PEER_NAMES = ['kts-cpu', 'tfjs-cpu', 'tfjs-wasm', 'gpu.js-webgpu', 'gpu.js-cpu', 'onnxruntime-cpu', 'pytorch-cpu'] as const;
export type PeerName = (typeof PEER_NAMES)[number];

export const PEERS_DIR = path.join(BENCH_DIR, 'peers');
export const PEERS_MISSING = 'gpu.js / onnxruntime-node not installed: run npm run bench:peers';
const REPO_DIR = path.dirname(BENCH_DIR);
const CORES = Math.max(1, os.availableParallelism());

// ---------------------------------------------------------------------------------------------
// Small helpers

/** Largest |a - b| and largest |a| (for a relative check). */
export function maxAbsDiff(ref: ArrayLike<number>, out: ArrayLike<number>): { maxDiff: number; maxAbs: number } {
  if (ref.length !== out.length) return { maxDiff: Infinity, maxAbs: 0 };
  let maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ref[i]! - out[i]!);
    maxDiff = d > maxDiff || Number.isNaN(d) ? d : maxDiff;
    maxAbs = Math.max(maxAbs, Math.abs(ref[i]!));
  }
  return { maxDiff, maxAbs };
}

function destroyKernel(k: GpuJsKernel): void {
  (k as { destroy?: () => void }).destroy?.();
}

/** Releases a gpu.js pipeline handle (its buffer's refcount); anything else is left alone. */
export function drop(x: unknown): void {
  const h = x as { delete?: unknown; toArray?: unknown } | null;
  if (h && typeof h === 'object' && typeof h.toArray === 'function' && typeof h.delete === 'function') (h as { delete(): void }).delete();
}

/** gpu.js results: Float32Array (1D), arrays of them (2D, 3D); flattened row-major. */
export function flatten(x: unknown): Float32Array {
  if (x instanceof Float32Array) return x;
  const parts: Float32Array[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof Float32Array) parts.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'number') parts.push(Float32Array.of(v));
    else throw new Error('flatten: unexpected value');
  };
  walk(x);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// onnxruntime-node: a one-node ONNX model, written as protobuf by hand

const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n > 127) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
};
const pbKey = (field: number, wire: 0 | 2): number[] => varint(field * 8 + wire);
const pbInt = (field: number, v: number): number[] => [...pbKey(field, 0), ...varint(v)];
const pbMsg = (field: number, body: number[]): number[] => [...pbKey(field, 2), ...varint(body.length), ...body];
const pbStr = (field: number, s: string): number[] => pbMsg(field, [...new TextEncoder().encode(s)]);

/** ValueInfoProto for a float tensor: name, TypeProto{tensor_type{elem_type FLOAT, shape}}. */
const floatValue = (name: string, dims: number[]): number[] =>
  [...pbStr(1, name), ...pbMsg(2, pbMsg(1, [...pbInt(1, 1), ...pbMsg(2, dims.flatMap((d) => pbMsg(1, pbInt(1, d))))]))];

/**
 * ONNX model (IR 8, opset 13) computing Y = A @ B with both operands as graph inputs (no
 * initializer, so no weight prepacking): MatMul for A [M,K] @ B [K,N]; Gemm with transB = 1 for
 * B given as [N,K] (a Llama weight), which MLAS runs without materialising the transpose.
 */
export function onnxMatmulModel(M: number, N: number, K: number, transB: boolean): Uint8Array {
  const node = [
    ...pbStr(1, 'A'), ...pbStr(1, 'B'), ...pbStr(2, 'Y'), ...pbStr(3, 'mm'), ...pbStr(4, transB ? 'Gemm' : 'MatMul'),
    // AttributeProto { name: 'transB', i: 1, type: INT (2) }
    ...(transB ? pbMsg(5, [...pbStr(1, 'transB'), ...pbInt(3, 1), ...pbInt(20, 2)]) : []),
  ];
  const graph = [
    ...pbMsg(1, node), ...pbStr(2, 'matmul'),
    ...pbMsg(11, floatValue('A', [M, K])), ...pbMsg(11, floatValue('B', transB ? [N, K] : [K, N])),
    ...pbMsg(12, floatValue('Y', [M, N])),
  ];
  const model = [...pbInt(1, 8), ...pbStr(2, 'kts-bench'), ...pbMsg(7, graph), ...pbMsg(8, [...pbStr(1, ''), ...pbInt(2, 13)])];
  return Uint8Array.from(model);
}

// Minimal structural types for the modules under bench/peers/node_modules (not resolvable by
// tsc from here, and absent unless `npm run bench:peers` ran).
export interface OrtTensor {
  data: Float32Array;
  dispose?(): void;
}
export interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, opts: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => OrtTensor;
  env: { versions?: Record<string, string> };
}

/** gpu.js kernel `this`. */
export interface KernelThis {
  thread: { x: number; y: number; z: number };
  constants: Record<string, number>;
}
// gpu.js parses the kernel's source; the argument types here are only for tsc.
export type KernelFn = (this: KernelThis, ...args: never[]) => number;
export type GpuJsKernel = (...args: unknown[]) => unknown;
export interface GpuJs {
  createKernel(fn: KernelFn, settings: Record<string, unknown>): GpuJsKernel;
  destroy(): unknown;
}
interface GpuJsModule {
  GPU: new (opts: { mode: string }) => GpuJs;
  input(value: Float32Array, size: number[]): unknown;
}
interface GpuJsContext {
  WebGPUContext: { acquire(): Promise<{ device: GPUDevice }>; destroy(): Promise<void> };
}
/** A GPU-resident gpu.js pipeline result. */
interface GpuJsHandle {
  toArray(): Promise<unknown>;
  delete?(): void;
}

/**
 * gpu.js kernels shared by the row-wise suites: log Σ exp over the last axis of a [rows, N] input,
 * one thread per row with an online max (output [rows]; constants N).
 */
export const gpuRowLse: KernelFn = function (this: KernelThis, x: number[][]) {
  let m = -3.0e38;
  let l = 0;
  for (let j = 0; j < this.constants.N!; j++) {
    const v = x[this.thread.x]![j]!;
    if (v > m) {
      l = l * Math.exp(m - v) + 1;
      m = v;
    } else {
      l += Math.exp(v - m);
    }
  }
  return m + Math.log(l);
};

// ---------------------------------------------------------------------------------------------
// PyTorch: reference/bench_ops.py

export interface TorchJob {
  /** Row shape label (the suite's shape string). */
  id: string;
  op: 'matmul' | 'attention' | 'steering' | 'rmsnorm' | 'softmax' | 'kl';
  [param: string]: unknown;
}
interface TorchResult {
  id: string;
  medianMs?: number;
  minMs?: number;
  samples?: number;
  inner?: number;
  error?: string;
}
export interface TorchRun {
  torch: string;
  threads: number;
  sdpa: boolean;
  /** glibc malloc thresholds fixed (see reference/bench_ops.py). */
  mallopt?: boolean;
  results: TorchResult[];
}

/** Runs reference/bench_ops.py on `jobs`; a string (the reason) when PyTorch is unavailable. */
export function torchOps(jobs: TorchJob[], threads: number): TorchRun | string {
  const python = process.env.KTS_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'); // KTS_PYTHON: another torch
  try {
    const out = execFileSync(python, [path.join(REPO_DIR, 'reference', 'bench_ops.py'), '--threads', String(threads)], {
      input: JSON.stringify(jobs), encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 1 << 24, timeout: 900_000,
    });
    return JSON.parse(out.trim().split('\n').at(-1)!) as TorchRun;
  } catch (e) {
    return `PyTorch unavailable (${(e as Error).message.split('\n')[0]})`;
  }
}

// ---------------------------------------------------------------------------------------------
// The peer set of one suite

/** What `Peers.measure` needs besides the function. */
export interface PeerMeasure {
  /** Work per call in the unit the cap extrapolates with (flops, or elements): required. */
  work: number;
  flops?: number;
  bytes?: number;
  meta?: Record<string, unknown>;
  /** Async completion after the calls of one sample (e.g. the gpu.js device's queue). */
  sync?: () => Promise<unknown>;
  /** Target time of one sample when `sync` batches calls (default 150 ms). */
  sampleMs?: number;
}

/** One shape's peers for `Peers.op`. */
export interface OpSpec {
  shape: string;
  /** Work per call for the cap (elements or flops). */
  work: number;
  flops?: number;
  bytes?: number;
  /** kts CPU forward; its output is the reference for the other peers. */
  kts?: () => Tensor;
  ktsMeta?: Record<string, unknown>;
  /** kts CPU forward + backward, recorded under its own shape (e.g. `${shape} fwd+bwd`). */
  ktsBwd?: { shape: string; run: () => void; work: number; flops?: number };
  /** Makes the tfjs inputs on the current backend; `run` is called inside tf.tidy, then dataSync(). */
  tfjs?: () => { run: () => tf.Tensor; inputs: tf.Tensor[] };
  /** Builds the gpu.js kernels and inputs for a mode; `run` returns the output (a pipeline handle in webgpu mode: drop intermediates). */
  gpujs?: (mode: 'webgpu' | 'cpu', gpu: GpuJs) => Promise<{ run: () => unknown; release: unknown[]; meta?: Record<string, unknown> }>;
  /** Relative tolerance of the check against kts-cpu (default 1e-3). */
  tol?: number;
}

export interface PeersOptions {
  /** The kts WebGPU adapter: gpu.js's webgpu mode is given the same Dawn backend and flags. */
  webgpu?: { backend: string; flags: string[] };
  /** Peers this suite can run (default: all). */
  peers?: readonly PeerName[];
}

let dawnRef: GPU | null = null; // the create() result behind navigator.gpu: must stay reachable

export class Peers {
  readonly suite: BenchSuite;
  readonly capMs: number;
  readonly torchThreads: number;
  gpujs: GpuJsModule | null = null;
  ort: OrtModule | null = null;
  /** Why gpu.js's webgpu mode is not available, if it is not. */
  gpujsWebgpuReason: string | null = null;
  private readonly wanted: Set<PeerName>;
  private gpujsDevice: GPUDevice | null = null;
  private gpujsContext: GpuJsContext | null = null;
  private readonly gpus = new Map<string, GpuJs>();
  private readonly bestMsPerWork = new Map<string, number>();
  private readonly skipped = new Map<string, string[]>();
  /** onnxruntime intra-op threads (all cores). */
  readonly ortThreads = CORES;
  private ortUsed = false;
  private ktsUsed = false;
  private wasmNoted = false;

  private constructor(suite: BenchSuite, ctx: SuiteContext, opts: PeersOptions) {
    this.suite = suite;
    this.capMs = Number(ctx.flags['peer-cap-ms'] ?? 6000);
    this.torchThreads = Number(ctx.flags['torch-threads'] ?? CORES);
    const all = opts.peers ?? PEER_NAMES;
    const flag = ctx.flags.peers;
    const chosen = ctx.flags['no-peers'] === true ? [] : typeof flag === 'string' ? flag.split(',').map((s) => s.trim()) : all;
    this.wanted = new Set(all.filter((p) => chosen.includes(p)));
  }

  /** Loads what the wanted peers need; notes (never throws) what is missing. */
  static async create(suite: BenchSuite, ctx: SuiteContext, opts: PeersOptions = {}): Promise<Peers> {
    const p = new Peers(suite, ctx, opts);
    const needGpuJs = p.wanted.has('gpu.js-webgpu') || p.wanted.has('gpu.js-cpu');
    const needOrt = p.wanted.has('onnxruntime-cpu');
    if (needGpuJs || needOrt) {
      if (!existsSync(path.join(PEERS_DIR, 'node_modules'))) {
        suite.note(PEERS_MISSING);
      } else {
        const req = createRequire(path.join(PEERS_DIR, 'package.json'));
        if (needGpuJs) {
          try {
            p.gpujs = req('gpu.js') as GpuJsModule;
            p.gpujsContext = req('gpu.js/src/backend/web-gpu/context.js') as GpuJsContext;
            const version = (req('gpu.js/package.json') as { version: string }).version;
            suite.note(`gpu.js ${version}: kernels in gpu.js's documented style (one output value per thread, a loop over the reduced axis, inputs indexed a[y][x]); multi-kernel ops chained on the GPU with pipeline: true; cpu mode = the same kernels compiled to JS, one thread`);
          } catch (e) {
            suite.note(`gpu.js not loadable (${(e as Error).message.split('\n')[0]}): ${PEERS_MISSING}`);
          }
        }
        if (needOrt) {
          try {
            p.ort = req('onnxruntime-node') as OrtModule;
          } catch (e) {
            suite.note(`onnxruntime-node not loadable (${(e as Error).message.split('\n')[0]}): ${PEERS_MISSING}`);
          }
        }
      }
    }
    if (p.gpujs && p.wanted.has('gpu.js-webgpu')) await p.initGpuJsWebgpu(opts.webgpu);
    return p;
  }

  /** Whether `peer` was asked for and can run. */
  on(peer: PeerName): boolean {
    if (!this.wanted.has(peer)) return false;
    if (peer === 'gpu.js-cpu') return this.gpujs !== null;
    if (peer === 'gpu.js-webgpu') return this.gpujs !== null && this.gpujsDevice !== null;
    if (peer === 'onnxruntime-cpu') return this.ort !== null;
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Timing with a per-peer cap

  /**
   * Times `fn` for (shape, impl) and records the row, unless the peer's best throughput so far
   * predicts a call longer than --peer-cap-ms (then the shape is listed as skipped in a note).
   * Without `sync`: timeFn (benchmark.js for fast synchronous calls). With `sync`: each sample is
   * `reps` calls then `await sync()`, reported per call (as the kts WebGPU rows). Calls over 1.5 s
   * get 3 samples.
   */
  async measure(shape: string, impl: string, fn: () => unknown, m: PeerMeasure): Promise<BenchRow | null> {
    const best = this.bestMsPerWork.get(impl);
    if (best !== undefined && best * m.work > this.capMs) {
      const list = this.skipped.get(impl) ?? [];
      list.push(`${shape} (~${((best * m.work) / 1000).toFixed(1)} s/call)`);
      this.skipped.set(impl, list);
      console.log(`[${this.suite.name}] ${shape} ${impl}: skipped (estimated ${((best * m.work) / 1000).toFixed(1)} s per call > cap ${this.capMs / 1000} s)`);
      return null;
    }
    const call = async (): Promise<void> => {
      const r = fn();
      drop(r instanceof Promise ? await r : r);
    };
    const once = async (): Promise<number> => {
      const t0 = performance.now();
      await call();
      if (m.sync) await m.sync();
      return performance.now() - t0;
    };
    await once(); // compile / first-touch
    const first = await once();
    let t: Pick<Timing, 'medianMs' | 'minMs' | 'samples' | 'method'>;
    let reps = 1;
    if (first > 1500) {
      const xs = [first, await once(), await once()].sort((a, b) => a - b);
      t = { medianMs: xs[1]!, minMs: xs[0]!, samples: 3, method: 'median' };
    } else if (m.sync) {
      reps = Math.max(1, Math.min(50, Math.round((m.sampleMs ?? 150) / Math.max(first, 0.01))));
      const sync = m.sync;
      const r = await timeFn(async () => {
        for (let i = 0; i < reps; i++) await call();
        await sync();
      }, { method: 'median', minSamples: 5, maxSamples: 9, targetMs: 1000, warmup: 1 });
      t = { medianMs: r.medianMs / reps, minMs: r.minMs / reps, samples: r.samples, method: 'median' };
    } else {
      t = await timeFn(() => {
        const r = fn();
        return r instanceof Promise ? r.then(drop) : drop(r);
      }, { minSamples: 5, maxSamples: 15, targetMs: 1500, warmup: 1 });
    }
    if (impl === 'kts-cpu') this.ktsUsed = true;
    const prev = this.bestMsPerWork.get(impl);
    const rate = t.medianMs / Math.max(m.work, 1);
    this.bestMsPerWork.set(impl, prev === undefined ? rate : Math.min(prev, rate));
    const meta = { ...m.meta, ...(reps > 1 ? { callsPerSample: reps } : {}) };
    return this.suite.record(shape, impl, t, { flops: m.flops, bytes: m.bytes, meta: Object.keys(meta).length ? meta : undefined });
  }

  /**
   * After a measured row: compares one more call's output with the kts reference, stores
   * `maxAbsDiffVsKts` in the row's meta and notes a WARNING above `tol` (relative to max |ref|).
   */
  async verify(row: BenchRow | null, ref: ArrayLike<number> | null, out: () => ArrayLike<number> | Promise<ArrayLike<number>>, tol = 1e-3): Promise<void> {
    if (!row || !ref) return;
    const { maxDiff, maxAbs } = maxAbsDiff(ref, await out());
    if (!(maxDiff <= tol * Math.max(maxAbs, 1e-30))) {
      this.suite.note(`WARNING: ${row.impl} disagrees with kts at ${row.shape}: max |diff| ${maxDiff.toExponential(2)} (max |ref| ${maxAbs.toExponential(2)})`);
    }
    row.meta = { ...row.meta, maxAbsDiffVsKts: Number(maxDiff.toExponential(3)) };
  }

  /**
   * The standard peer rows of one shape, in order: kts-cpu (its output is the reference the others
   * are checked against; optionally a forward+backward row), tfjs-cpu, tfjs-wasm, gpu.js-webgpu,
   * gpu.js-cpu. PyTorch runs separately (`torch()`), all shapes in one process.
   */
  async op(spec: OpSpec): Promise<void> {
    const { shape, work } = spec;
    const base = { work, flops: spec.flops, bytes: spec.bytes };
    let ref: ArrayLike<number> | null = null;
    if (spec.kts && this.on('kts-cpu')) {
      const fwd = spec.kts;
      const row = await this.measure(shape, 'kts-cpu', fwd, { ...base, meta: spec.ktsMeta });
      if (row) ref = fwd().toArray();
    }
    if (spec.ktsBwd && this.on('kts-cpu')) {
      const b = spec.ktsBwd;
      await this.measure(b.shape, 'kts-cpu', b.run, { work: b.work, flops: b.flops, meta: spec.ktsMeta });
    }
    if (spec.tfjs) {
      for (const backend of ['cpu', 'wasm'] as const) {
        if (!this.on(`tfjs-${backend}`)) continue;
        const meta = await this.tfjs(backend);
        if (!meta) continue;
        const { run, inputs } = spec.tfjs();
        const call = (): Float32Array => {
          const o = tf.tidy(run);
          const d = o.dataSync() as Float32Array;
          o.dispose();
          return d;
        };
        const row = await this.measure(shape, `tfjs-${backend}`, call, { ...base, meta });
        await this.verify(row, ref, call, spec.tol);
        tf.dispose(inputs);
      }
    }
    if (spec.gpujs) {
      for (const mode of ['webgpu', 'cpu'] as const) {
        if (!this.on(`gpu.js-${mode}`)) continue;
        const { run, release, meta } = await spec.gpujs(mode, this.gpu(mode));
        const row = mode === 'webgpu'
          ? await this.measure(shape, 'gpu.js-webgpu', run, { ...base, meta: { mode, ...meta }, sync: this.gpuSync })
          : await this.measure(shape, 'gpu.js-cpu', run, { ...base, meta: { mode, ...meta, threads: 1 } });
        await this.verify(row, ref, async () => {
          const r = run();
          return this.read(r instanceof Promise ? await r : r);
        }, spec.tol);
        this.release(...release);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // tfjs

  /** Switches tfjs to 'cpu' or 'wasm'; row meta, or null (noted) when the backend cannot start. */
  async tfjs(backend: 'cpu' | 'wasm'): Promise<Record<string, unknown> | null> {
    if (backend === 'wasm') {
      // In Node the wasm backend reads its .wasm files from the package's dist folder with fs.
      const require = createRequire(import.meta.url);
      setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep);
    }
    const ok = await tf.setBackend(backend);
    await tf.ready();
    if (!ok || tf.getBackend() !== backend) {
      this.suite.note(`tfjs backend '${backend}' could not be initialised; skipped`);
      return null;
    }
    if (backend === 'cpu') return { backend, threads: 1 };
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
    if (!this.wasmNoted) {
      this.wasmNoted = true;
      this.suite.note(`tfjs ${tf.version.tfjs}: cpu backend plain JS, one thread; wasm backend SIMD ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off (tfjs-backend-wasm disables them under Node): one thread'}; each call ends with dataSync()`);
    }
    return { backend, simd, threads: threads ? 'on' : 1 };
  }

  // -------------------------------------------------------------------------------------------
  // gpu.js

  /**
   * gpu.js's webgpu mode calls `navigator.gpu.requestAdapter()` (its own `webgpu@0.2.9` dependency
   * is only for its tests). Node has no navigator.gpu, so it gets one made with the root's `webgpu`
   * package (the Dawn kts uses), with the kts adapter's backend and flags: on a machine without a
   * GPU, OpenGL ES on llvmpipe in compatibility mode.
   */
  private async initGpuJsWebgpu(kts?: PeersOptions['webgpu']): Promise<void> {
    try {
      const backend = kts?.backend ?? 'default';
      const flags = kts?.flags ?? [];
      if (backend === 'opengles' && !process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';
      dawnRef = create(flags);
      const dawn = dawnRef;
      const gpu = {
        requestAdapter: (o: GPURequestAdapterOptions = {}) =>
          dawn.requestAdapter(backend === 'opengles' ? { ...o, featureLevel: 'compatibility' } : { powerPreference: 'high-performance', ...o }),
        getPreferredCanvasFormat: (): GPUTextureFormat => 'rgba8unorm',
        wgslLanguageFeatures: dawn.wgslLanguageFeatures,
      };
      const g = globalThis as { navigator?: { gpu?: unknown } };
      if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
      else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
      const { device } = await this.gpujsContext!.WebGPUContext.acquire();
      this.gpujsDevice = device;
      this.suite.note(`gpu.js webgpu mode: navigator.gpu from the root webgpu package (the Dawn kts uses; gpu.js's own webgpu@0.2.9 dependency needs GLIBCXX_3.4.32 on Linux), ${backend === 'opengles' ? 'OpenGL ES backend in compatibility mode' : 'default backend'}, flags ${flags.join(' ') || '(none)'}; rows are kernel time: inputs GPU-resident, outputs kept on the GPU (pipeline: true), calls per submit awaited with onSubmittedWorkDone`);
    } catch (e) {
      this.gpujsWebgpuReason = (e as Error).message.split('\n')[0]!;
      this.suite.note(`gpu.js webgpu mode unavailable: ${this.gpujsWebgpuReason}`);
    }
  }

  /** A gpu.js instance in 'webgpu' or 'cpu' mode (one per mode, destroyed by close()). */
  gpu(mode: 'webgpu' | 'cpu'): GpuJs {
    let g = this.gpus.get(mode);
    if (!g) {
      g = new this.gpujs!.GPU({ mode });
      this.gpus.set(mode, g);
    }
    return g;
  }

  /** The gpu.js webgpu device's queue, drained (for `PeerMeasure.sync`). */
  gpuSync = (): Promise<unknown> => this.gpujsDevice!.queue.onSubmittedWorkDone();

  /**
   * A gpu.js kernel argument holding `data` with dims [x, y, z] (x fastest): in webgpu mode a
   * GPU-resident copy (uploaded once, so timed calls do not upload), in cpu mode input(data, dims).
   * Index it as a[y][x] / a[z][y][x]: gpu.js keeps scalars in f32, so a flat index above 2^24 would
   * round, while each coordinate stays exact.
   */
  async resident(mode: 'webgpu' | 'cpu', data: Float32Array, dims: number[]): Promise<unknown> {
    const inp = this.gpujs!.input(data, dims);
    if (mode === 'cpu') return inp;
    const fn: KernelFn = dims.length === 1
      ? function (this: KernelThis, a: number[]) { return a[this.thread.x]!; }
      : dims.length === 2
        ? function (this: KernelThis, a: number[][]) { return a[this.thread.y]![this.thread.x]!; }
        : function (this: KernelThis, a: number[][][]) { return a[this.thread.z]![this.thread.y]![this.thread.x]!; };
    const copy = this.gpu('webgpu').createKernel(fn, { output: dims, pipeline: true, immutable: true });
    const handle = await copy(inp);
    await this.gpuSync();
    destroyKernel(copy); // frees the upload; the handle keeps the copy alive until release()
    return handle;
  }

  /** Frees resident() copies and kernels of one shape (gpu.js webgpu buffers are otherwise kept until close()). */
  release(...xs: unknown[]): void {
    for (const x of xs) {
      if (typeof x === 'function') destroyKernel(x as GpuJsKernel);
      else drop(x);
    }
  }

  /** Reads a gpu.js result (pipeline handle, released here, or array) back as one flat Float32Array. */
  async read(result: unknown): Promise<Float32Array> {
    const r = result as Partial<GpuJsHandle>;
    if (typeof r.toArray !== 'function') return flatten(result);
    const out = flatten(await r.toArray());
    drop(result);
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // onnxruntime-node

  /** An InferenceSession for one MatMul/Gemm (CPU EP, all cores), or null when unavailable. */
  async ortMatmul(M: number, N: number, K: number, transB: boolean): Promise<OrtSession | null> {
    if (!this.ort) return null;
    this.ortUsed = true;
    return this.ort.InferenceSession.create(onnxMatmulModel(M, N, K, transB), {
      executionProviders: ['cpu'], intraOpNumThreads: this.ortThreads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
    });
  }

  // -------------------------------------------------------------------------------------------
  // PyTorch

  /** Runs the jobs in reference/bench_ops.py and records a 'pytorch-cpu' row per job (id = shape). */
  torch(jobs: TorchJob[], work: (job: TorchJob) => { flops?: number; bytes?: number } = () => ({})): void {
    if (!this.on('pytorch-cpu') || jobs.length === 0) return;
    console.log(`[${this.suite.name}] pytorch-cpu: running ${jobs.length} shapes in reference/bench_ops.py (${this.torchThreads} threads)`);
    const res = torchOps(jobs.map((j) => ({ targetMs: 1000, ...j })), this.torchThreads);
    if (typeof res === 'string') {
      this.suite.note(res);
      return;
    }
    const byId = new Map(res.results.map((r) => [r.id, r]));
    for (const job of jobs) {
      const r = byId.get(job.id);
      if (!r || r.medianMs === undefined) {
        this.suite.note(`pytorch-cpu failed at ${job.id}: ${r?.error ?? 'no result'}`);
        continue;
      }
      this.suite.record(job.id, 'pytorch-cpu', { medianMs: r.medianMs, minMs: r.minMs, samples: r.samples, method: 'median' }, {
        ...work(job), meta: { torch: res.torch, threads: res.threads, callsPerSample: r.inner },
      });
    }
    this.suite.note(`pytorch-cpu: torch ${res.torch} eager float32 (reference/bench_ops.py), ${res.threads} threads, no_grad for forward rows${res.mallopt ? '; glibc malloc thresholds fixed (mallopt) so that large temporaries are reused rather than unmapped and page-faulted back per call, whatever the job order' : ''}${jobs.some((j) => j.op === 'attention') ? `; attention written out (q·kᵀ/√d, causal masked_fill, softmax, ·v)${res.sdpa ? '' : ': F.scaled_dot_product_attention does not exist in this torch'}` : ''}; inputs made in Python (same shapes and distribution)`);
  }

  // -------------------------------------------------------------------------------------------

  /** Notes skipped shapes, destroys gpu.js instances and its device (so Node can exit). */
  async close(): Promise<void> {
    for (const [impl, list] of this.skipped) {
      this.suite.note(`${impl}: not run where its best throughput in this run predicts > ${this.capMs / 1000} s per call (--peer-cap-ms=): ${list.join(', ')}`);
    }
    if (this.ktsUsed) {
      const t = cpuThreads();
      this.suite.note(`kts-cpu: @kts/tensor CPU backend at Tensor level (TypeScript); matmuls on ${t} thread${t > 1 ? 's' : ''} (setCpuThreads / KTS_CPU_THREADS), everything else on one`);
    }
    if (this.ortUsed) {
      this.suite.note(`onnxruntime-cpu: onnxruntime-node ${this.ort?.env.versions?.node ?? ''}, CPU execution provider, intraOpNumThreads ${this.ortThreads}; one-node model (MatMul, or Gemm transB=1 for [N,K] weights) with both operands as inputs`);
    }
    for (const g of this.gpus.values()) {
      try {
        g.destroy();
      } catch {
        /* ignore */
      }
    }
    this.gpus.clear();
    if (this.gpujsContext && this.gpujsDevice) await this.gpujsContext.WebGPUContext.destroy();
    this.gpujsDevice = null;
    dawnRef = null;
    const g = globalThis as { navigator?: { gpu?: unknown } };
    if (g.navigator && 'gpu' in g.navigator) delete g.navigator.gpu;
  }
}
