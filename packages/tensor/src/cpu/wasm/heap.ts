/**
 * The WebAssembly heap of the CPU backend: one WebAssembly.Memory shared by every kernel module
 * and every worker thread. Float32 tensor storage is allocated here (`allocF32`), so kernels read
 * and write tensors in place — a tensor is an ordinary Float32Array view of the memory, which the
 * plain-TypeScript code reads as before. Arrays from elsewhere are copied in per call (`Scratch`).
 *
 * Blocks come in size classes (64-byte steps up to 4 KiB, then 1, 1.25, 1.5, 1.75 × 2^k: at most
 * 25 % waste) and are recycled per class. JavaScript cannot free memory explicitly, so a block goes
 * back to its class when its array is garbage-collected (a FinalizationRegistry) or disposed; V8
 * cannot see this memory either, so after every GC_BYTES of blocks handed out the heap asks for a
 * full collection where Node allows it (as the WebGPU backend does for GPU buffers). Finalizers
 * run between tasks, so garbage made by one synchronous stretch of code (a training step) comes
 * back after it. Past the budget, allocation returns null and the caller falls back to an
 * ordinary array (and the TypeScript loops).
 *
 * The memory is shared (SharedArrayBuffer): growing it does not detach the arrays already handed
 * out, each keeps the buffer object it was made from; `owns` recognises all of them.
 */

const PAGE = 65536;
/** wasm32 addresses 4 GiB; keep the last 64 KiB unused. */
const MAX_BYTES = 2 ** 32 - PAGE;
/** Bytes kept readable past the last block: a kernel may read a whole vector at any element. */
const SLACK = 64;
/** Request a full GC after this many bytes of blocks handed out (new or reused). */
const GC_BYTES = 256 * 2 ** 20;
/** settle() collects when at least this many bytes were handed out since the last collection. */
const SETTLE_BYTES = 32 * 2 ** 20;

export function sizeClass(bytes: number): number {
  const b = Math.max(64, Math.ceil(bytes / 64) * 64);
  if (b <= 4096) return b;
  const p = 2 ** Math.floor(Math.log2(b));
  for (const f of [1, 1.25, 1.5, 1.75]) if (p * f >= b) return p * f;
  return 2 * p;
}

/** A full garbage collection where the runtime allows one (Node: --expose-gc on demand), else null. */
function findGc(): (() => void) | null {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  try {
    const v8 = globalThis.process?.getBuiltinModule?.('node:v8');
    const vm = globalThis.process?.getBuiltinModule?.('node:vm');
    if (!v8 || !vm) return null;
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return null;
  }
}

export class Heap {
  readonly memory: WebAssembly.Memory;
  /** Bytes the heap may grow to. */
  budget: number;
  private buffer: ArrayBufferLike;
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private top: number;
  private readonly free = new Map<number, number[]>();
  private readonly classOf = new Map<number, number>();
  private readonly registry = new FinalizationRegistry<number>((ptr) => this.release(ptr));
  private sinceGc = 0;
  private gc: (() => void) | null | undefined;
  readonly stats = { bytesInUse: 0, blocksInUse: 0, allocated: 0, reused: 0, collections: 0, collectMs: 0, overBudget: 0 };

  /** `reserved` bytes at the bottom stay unused (address 0 is never a valid block). */
  constructor(memory: WebAssembly.Memory, budget = MAX_BYTES, reserved = PAGE) {
    this.memory = memory;
    this.budget = Math.min(budget, MAX_BYTES);
    this.buffer = memory.buffer;
    this.buffers.add(this.buffer);
    this.top = reserved;
  }

  /** The memory's bytes as one view (current size). */
  get bytes(): number {
    return this.buffer.byteLength;
  }

  /** Whether `a` is a view of this heap (then a.byteOffset is its address). */
  owns(a: ArrayBufferView): boolean {
    return this.buffers.has(a.buffer);
  }

  /** A block of at least `bytes` bytes (64-byte aligned), or -1 past the budget. */
  alloc(bytes: number): number {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    this.maybeCollect(size);
    let ptr = list?.pop();
    if (ptr !== undefined) {
      this.stats.reused++;
    } else {
      if (this.top + size > this.budget) {
        this.stats.overBudget++;
        return -1;
      }
      // SLACK: kernels may load a whole vector at a block's last element (broadcast reads)
      if (this.top + size + SLACK > this.buffer.byteLength && !this.grow(this.top + size + SLACK)) return -1;
      ptr = this.top;
      this.top += size;
    }
    this.classOf.set(ptr, size);
    this.stats.allocated++;
    this.stats.bytesInUse += size;
    this.stats.blocksInUse++;
    return ptr;
  }

  /** Returns a block to its size class. Unknown or already released addresses are ignored. */
  release(ptr: number): void {
    const size = this.classOf.get(ptr);
    if (size === undefined) return;
    this.classOf.delete(ptr);
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(ptr);
    this.stats.bytesInUse -= size;
    this.stats.blocksInUse--;
  }

  /** A Float32Array of n elements on the heap, released when it is garbage-collected; null past the budget. */
  allocF32(n: number, zero = true): Float32Array | null {
    const ptr = this.alloc(Math.max(1, n) * 4);
    if (ptr < 0) return null;
    const a = new Float32Array(this.buffer, ptr, n);
    if (zero) a.fill(0);
    this.registry.register(a, ptr, a);
    return a;
  }

  /** Releases an array from allocF32 now (the caller promises it is no longer used). */
  dispose(a: Float32Array): void {
    if (!this.owns(a) || !this.registry.unregister(a)) return;
    // a block given back by hand needs no collection to come back: it no longer counts towards one
    this.sinceGc = Math.max(0, this.sinceGc - (this.classOf.get(a.byteOffset) ?? 0));
    this.release(a.byteOffset);
  }

  /** A view of n floats at address ptr. */
  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.buffer, ptr, n);
  }

  /** A view of n int32 at address ptr. */
  i32(ptr: number, n: number): Int32Array {
    return new Int32Array(this.buffer, ptr, n);
  }

  private grow(end: number): boolean {
    const have = this.buffer.byteLength;
    // Grow by at least 1/8 of the memory (and 16 MiB) so growth stays rare.
    const want = Math.min(this.budget, Math.max(end, have + Math.max(have / 8, 16 * 2 ** 20)));
    try {
      this.memory.grow(Math.ceil((want - have) / PAGE));
    } catch {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch {
        this.budget = have;
        this.stats.overBudget++;
        return false;
      }
    }
    this.buffer = this.memory.buffer;
    this.buffers.add(this.buffer);
    return true;
  }

  private maybeCollect(bytes: number): void {
    this.sinceGc += bytes;
    if (this.sinceGc >= GC_BYTES) this.collect();
  }

  private collect(): void {
    this.sinceGc = 0;
    this.gc ??= findGc();
    if (!this.gc) return;
    this.stats.collections++;
    const t0 = performance.now();
    this.gc(); // finalizers run on a later task and return blocks to their classes
    this.stats.collectMs += performance.now() - t0;
  }

  /**
   * Lets garbage come back: collects if SETTLE_BYTES or more were handed out since the last
   * collection, then yields one macrotask, where the finalizers run. FinalizationRegistry
   * callbacks only ever run between macrotasks, and a loop whose awaits are all microtasks (a
   * training loop reading its loss from CPU tensors) would otherwise never get its blocks back;
   * the CPU backend's asynchronous read calls this.
   */
  async settle(): Promise<void> {
    if (this.sinceGc < SETTLE_BYTES) return;
    this.collect();
    await new Promise<void>((resolve) => (globalThis.setImmediate ?? setTimeout)(resolve));
  }
}

/**
 * Per-call scratch on the heap: copies of operands that live outside it, and outputs that cannot
 * be heap tensors. `reset()` at the start of each kernel call; the block only grows.
 */
export class Scratch {
  private base = -1;
  private size = 0;
  private used = 0;
  constructor(private readonly heap: Heap) {}

  /** Starts a call that will take at most `bytes` in total (the block grows here, never later). */
  reset(bytes = 0): boolean {
    this.used = 0;
    if (bytes <= this.size) return true;
    if (this.base >= 0) this.heap.release(this.base);
    this.size = sizeClass(Math.max(bytes, 1 << 20));
    this.base = this.heap.alloc(this.size);
    if (this.base >= 0) return true;
    this.size = 0;
    return false;
  }

  /** Returns the block to the heap (the next reset allocates again). */
  drop(): void {
    if (this.base >= 0) this.heap.release(this.base);
    this.base = -1;
    this.size = 0;
    this.used = 0;
  }

  /** `bytes` bytes (16-byte aligned) valid until the next reset, or -1 beyond what reset reserved. */
  take(bytes: number): number {
    const need = this.used + Math.ceil(bytes / 16) * 16;
    if (need > this.size) return -1;
    const p = this.base + this.used;
    this.used = need;
    return p;
  }

  /** Copies a[from, from + n) in; returns its address or -1. */
  copyIn(a: Float32Array | Int32Array, from: number, n: number): number {
    const p = this.take(n * 4);
    if (p < 0) return p;
    if (a instanceof Float32Array) this.heap.f32(p, n).set(a.subarray(from, from + n));
    else this.heap.i32(p, n).set(a.subarray(from, from + n));
    return p;
  }
}
