/**
 * CPU work spread over worker threads.
 *
 * JavaScript runs one thread per isolate, so the CPU backend's only route to more than one core
 * is `worker_threads`. Two kinds of job go to the workers (cpu-worker.ts):
 *   - WebAssembly kernel calls (`runOnThreads`): every worker instantiates the kernel modules on
 *     the same shared WebAssembly.Memory as the calling thread (wasm/runtime.ts), so a job is just
 *     a list of (module, function, numeric arguments) — tensors are addresses in that memory.
 *   - TypeScript matmuls (`matmulParallel`, the KTS_CPU_KERNELS=js path): operands on
 *     SharedArrayBuffers (alloc.ts), each worker runs `matmulStrided` on its rows or columns.
 * Every output element is computed by exactly one thread with the same arithmetic as on one
 * thread, and work is cut the same way whatever the thread count where the cut could change
 * rounding (reductions), so results are bit-identical for any thread count.
 *
 * Hand-off: each job goes to its worker's MessagePort and a shared counter wakes the workers (see
 * cpu-worker.ts); the calling thread computes its own part, then sleeps in Atomics.wait until the
 * workers have counted down. Calls stay synchronous, like every other backend primitive.
 *
 * Thread count: `setCpuThreads(n)`, else the KTS_CPU_THREADS environment variable, else
 * os.availableParallelism() capped at 8. 1 turns workers off. Workers start on the first large
 * job and are unref'd, so they never keep Node alive. Outside Node (no worker_threads) everything
 * runs on the calling thread.
 */
import { matmulStrided, type FloatArray } from './matmul.ts';
import { allocShared, hasSharedMemory, SHARED_MIN } from './alloc.ts';
import { instantiate, loadedRuntime, type KernelModule } from './wasm/runtime.ts';
import { runCalls, WORK, type WasmCall } from './wasm/calls.ts';

export { allocFloat, allocShared, SHARED_MIN } from './alloc.ts';

/**
 * TypeScript matmuls below this many multiply-adds stay on the calling thread. A hand-off costs
 * ~10 µs to a spinning worker (~40 µs to a sleeping one); 2^16 is where two threads first beat one
 * on this machine (the 288×288 projections of a stories15M decode step: 42 µs on one thread).
 */
export const PARALLEL_MIN = 1 << 16;
/** A worker that has not answered after this long is treated as lost. */
const WORKER_TIMEOUT_MS = 120_000;

/** After a job a worker spins this long for the next before sleeping (like OpenMP's spin-then-block). */
export const SPIN_MS = 0.5;

// ctrl layout (Int32): [SEQ] jobs posted so far, [DONE] workers finished with the current job,
// [FAILED] a worker threw, [NEXT] the next piece of a kernel job to claim, [READY + i] worker i has
// loaded (1) or failed to (-1).
const LAYOUT = { SEQ: 0, DONE: 1, FAILED: 2, NEXT: 3, READY: 4 };
const { SEQ, DONE, FAILED, NEXT, READY } = LAYOUT;

type NodeWorkers = typeof import('node:worker_threads');
type Worker = import('node:worker_threads').Worker;
type MessagePort = import('node:worker_threads').MessagePort;

let requested: number | undefined;
let pool: { workers: Worker[]; ports: MessagePort[]; ctrl: Int32Array } | null = null;
let disabledReason: string | null = null;
let parallelCalls = 0;
let kernelCalls = 0;

/** Node's worker_threads, or null outside Node (browsers run everything on the calling thread). */
function nodeWorkers(): NodeWorkers | null {
  return globalThis.process?.getBuiltinModule?.('node:worker_threads') ?? null;
}

/**
 * Jobs run across threads so far, WebAssembly kernel launches (for tests and benchmarks), and why
 * threads are off, if they are.
 */
export function cpuThreadStats(): { threads: number; parallelCalls: number; kernelCalls: number; disabled: string | null } {
  return { threads: cpuThreads(), parallelCalls, kernelCalls, disabled: disabledReason };
}

function defaultThreads(): number {
  const env = globalThis.process?.env?.KTS_CPU_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`KTS_CPU_THREADS must be a positive integer, got "${env}"`);
    return n;
  }
  const os = globalThis.process?.getBuiltinModule?.('node:os');
  return Math.min(8, Math.max(1, os?.availableParallelism() ?? 1));
}

/** Threads (the calling one included) that large CPU jobs use. */
export function cpuThreads(): number {
  if (disabledReason !== null) return 1;
  return requested ?? defaultThreads();
}

/** Sets the CPU backend's thread count (1 = no workers); running workers of another count are stopped. */
export function setCpuThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setCpuThreads: expected a positive integer, got ${n}`);
  requested = n;
  if (pool && pool.workers.length !== n - 1) stopCpuThreads();
}

/** Terminates the worker threads (they restart on the next large job). */
export function stopCpuThreads(): void {
  if (!pool) return;
  for (const w of pool.workers) void w.terminate();
  pool = null;
}

const isShared = (a: FloatArray): boolean => hasSharedMemory && a.buffer instanceof SharedArrayBuffer;

// Reused shared scratch arrays for small operands and outputs (by role and dtype): allocating a
// SharedArrayBuffer per call costs more than the copy.
const scratch = new Map<string, FloatArray>();
function scratchFor(role: 'a' | 'b' | 'c', like: FloatArray): FloatArray {
  const key = role + (like instanceof Float32Array ? '32' : '64');
  let s = scratch.get(key);
  if (!s || s.length < like.length) {
    s = allocShared(like instanceof Float32Array ? 'float32' : 'float64', Math.max(like.length, 1024));
    scratch.set(key, s);
  }
  return s;
}

/** `x` itself if workers can read it, else (if small) a shared scratch holding a copy; null for big private arrays. */
function shareable(role: 'a' | 'b', x: FloatArray): FloatArray | null {
  if (isShared(x)) return x;
  if (x.length > SHARED_MIN) return null; // copying a big operand costs as much as the product saves
  const s = scratchFor(role, x);
  s.set(x);
  return s;
}

/**
 * The worker's boot code. Running from TypeScript sources (tsx), a worker does not inherit the
 * parent's loader hooks on Node 20, so it registers tsx itself before importing the worker module;
 * compiled to JavaScript it imports the module directly. A failure marks the slot -1.
 */
function bootCode(): string {
  const isTs = import.meta.url.endsWith('.ts');
  const entry = new URL(isTs ? './cpu-worker.ts' : './cpu-worker.js', import.meta.url);
  const load = isTs
    ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); })`
    : `import(${JSON.stringify(entry.href)})`;
  // process.getBuiltinModule, not require: the code is evaluated as ESM when the parent ran with --input-type=module
  return `const { workerData } = process.getBuiltinModule('node:worker_threads');
${load}.catch((e) => {
  console.error('kts: CPU worker failed to load:', e);
  Atomics.store(workerData.ctrl, ${READY} + workerData.slot, -1);
  Atomics.notify(workerData.ctrl, ${READY} + workerData.slot);
});`;
}

function disable(reason: string, workers: Worker[]): null {
  for (const w of workers) void w.terminate();
  disabledReason = reason;
  console.warn(`kts: ${reason}; the CPU backend runs on one thread`);
  return null;
}

function startPool(threads: number): typeof pool {
  const wt = nodeWorkers();
  if (!wt || !hasSharedMemory) return disable('worker_threads or SharedArrayBuffer are unavailable', []);
  const ctrl = new Int32Array(new SharedArrayBuffer(4 * (READY + threads)));
  const workers: Worker[] = [];
  let code: string;
  try {
    code = bootCode();
  } catch (e) {
    return disable(`CPU workers cannot be started (${(e as Error).message})`, workers);
  }
  // Workers run the WebAssembly kernels on the calling thread's memory (if the kernels loaded).
  const rt = loadedRuntime();
  const wasm = rt ? { memory: rt.memory, modules: [...rt.modules] } : null;
  const ports: MessagePort[] = [];
  // The parent's flags, less --input-type (it would apply to the worker's eval'd boot code);
  // otherwise Node's default (the parent's flags a worker accepts).
  const argv = globalThis.process.execArgv;
  const filtered = argv.filter((a, k) => !a.startsWith('--input-type') && argv[k - 1] !== '--input-type');
  const execArgv = filtered.length < argv.length ? filtered : undefined;
  for (let i = 0; i < threads - 1; i++) {
    const { port1, port2 } = new wt.MessageChannel();
    ports.push(port1);
    try {
      const w = new wt.Worker(code, { eval: true, workerData: { ctrl, slot: i, port: port2, layout: LAYOUT, spinMs: SPIN_MS, wasm }, transferList: [port2], execArgv });
      w.on('error', (e) => console.error(`kts: CPU worker ${i}:`, e));
      w.unref();
      workers.push(w);
    } catch (e) {
      return disable(`CPU workers cannot be started (${(e as Error).message.split('\n')[0]})`, workers);
    }
  }
  // Block until every worker has loaded its module (the caller is synchronous); give up on a timeout.
  const deadline = performance.now() + 20_000;
  for (let i = 0; i < workers.length; i++) {
    for (let state = Atomics.load(ctrl, READY + i); state !== 1; state = Atomics.load(ctrl, READY + i)) {
      const left = deadline - performance.now();
      if (state === -1) return disable('a CPU worker failed to load (see stderr)', workers);
      if (left <= 0) return disable('CPU workers did not start within 20 s', workers);
      Atomics.wait(ctrl, READY + i, 0, Math.min(left, 100));
    }
  }
  return { workers, ports, ctrl };
}

/** Posts jobs[w] to worker w (null: none), runs `local` here, waits for the workers; false if it could not hand off. */
function handOff(jobs: (object | null)[], local: () => void): boolean {
  pool ??= startPool(cpuThreads());
  if (!pool) return false;
  parallelCalls++;
  const { ports, ctrl } = pool;
  Atomics.store(ctrl, DONE, 0);
  Atomics.store(ctrl, FAILED, 0);
  let posted = 0;
  for (let w = 0; w < ports.length && w < jobs.length; w++) {
    const job = jobs[w];
    if (!job) continue;
    ports[w]!.postMessage(job);
    posted++;
  }
  Atomics.add(ctrl, SEQ, 1);
  Atomics.notify(ctrl, SEQ);
  local();
  const deadline = performance.now() + WORKER_TIMEOUT_MS;
  for (let done = Atomics.load(ctrl, DONE); done < posted; done = Atomics.load(ctrl, DONE)) {
    if (performance.now() > deadline) {
      stopCpuThreads();
      disabledReason = `a CPU worker did not answer within ${WORKER_TIMEOUT_MS / 1000} s`;
      throw new Error(`kts: ${disabledReason}; CPU threads are now off (setCpuThreads(1))`);
    }
    Atomics.wait(ctrl, DONE, done, 1000);
  }
  // A worker that threw has printed why; the caller redoes the work here to surface the error.
  return Atomics.load(ctrl, FAILED) === 0;
}

export { runCalls, WORK, type WasmCall } from './wasm/calls.ts';

/**
 * Claims pieces of a kernel job until none is left (the calling thread and every worker do this
 * at once, so a thread the OS has descheduled holds up only the piece it is on).
 */
export function claimPieces(ctrl: Int32Array, k: Readonly<Record<string, KernelModule>>, pieces: readonly WasmCall[][], work: number): void {
  for (let i = Atomics.add(ctrl, NEXT, 1); i < pieces.length; i = Atomics.add(ctrl, NEXT, 1)) runCalls(k, pieces[i]!, work);
}

/**
 * Runs independent pieces of kernel calls on the shared heap (the calls within a piece in order),
 * spread over the threads: each thread claims the next unclaimed piece. Every piece writes its own
 * outputs with the same arithmetic wherever it runs, so any thread count and any claiming order
 * give the same bits. `works[t]` is thread t's scratch (for WORK arguments). With one piece, or
 * without workers, everything runs here in order.
 */
export function runOnThreads(pieces: readonly WasmCall[][], works: readonly number[] = []): void {
  const rt = loadedRuntime();
  if (!rt) throw new Error('runOnThreads: the WebAssembly kernels are not loaded');
  kernelCalls++;
  const threads = cpuThreads();
  if (pieces.length > 1 && threads > 1 && works.length !== 1) {
    pool ??= startPool(threads);
    if (pool) {
      const { ctrl } = pool;
      Atomics.store(ctrl, NEXT, 0);
      const job = { kind: 'wasm', pieces, works };
      if (handOff(pool.ports.map(() => job), () => claimPieces(ctrl, rt.k, pieces, works[0] ?? WORK))) return;
      // a worker threw (it printed why): run it all here, which surfaces the error
    }
  }
  for (const calls of pieces) runCalls(rt.k, calls, works[0] ?? WORK);
}

/** Instances of the kernel modules on a worker's side (cpu-worker.ts). */
export function workerInstances(wasm: { memory: WebAssembly.Memory; modules: [string, WebAssembly.Module][] } | null): Record<string, KernelModule> | null {
  if (!wasm) return null;
  const k: Record<string, KernelModule> = {};
  for (const [name, mod] of wasm.modules) k[name] = instantiate(name, mod, wasm.memory);
  return k;
}

/** One slice of a product for one thread: C[cOff..] (rows ldc apart) = A[aOff..] @ B[bOff..] with M×N×K. */
export type Part = [aOff: number, bOff: number, cOff: number, M: number, N: number, K: number, ldc: number];

/**
 * [start, end) ranges cutting n into at most `parts` pieces of about equal size, each a multiple
 * of `step` long but the last, which takes the rest: so no piece is shorter than `step` unless n
 * is. That keeps every piece on the loops matmulStrided runs for the whole (a one-row or
 * one-column piece would take its vector loops, and a vector product under 8 columns another
 * loop, with other rounding), so results do not depend on the thread count.
 */
function cut(n: number, parts: number, step: number): [number, number][] {
  const units = Math.floor(n / step);
  const p = Math.min(parts, Math.max(1, units));
  const at = (t: number): number => (t === p ? n : step * Math.floor((t * units) / p));
  return Array.from({ length: p }, (_, t) => [at(t), at(t + 1)]);
}

/** Runs a thread's parts of a TypeScript matmul (here and in cpu-worker.ts). */
export function runParts(a: FloatArray, ars: number, acs: number, b: FloatArray, brs: number, bcs: number, c: FloatArray, parts: readonly Part[]): void {
  for (const [ao, bo, co, m, n, k, ldc] of parts) matmulStrided(a, ao, ars, acs, b, bo, brs, bcs, c, co, m, n, k, ldc);
}

/**
 * The TypeScript matmul path: C_t = A_t @ B_t for the batch of products in `items`, spread over
 * the workers when that pays; returns false (and does nothing) when it does not, so the caller
 * runs it serially. Operand layout as in matmulStrided; each item is (aOff, bOff, cOff).
 */
export function matmulParallel(
  A: FloatArray, ars: number, acs: number,
  B: FloatArray, brs: number, bcs: number,
  C: FloatArray, items: readonly (readonly [number, number, number])[],
  M: number, N: number, K: number,
): boolean {
  const threads = cpuThreads();
  if (threads < 2 || items.length * M * N * K < PARALLEL_MIN) return false;
  const isFloat = (x: unknown): boolean => x instanceof Float32Array || x instanceof Float64Array;
  if (!isFloat(A) || !isFloat(B) || !isFloat(C)) return false; // int32 products stay serial
  if (!isShared(C) && C.length > SHARED_MIN) return false;
  const a = shareable('a', A);
  const b = a && shareable('b', B);
  if (!a || !b) return false;
  const c = isShared(C) ? C : scratchFor('c', C);

  // Cut the work into `threads` parts: whole batch entries if there are enough, else row ranges
  // (multiples of 4, the micro-kernel height) when there are 4 rows a thread, else column ranges.
  // A column range is a window of C's rows: its part writes rows N apart (ldc = N), not packed.
  const parts: Part[][] = Array.from({ length: threads }, () => []);
  if (items.length >= threads) {
    items.forEach(([ao, bo, co], i) => parts[Math.floor((i * threads) / items.length)]!.push([ao, bo, co, M, N, K, N]));
  } else {
    const byRows = M >= 4 * threads;
    for (const [ao, bo, co] of items) {
      cut(byRows ? M : N, threads, byRows ? 4 : M === 1 ? 8 : 2).forEach(([s, e], t) => {
        if (byRows) parts[t]!.push([ao + s * ars, bo, co + s * N, e - s, N, K, N]);
        else parts[t]!.push([ao, bo + s * bcs, co + s, M, e - s, K, N]);
      });
    }
  }
  const jobs = parts.slice(1).map((mine) => (mine.length ? { kind: 'matmul', a, ars, acs, b, brs, bcs, c, parts: mine } : null));
  const ok = handOff(jobs, () => runParts(a, ars, acs, b, brs, bcs, c, parts[0]!));
  if (!ok) return false;
  if (c !== C) C.set(c.subarray(0, C.length));
  return true;
}
