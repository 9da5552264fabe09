/**
 * matmul in the kernel harness: `npm run kernel -- matmul [--version N] [--shapes MxNxK[T][h],…]`
 * (T: B stored [N,K], i.e. C = A·Bᵀ as a Linear layer's x·Wᵀ; h: B stored as f16).
 * Versions (packages/webgpu/src/kernels/matmul.ts): 1 matmul.wgsl, 2 matmul-packed.wgsl,
 * 3 matmul-tiled.wgsl, 4 matmul-gemv.wgsl. Checked against a float64 product of the same inputs
 * (f16 B: of the f16-rounded B): |err| ≤ 1e-5·Σ_k|a·b|.
 */
import { hasFeature } from '@kts/webgpu';
import {
  GEMV_MAX_ROWS, matmulGemv, matmulPacked, matmulSpec, matmulTiled, matmulVersion, planMatmul, usePackedMatmul, type MatmulShape,
} from '@kts/webgpu/kernels';
import { uploadF16 } from '../../test/webgpu/helpers.ts';
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
      async check() {
        const got = await bufs.read(C, M * N);
        let w = 0;
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            let ref = 0, abs = 0;
            for (let k = 0; k < K; k++) {
              const p = a[i * K + k]! * bRef[transB ? j * K + k : k * N + j]!;
              ref += p;
              abs += Math.abs(p);
            }
            const ratio = Math.abs(got[i * N + j]! - ref) / (1e-5 * abs);
            if (!(ratio <= 1)) throw new Error(`C[${i},${j}] = ${got[i * N + j]}, expected ${ref}`);
            w = Math.max(w, ratio);
          }
        }
        return w;
      },
      dispose: () => bufs.dispose(),
    };
  };
}

function parseShape(text: string): Shape {
  const m = /^(\d+x\d+x\d+)(T?)(h?)$/.exec(text.trim());
  if (!m) throw new Error(`matmul shape: MxNxK[T][h], got ${text}`);
  const [M, N, K] = ints(m[1]!, /x/) as [number, number, number];
  return { M, N, K, transB: m[2] === 'T', f16: m[3] === 'h' };
}

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
  formatShape: (s) => `${s.M}x${s.N}x${s.K}${s.transB ? 'T' : ''}${s.f16 ? 'h' : ''}`,
  versions,
  current: (s) => matmulVersion({ ...s, bF16: s.f16 }, batch().device),
};
export default entry;
