/**
 * Shared helpers of the kernel tests (test/webgpu/<kernel>.test.ts): deterministic non-zero
 * random inputs, NaN-poisoned output buffers, readback and tolerance checks, f16 uploads, the
 * kernel families, and random shapes for the row kernels.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { safetensors } from '@kts/tensor';
import { getPipelineAsync, currentDevice, currentPool, readBuffer, setKernelFamily, writeBuffer, type KernelFamily } from '@kts/webgpu';
import { fusedLanes, planRows, type RowPlan } from '@kts/webgpu/kernels';

/** Deterministic generator (LCG), independent of fast-check's so shrinking stays reproducible. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    this.s = (Math.imul(this.s, 1664525) + 1013904223) >>> 0;
    return this.s / 2 ** 32;
  }
  /** ±[lo, hi): never zero. */
  nonZero(lo = 0.5, hi = 1.5): number {
    const m = lo + (hi - lo) * this.next();
    return this.next() < 0.5 ? -m : m;
  }
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  array(n: number, lo = 0.5, hi = 1.5): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = this.nonZero(lo, hi);
    return a;
  }
}

/** Pool buffer holding `data` (or NaN poison of `elems` floats when data is a number). */
export function upload(data: Float32Array | Int32Array | number): GPUBuffer {
  const pool = currentPool();
  if (typeof data === 'number') {
    const buf = pool.acquire(Math.max(4, data * 4));
    writeBuffer(buf, new Float32Array(buf.size / 4).fill(NaN));
    return buf;
  }
  const buf = pool.acquire(Math.max(4, data.byteLength));
  // Poison the slack too, so reads past the end are caught as NaN where they matter.
  const full = new Float32Array(buf.size / 4).fill(NaN);
  if (data instanceof Int32Array) new Int32Array(full.buffer).set(data);
  else full.set(data);
  writeBuffer(buf, full);
  return buf;
}

export async function download(buf: GPUBuffer, elems: number): Promise<Float32Array> {
  return new Float32Array(await readBuffer(buf, Math.max(4, elems * 4)));
}

export function release(...bufs: GPUBuffer[]): void {
  const pool = currentPool();
  for (const b of bufs) pool.release(b);
}

/**
 * Asserts |got − ref| ≤ atol + rtol·scale for every element, where scale is `scales[i]` if
 * given (e.g. Σ|terms|) else |ref[i]|. Infinities and NaN in ref must match exactly; NaN in got
 * fails otherwise.
 */
export function assertClose(
  what: string,
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
  { atol = 1e-5, rtol = 1e-4, scales }: { atol?: number; rtol?: number; scales?: ArrayLike<number> } = {},
): number {
  assert.equal(got.length >= ref.length, true, `${what}: got ${got.length} values, expected ${ref.length}`);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const g = got[i]!;
    const r = ref[i]!;
    if (!Number.isFinite(r)) {
      if (!(g === r || (Number.isNaN(g) && Number.isNaN(r)))) assert.fail(`${what}[${i}] = ${g}, expected ${r}`);
      continue;
    }
    const tol = atol + rtol * (scales ? scales[i]! : Math.abs(r));
    const err = Math.abs(g - r);
    if (!(err <= tol)) assert.fail(`${what}[${i}] = ${g}, expected ${r} (|err| ${err.toExponential(2)} > tol ${tol.toExponential(2)})`);
    worst = Math.max(worst, err / tol);
  }
  return worst;
}

/** Compiles a pipeline with readable WGSL errors (line:col) before the first dispatch. */
export async function compile(code: string, entryPoint: string): Promise<void> {
  await getPipelineAsync(currentDevice(), code, entryPoint);
}

/** Max |x| of an array (for tolerances relative to a tensor's scale). */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]!)) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Pool buffer holding `data` rounded to f16 (2 bytes each, NaN-poisoned slack); also returns the rounded values. */
export function uploadF16(data: Float32Array): { buffer: GPUBuffer; rounded: Float32Array } {
  const bits = new Uint16Array(Math.max(2, Math.ceil(data.length / 2) * 2)).fill(0x7e00);
  const rounded = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    bits[i] = safetensors.f32ToF16Bits(data[i]!);
    rounded[i] = safetensors.f16BitsToF32(bits[i]!);
  }
  const buf = currentPool().acquire(Math.max(4, bits.byteLength));
  writeBuffer(buf, bits);
  return { buffer: buf, rounded };
}

// ---- kernel families and the row kernels -----------------------------------------------------

/** Both kernel families: every GPU variant also runs here (forced on llvmpipe in CI). */
export const FAMILIES: readonly KernelFamily[] = ['llvmpipe', 'gpu'];

/** Runs fn with the kernel family forced (restored afterwards). */
export async function withFamily<T>(family: KernelFamily, fn: () => Promise<T>): Promise<T> {
  const prev = setKernelFamily(family);
  try {
    return await fn();
  } finally {
    setKernelFamily(prev);
  }
}

/** A row-kernel case: [rows, N], lanes per row g (0 = the planner's choice), input seed. */
export interface RowShape {
  rows: number;
  N: number;
  g: number;
  seed: number;
}

/** N: 1, primes, vec4 and scalar, non-multiples of the lane counts. */
const ROW_NS = [1, 2, 3, 7, 8, 13, 64, 100, 257, 1000];
const LANES: Record<KernelFamily, number[]> = { llvmpipe: [0, 1, 2, 4, 16], gpu: [0, 1, 4, 32, 256] };

/** Random row shapes for a family (lanes per row from that family's range). */
export function rowShapes(family: KernelFamily): fc.Arbitrary<RowShape> {
  return fc.record({
    rows: fc.integer({ min: 1, max: 40 }),
    N: fc.constantFrom(...ROW_NS),
    g: fc.constantFrom(...LANES[family]),
    seed: fc.integer({ min: 1, max: 1 << 30 }),
  });
}

/** The plan a row case runs with (g capped at the family's workgroup size). */
export function rowPlan(s: RowShape, family: KernelFamily): RowPlan {
  const wg = fusedLanes(family);
  return planRows(s.rows, s.N, { family, ...(s.g ? { g: Math.min(s.g, wg) } : {}) });
}

/** A property over random row shapes, for each family (the plan is passed to the case). */
export function rowProperty(family: KernelFamily, run: (s: RowShape, plan: RowPlan) => Promise<void>, numRuns = 12): () => Promise<void> {
  return () => withFamily(family, () => fc.assert(fc.asyncProperty(rowShapes(family), (s) => run(s, rowPlan(s, family))), { numRuns }));
}
