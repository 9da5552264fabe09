/**
 * matmul in the kernel harness: `npm run kernel -- matmul [--version N] [--shapes MxNxK[T][h],…]`
 * (T: B stored [N,K], i.e. C = A·Bᵀ as a Linear layer's x·Wᵀ; h: B stored as f16).
 * Versions (packages/webgpu/src/kernels/matmul.ts): 1 matmul.wgsl, 2 matmul-packed.wgsl,
 * 3 matmul-tiled.wgsl, 4 matmul-gemv.wgsl. matmul-cpu, the CPU backend's: 1 the TypeScript
 * matmulStrided (packages/tensor/src/cpu/matmul.ts), 2 kernels/gemm.wat, 3 kernels/gemv.wat
 * (M = 1 or N = 1), called as the backend calls them (packages/tensor/src/cpu/backend.ts,
 * wasm/matmul.ts) on operands made once. Checked against a float64 product of the same inputs
 * (f16 B: of the f16-rounded B): |err| ≤ 1e-5·Σ_k|a·b|.
 */
import { hasFeature } from '@kts/webgpu';
import {
  GEMV_MAX_ROWS, matmulGemv, matmulPacked, matmulSpec, matmulTiled, matmulVersion, planMatmul, usePackedMatmul, type MatmulShape,
} from '@kts/webgpu/kernels';
import { allocFloat, allocOutput } from '../../packages/tensor/src/cpu/alloc.ts';
import { matmulTypeScript } from '../../packages/tensor/src/cpu/backend.ts';
import { gemvSide, matmulWasm, type MatmulArgs } from '../../packages/tensor/src/cpu/wasm/matmul.ts';
import { wasmRuntime } from '../../packages/tensor/src/cpu/wasm/runtime.ts';
import { uploadF16 } from '../../test/webgpu/helpers.ts';
import { cpuBackend, cpuCurrent, cpuVersion } from './cpu.ts';
import { ints, type KernelEntry, type KernelInstance, type KernelVersion, type Rng } from './harness.ts';
import { batch, Buffers, sync, webgpuBackend } from './webgpu.ts';

interface Shape {
  M: number;
  N: number;
  K: number;
  transB: boolean;
  f16: boolean;
}

function setup(run: (a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, s: MatmulShape) => void) {
  return async (s: Shape, rng: Rng): Promise<KernelInstance> => {
    const { M, N, K, transB } = s;
    const bufs = new Buffers();
    const a = rng.array(M * K);
    const b = rng.array(N * K);
    const A = bufs.add(a);
    let bRef: ArrayLike<number> = b;
    let B: GPUBuffer;
    if (s.f16) {
      const h = uploadF16(b);
      B = bufs.own(h.buffer);
      bRef = h.rounded;
    } else B = bufs.add(b);
    const C = bufs.add(M * N);
    const shape: MatmulShape = { M, N, K, transB, bF16: s.f16 };
    return {
      run: () => run(A, B, C, shape),
      sync,
      flops: 2 * M * N * K,
      check: async () => checkProduct(a, bRef, await bufs.read(C, M * N), s),
      dispose: () => bufs.dispose(),
    };
  };
}

/** C against the float64 product of a [M,K] and b ([K,N], or [N,K] with T): worst |err| / (1e-5·Σ_k|a·b|). */
function checkProduct(a: ArrayLike<number>, b: ArrayLike<number>, got: ArrayLike<number>, s: Shape): number {
  const { M, N, K, transB } = s;
  let w = 0;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let ref = 0, abs = 0;
      for (let k = 0; k < K; k++) {
        const p = a[i * K + k]! * b[transB ? j * K + k : k * N + j]!;
        ref += p;
        abs += Math.abs(p);
      }
      const ratio = Math.abs(got[i * N + j]! - ref) / (1e-5 * abs);
      if (!(ratio <= 1)) throw new Error(`C[${i},${j}] = ${got[i * N + j]}, expected ${ref}`);
      w = Math.max(w, ratio);
    }
  }
  return w;
}

function parseShape(text: string): Shape {
  const m = /^(\d+x\d+x\d+)(T?)(h?)$/.exec(text.trim());
  if (!m) throw new Error(`matmul shape: MxNxK[T][h], got ${text}`);
  const [M, N, K] = ints(m[1]!, /x/) as [number, number, number];
  return { M, N, K, transB: m[2] === 'T', f16: m[3] === 'h' };
}

const formatShape = (s: Shape): string => `${s.M}x${s.N}x${s.K}${s.transB ? 'T' : ''}${s.f16 ? 'h' : ''}`;

const noF16 = (s: Shape): string | null => (s.f16 ? 'no f16 B' : null);

const versions: KernelVersion<Shape>[] = [
  {
    version: 1, file: 'kernels/matmul.wgsl', about: 'CPU renderers: 16×16 register tile per lane, no workgroup memory', unavailable: noF16,
    setup: setup((a, b, c, s) => batch().dispatch(matmulSpec(a, b, c, s))),
  },
  {
    version: 2, file: 'kernels/matmul-packed.wgsl', about: 'llvmpipe, large shapes: A through 64 KiB uniform windows (uniform loads broadcast)',
    unavailable: (s) => noF16(s) ?? (usePackedMatmul({ ...s }, planMatmul({ ...s }), batch().device) ? null : 'llvmpipe only, vec4 shapes with enough work per dispatch'),
    setup: setup((a, b, c, s) => matmulPacked(a, b, c, s, planMatmul(s), batch())),
  },
  {
    version: 3, file: 'kernels/matmul-tiled.wgsl', about: 'GPUs: 128×128 / 64×64 workgroup tiles, 8×8 / 4×4 register blocks, K slabs in workgroup memory',
    unavailable: (s) => (s.f16 && !hasFeature('shader-f16') ? 'no shader-f16' : null),
    setup: setup((a, b, c, s) => { matmulTiled(a, b, c, s, batch()); }),
  },
  {
    version: 4, file: 'kernels/matmul-gemv.wgsl', about: `GPUs, M ≤ ${GEMV_MAX_ROWS}: B read once, coalesced, many workgroups`,
    unavailable: (s) => (s.M > GEMV_MAX_ROWS ? `M > ${GEMV_MAX_ROWS}` : s.f16 && !hasFeature('shader-f16') ? 'no shader-f16' : null),
    setup: setup((a, b, c, s) => matmulGemv(a, b, c, s, batch())),
  },
];

const entry: KernelEntry<Shape> = {
  ...webgpuBackend,
  name: 'matmul',
  about: 'C = A·B or A·Bᵀ, f32 accumulation (B may be f16)',
  checkShapes: [
    { M: 130, N: 66, K: 257, transB: false, f16: false },
    { M: 67, N: 260, K: 64, transB: true, f16: false },
    { M: 3, N: 301, K: 257, transB: true, f16: false },
    { M: 19, N: 516, K: 1100, transB: false, f16: false },
    { M: 33, N: 67, K: 129, transB: true, f16: true },
  ],
  timeShapes: ['1024x1024x1024', '512x4096x4096T', '1x4096x4096T'].map(parseShape),
  parseShape,
  formatShape,
  versions,
  current: (s) => matmulVersion({ ...s, bF16: s.f16 }, batch().device),
};
export default entry;

/** A float32 copy of `a` where the backend would keep it (on the kernels' heap when they are on). */
function stored(a: Float32Array): Float32Array {
  const out = allocFloat('float32', a.length) as Float32Array;
  out.set(a);
  return out;
}

/** matmul-cpu's operands (A [M,K], B [K,N] or a transposed view of [N,K]) made once, and C; `run` is one version's call. */
function cpuSetup(run: (x: MatmulArgs, C: Float32Array, A: Float32Array, B: Float32Array) => void) {
  return (s: Shape, rng: Rng) => {
    const { M, N, K, transB } = s;
    const a = rng.array(M * K), b = rng.array(N * K);
    const A = stored(a), B = stored(b), C = allocOutput(M * N);
    const x: MatmulArgs = {
      a: { data: A, offset: 0, shape: [M, K], strides: [K, 1] },
      b: { data: B, offset: 0, shape: [K, N], strides: transB ? [1, K] : [N, 1] },
      items: [[0, 0, 0]], M, N, K,
    };
    return { run: () => run(x, C, A, B), flops: 2 * M * N * K, bytes: 4 * (M * K + K * N + M * N), check: () => checkProduct(a, b, C, s) };
  };
}

/** The launcher's call on the WebAssembly kernels (false: the heap could not take the operands). */
function onKernels(x: MatmulArgs, C: Float32Array): void {
  if (!matmulWasm(wasmRuntime()!, x, C)) throw new Error('the WebAssembly heap cannot hold the operands');
}

const side = (s: Shape): 'M' | 'N' | null => gemvSide(s.M, s.N, s.K, 1, s.transB ? 1 : s.N, s.transB ? s.K : 1);
const cpuUnavailable = (gemv: boolean) => (s: Shape): string | null => (s.f16 ? 'no f16 B on the CPU' : gemv && !side(s) ? 'M > 1 and N > 1' : null);

export const cpu: KernelEntry<Shape> = {
  ...cpuBackend,
  name: 'matmul-cpu',
  about: 'C = A·B or A·Bᵀ on the CPU backend, float32 (the TypeScript path accumulates in double)',
  checkShapes: ['130x66x257', '67x260x64T', '3x301x257T', '19x516x1100', '2x509x263T', '7x130x300', '1x301x257T', '1x300x129', '37x1x129'].map(parseShape),
  timeShapes: ['512x512x512', '128x768x768T', '1x4096x4096T'].map(parseShape),
  parseShape,
  formatShape,
  versions: [
    cpuVersion({
      version: 1, file: 'packages/tensor/src/cpu/matmul.ts', kernels: 'js', unavailable: cpuUnavailable(false),
      about: 'KTS_CPU_KERNELS=js: matmulStrided, packed 4×3 register tile in doubles (direct loops for M = 1 or N = 1), rows or columns over the threads',
      setup: cpuSetup((x, C, A, B) => matmulTypeScript(A, x.a.strides[0]!, x.a.strides[1]!, B, x.b.strides[0]!, x.b.strides[1]!, C, x.items, x.M, x.N, x.K)),
    }),
    cpuVersion({
      version: 2, file: 'kernels/gemm.wat', kernels: 'wasm', unavailable: cpuUnavailable(false),
      about: 'packed GEMM: 4×8 f32x4 micro-kernel (relaxed-SIMD FMA where there is one), BLIS loop order, pieces over the threads',
      setup: cpuSetup((x, C) => onKernels({ ...x, gemv: false }, C)),
    }),
    cpuVersion({
      version: 3, file: 'kernels/gemv.wat', kernels: 'wasm', unavailable: cpuUnavailable(true),
      about: 'M = 1 or N = 1: the matrix streamed once, 16 floats a step in four accumulators',
      setup: cpuSetup(onKernels),
    }),
  ],
  current: (s) => cpuCurrent(side(s) ? 3 : 2),
};
