/**
 * Shared helpers of the kernel launchers (src/kernels/*.ts): WGSL variant selection, workgroup
 * width, small math helpers and buffer checks. Not a kernel itself.
 *
 * Variants: `specialize()` turns a kernels/*.wgsl file into WGSL for one configuration:
 *  - lines between `//#if NAME` (or `//#if !NAME`), optional `//#else`, and `//#endif` are kept
 *    or blanked (blanked, not removed, so WGSL error line numbers still match the file);
 *    binding element types (vec4<f32> vs f32) differ between variants, which override
 *    constants cannot express;
 *  - `const NAME: u32 = <n>u;` lines get the configuration's values (array sizes must be
 *    const-expressions in WGSL; override constants cannot size function-scope arrays);
 *  - lines between `//#chunk` and `//#endchunk` are emitted `chunks` times with every `$`
 *    replaced by 0, 1, …: straight-line copies of a loop over separate register arrays (Mesa
 *    only unrolls short loops, and a rolled loop makes register-array indexing indirect, so a
 *    128-wide head dim is processed as two 64-wide chunks with their own arrays).
 * Files using `$` chunks are valid WGSL only after specialize().
 */
import { adapterInfo, currentDevice, kernelFamily, WebGPUError, type KernelFamily } from '../device.ts';

/** Keeps/blanks `//#if` blocks and rewrites `const NAME: u32 = ...;` lines. */
export function specialize(
  src: string,
  flags: Readonly<Record<string, boolean>>,
  consts: Readonly<Record<string, number>> = {},
  chunks = 1,
): string {
  const lines = expandChunks(src.split('\n'), chunks);
  const stack: { active: boolean; parentActive: boolean; seenElse: boolean }[] = [];
  const out: string[] = [];
  const active = (): boolean => stack.every((s) => s.active);
  for (const line of lines) {
    const t = line.trim();
    let m: RegExpExecArray | null;
    if ((m = /^\/\/#if\s+(!?)([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(t))) {
      const name = m[2]!;
      if (!(name in flags)) throw new Error(`specialize: flag ${name} not given`);
      const v = flags[name]!;
      stack.push({ active: m[1] === '!' ? !v : v, parentActive: active(), seenElse: false });
      out.push('');
      continue;
    }
    if (t === '//#else') {
      const top = stack[stack.length - 1];
      if (!top || top.seenElse) throw new Error('specialize: stray //#else');
      top.active = !top.active;
      top.seenElse = true;
      out.push('');
      continue;
    }
    if (t === '//#endif') {
      if (!stack.pop()) throw new Error('specialize: stray //#endif');
      out.push('');
      continue;
    }
    if (!active()) {
      out.push('');
      continue;
    }
    if ((m = /^const\s+([A-Za-z_][A-Za-z0-9_]*)\s*:\s*u32\s*=\s*[0-9]+u\s*;/.exec(t)) && m[1]! in consts) {
      const v = consts[m[1]!]!;
      if (!Number.isInteger(v) || v < 1) throw new Error(`specialize: const ${m[1]} must be a positive integer, got ${v}`);
      out.push(`const ${m[1]}: u32 = ${v}u;`);
      continue;
    }
    out.push(line);
  }
  if (stack.length) throw new Error('specialize: unterminated //#if');
  return out.join('\n');
}

function expandChunks(lines: string[], chunks: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '//#chunk') {
      out.push(lines[i]!);
      continue;
    }
    let end = i + 1;
    while (end < lines.length && lines[end]!.trim() !== '//#endchunk') {
      if (lines[end]!.trim() === '//#chunk') throw new Error('specialize: nested //#chunk');
      end++;
    }
    if (end >= lines.length) throw new Error('specialize: unterminated //#chunk');
    const block = lines.slice(i + 1, end);
    for (let c = 0; c < chunks; c++) for (const l of block) out.push(l.replaceAll('$', String(c)));
    i = end;
  }
  return out;
}

/** Memoised specialize(): the pipeline cache is keyed by the code string, so keep it stable. */
export function variantCache(
  src: string,
): (flags: Record<string, boolean>, consts?: Record<string, number>, chunks?: number) => string {
  const memo = new Map<string, string>();
  return (flags, consts = {}, chunks = 1) => {
    const key = JSON.stringify([flags, consts, chunks]);
    let code = memo.get(key);
    if (code === undefined) {
      code = specialize(src, flags, consts, chunks);
      memo.set(key, code);
    }
    return code;
  };
}

/**
 * Invocations per workgroup for the row and elementwise kernels: on the 'llvmpipe' family the
 * SIMD width (8 or 16 lanes: a workgroup runs as one SIMD thread there), 256 on GPUs.
 */
export function fusedLanes(family: KernelFamily = kernelFamily()): number {
  if (family === 'gpu') return 256;
  return Math.max(4, adapterInfo().simdLanes || 8);
}

export const ceilDiv = (a: number, b: number): number => Math.floor((a + b - 1) / b);
export const nextPow2 = (n: number): number => (n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n)));
export const prevPow2 = (n: number): number => (n <= 1 ? 1 : 2 ** Math.floor(Math.log2(n)));

/** Throws a clear error when `buf` holds fewer than `elems` f32 elements. */
export function needElems(kernel: string, name: string, buf: GPUBuffer, elems: number): void {
  if (buf.size < elems * 4) {
    throw new WebGPUError(`${kernel}: buffer ${name} has ${buf.size} bytes, needs ${elems * 4} (${elems} f32)`);
  }
  const max = currentDevice().limits.maxStorageBufferBindingSize;
  if (elems * 4 > max) {
    throw new WebGPUError(
      `${kernel}: ${name} needs ${elems * 4} bytes, over maxStorageBufferBindingSize = ${max}; split the operation`,
    );
  }
}

/** Throws unless every value is a non-negative integer. */
export function needInts(kernel: string, values: Record<string, number>, min = 0): void {
  for (const [k, v] of Object.entries(values)) {
    if (!Number.isInteger(v) || v < min) throw new WebGPUError(`${kernel}: ${k} must be an integer ≥ ${min}, got ${v}`);
  }
}

/** 2-D dispatch grid for `n` workgroups when n may exceed 65535 in one dimension. */
export function grid2d(n: number): [number, number] {
  const max = 65535;
  if (n <= max) return [n, 1];
  const y = ceilDiv(n, max);
  return [ceilDiv(n, y), y];
}

/** Uniform block builder: f32/u32/i32 fields in declaration order (4 bytes each, padded to 16 B). */
export class Uniforms {
  private readonly vals: ['u32' | 'i32' | 'f32', number][] = [];
  u32(v: number): this {
    this.vals.push(['u32', v]);
    return this;
  }
  i32(v: number): this {
    this.vals.push(['i32', v]);
    return this;
  }
  f32(v: number): this {
    this.vals.push(['f32', v]);
    return this;
  }
  build(): ArrayBuffer {
    const n = Math.max(4, Math.ceil(this.vals.length / 4) * 4);
    const ab = new ArrayBuffer(n * 4);
    const dv = new DataView(ab);
    this.vals.forEach(([t, v], i) => {
      if (t === 'f32') dv.setFloat32(i * 4, v, true);
      else if (t === 'i32') dv.setInt32(i * 4, v, true);
      else dv.setUint32(i * 4, v >>> 0, true);
    });
    return ab;
  }
}
