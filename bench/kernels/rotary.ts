/**
 * rotary-cpu in the kernel harness: HF rotary embedding x·cos + rotate_half(x)·sin on the CPU
 * backend, 1 the TypeScript composite (packages/tensor/src/fused/rotary.ts), 2 kernels/rotary.wat
 * (launcher packages/tensor/src/cpu/wasm/rotary.ts). Shapes "BxHxTxD[t]": x [B, H, T, D] (t: a
 * transpose(1, 2) view of [B, T, H, D], as q and k come from their projections), cos and sin
 * [T, D] broadcast over B and H. Checked against rotaryReference (float64).
 */
import { rotaryEmbedding, tensor, type Tensor } from '@kts/tensor';
import { rotaryReference } from '@kts/webgpu/kernels';
import { ints, worst, type KernelEntry } from './harness.ts';
import { cpuEntry, type CpuSetup } from './cpu.ts';

interface Shape {
  B: number;
  H: number;
  T: number;
  D: number;
  /** x is a transposed view (strided), not contiguous. */
  strided: boolean;
}

function parseShape(text: string): Shape {
  const m = /^(\d+x\d+x\d+x\d+)(t?)$/.exec(text.trim());
  if (!m) throw new Error(`rotary shape: BxHxTxD[t], got ${text}`);
  const [B, H, T, D] = ints(m[1]!, /x/) as [number, number, number, number];
  return { B, H, T, D, strided: m[2] === 't' };
}

const entry: KernelEntry<Shape> = cpuEntry(
  {
    name: 'rotary-cpu',
    about: 'rotary position embedding (rotate_half) of x [B, H, T, D] with cos/sin tables [T, D]',
    checkShapes: ['2x3x37x24', '1x4x5x64t', '3x2x9x10', '1x6x200x48t'].map(parseShape),
    timeShapes: ['1x6x256x48t', '1x32x512x128t', '1x32x1x128'].map(parseShape),
    parseShape,
    formatShape: (s) => `${s.B}x${s.H}x${s.T}x${s.D}${s.strided ? 't' : ''}`,
  },
  { file: 'packages/tensor/src/fused/rotary.ts', about: 'rotaryComposite: narrow, neg, cat, two muls, add' },
  { file: 'kernels/rotary.wat', about: 'one pass over (b, h, t) rows, x read through its strides, both halves per vector step' },
  (s, rng): CpuSetup<Tensor> => {
    const { B, H, T, D } = s;
    const x = s.strided ? tensor(rng.array(B * T * H * D), [B, T, H, D]).transpose(1, 2) : tensor(rng.array(B * H * T * D), [B, H, T, D]);
    const cos = rng.array(T * D), sin = rng.array(T * D);
    const C = tensor(cos, [T, D]), S = tensor(sin, [T, D]);
    const table = { offset: 0, strides: [0, 0, D, 1] as const };
    const ref = rotaryReference(x.toArray(), cos, sin, { dims: [B, H, T, D], cos: table, sin: table });
    return { run: () => rotaryEmbedding(x, C, S), bytes: 8 * B * H * T * D, check: (out) => worst('rotary', out.toArray(), ref, { atol: 1e-6, rtol: 1e-5 }) };
  },
);
export default entry;
