// Writes OPS.md: for every op, where each layer of it lives — the front end and its backward,
// the CPU primitive or composite, the WebAssembly and WGSL kernels with their launchers, the
// golden cases, the tests and the benchmark — each a link.
//
//   node --conditions=source --import tsx scripts/ops-md.ts          (writes OPS.md)
//   node --conditions=source --import tsx scripts/ops-md.ts --check  (exits 1 if OPS.md is stale)
//
// Everything is read from the tree: files are found by the op's name (one name per op at every
// layer: fused/softmax.ts, kernels/softmax.wgsl, kernels/softmax.wat, test/webgpu/softmax.test.ts,
// bench/suites/softmax.ts), lines by what they define (`export function softmax(`,
// `record(out, 'softmax'`). test/ops-md.test.ts regenerates it, so it cannot go stale.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Files under dir (relative to the root) whose names end in one of exts, sorted. */
function files(dir: string, exts: string[]): string[] {
  const abs = join(ROOT, dir);
  if (!existsSync(abs)) return [];
  const out: string[] = [];
  for (const name of readdirSync(abs).sort()) {
    const p = join(abs, name);
    if (statSync(p).isDirectory()) out.push(...files(relative(ROOT, p), exts));
    else if (exts.some((e) => name.endsWith(e))) out.push(relative(ROOT, p));
  }
  return out;
}

const text = new Map<string, string[]>();
const linesOf = (file: string): string[] => {
  let l = text.get(file);
  if (!l) text.set(file, (l = readFileSync(join(ROOT, file), 'utf8').split('\n')));
  return l;
};

/** `file#Ln` of the first line matching re in any of the files, or null. */
function findLine(candidates: string[], re: RegExp): string | null {
  for (const f of candidates) {
    const i = linesOf(f).findIndex((l) => re.test(l));
    if (i >= 0) return `${f}#L${i + 1}`;
  }
  return null;
}

const link = (target: string, label?: string): string => {
  const [file] = target.split('#');
  return `[${label ?? file!.split('/').pop()!.replace(/#.*/, '')}](${target})`;
};
const list = (xs: string[]): string => (xs.length ? xs.join('<br>') : '—');
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// ---- the tree --------------------------------------------------------------------------------
const TENSOR = files('packages/tensor/src', ['.ts']);
const FRONT = TENSOR.filter((f) => !f.includes('/cpu/'));
const CPU = TENSOR.filter((f) => f.includes('/cpu/'));
const WEBGPU = files('packages/webgpu/src', ['.ts']);
const WGSL = files('kernels', ['.wgsl']);
const WAT = files('kernels', ['.wat']).filter((f) => !f.endsWith('.inc.wat'));
const TESTS = files('test', ['.test.ts']);
const BENCH = files('bench/suites', ['.ts']);
const GOLDEN_FILE = 'reference/goldens/ops.json';
const goldenCases = (JSON.parse(readFileSync(join(ROOT, GOLDEN_FILE), 'utf8')) as { cases: { op: string }[] }).cases;
const goldenCount = (op: string): number => goldenCases.filter((c) => c.op === op).length;
const GOLDEN_RUNNERS = TESTS.filter((f) => /golden-ops|backend-goldens/.test(f));

const stemOf = (f: string): string => f.split('/').pop()!.replace(/\.(test\.ts|ts|wgsl|wat)$/, '');
/** Kernel files named stem or stem-<variant>. */
const named = (fs: string[], stem: string): string[] => fs.filter((f) => stemOf(f) === stem || stemOf(f).startsWith(`${stem}-`));

interface Row {
  op: string;
  front: string | null;
  backward: string;
  cpu: string[];
  wasm: string[];
  wgsl: string[];
  goldens: number;
  tests: string[];
  bench: string[];
}

/** A row for an op whose files share `stem`; `names` are the op's functions/methods. */
function row(op: string, stem: string, names: string[], opts: { cpu?: string[]; wasmStems?: string[]; wgslStems?: string[]; backward?: string } = {}): Row {
  const defRe = new RegExp(`^export (async )?function (${names.map(esc).join('|')})\\b`);
  const front = findLine(FRONT, defRe);
  const recRe = new RegExp(`record\\([^,]+, '(${names.map(esc).join('|')})'`);
  const rec = findLine(FRONT, recRe) ?? (front ? recordAfter(front) : null);
  const wasmStems = opts.wasmStems ?? [stem];
  const wgslStems = opts.wgslStems ?? [stem];
  const wasm = wasmStems.flatMap((s) => named(WAT, s));
  const wgsl = wgslStems.flatMap((s) => named(WGSL, s));
  const launchersGpu = wgslStems.flatMap((s) => named(WEBGPU.filter((f) => f.includes('/kernels/')), s));
  const launchersCpu = wasmStems.flatMap((s) => named(CPU.filter((f) => f.includes('/wasm/')), s));
  // A backend's fused op records its own autograd node under the op's name.
  const cpuFused = findLine(CPU, recRe);
  const gpuFused = findLine(WEBGPU, recRe);
  const goldens = names.reduce((n, x) => n + goldenCount(x), 0);
  const tests = [
    ...(goldens ? GOLDEN_RUNNERS : []),
    ...TESTS.filter((f) => [stem, ...wasmStems, ...wgslStems].some((s) => stemOf(f) === s || stemOf(f).endsWith(`-${s}`))),
  ];
  return {
    op,
    front: front ? link(front, `${stemOf(front.split('#')[0]!)}.ts`) : null,
    backward: opts.backward ?? (rec ? link(rec, 'recorded') : 'composed (autograd through its ops)'),
    cpu: opts.cpu ?? [cpuFused ? link(cpuFused, 'fused op') : 'composite'],
    wasm: [...wasm.map((f) => link(f)), ...launchersCpu.map((f) => link(f, `launcher ${stemOf(f)}.ts`))],
    wgsl: [
      ...wgsl.map((f) => link(f)),
      ...launchersGpu.map((f) => link(f, `launcher ${stemOf(f)}.ts`)),
      ...(gpuFused ? [link(gpuFused, 'fused op')] : []),
    ],
    goldens,
    tests: [...new Set(tests)].map((f) => link(f)),
    bench: BENCH.filter((f) => [stem, ...wgslStems].includes(stemOf(f)) || (stem === 'matmul' && stemOf(f) === 'matmul-cpu')).map((f) => link(f)),
  };
}

/** The CPU backend's implementation of a primitive: its `fn: (…) =>` entry or `function fn(`. */
const cpuBackend = (fn: string): string[] => {
  const at = findLine(CPU, new RegExp(`^\\s+${esc(fn)}: `)) ?? findLine(CPU, new RegExp(`^(export )?function ${esc(fn)}\\b`));
  return at ? [link(at, `cpu ${fn}`)] : [];
};

/** The first `record(` after a definition, before the next top-level function: its backward. */
function recordAfter(def: string): string | null {
  const [file, line] = def.split('#L') as [string, string];
  const ls = linesOf(file);
  for (let i = Number(line); i < ls.length && !/^export (async )?function /.test(ls[i]!); i++) {
    if (/\brecord\(/.test(ls[i]!)) return `${file}#L${i + 1}`;
  }
  return null;
}

// ---- the ops ----------------------------------------------------------------------------------
/** Ops a backend may fuse: tensor/src/fused/<stem>.ts holds the op and its composite. */
const FUSED: [op: string, stem: string, names: string[]][] = [
  ['softmax, logSoftmax', 'softmax', ['softmax', 'logSoftmax']],
  ['rmsNorm', 'rmsnorm', ['rmsNorm']],
  ['rotaryEmbedding', 'rotary', ['rotaryEmbedding']],
  ['attention', 'attention', ['attention']],
  ['klDivLogits', 'kl', ['klDivLogits']],
  ['crossEntropy', 'cross-entropy', ['crossEntropy']],
  ['addSteering', 'steering', ['addSteering']],
];

const ROW_KERNELS = ['softmax', 'rmsnorm', 'kl', 'cross-entropy', 'steering'];

const PRIMITIVES: Row[] = [
  row('unary: neg exp log sqrt rsqrt recip abs sign tanh sigmoid erf sin cos', 'elementwise', ['unary', 'neg', 'exp', 'log', 'sqrt', 'rsqrt', 'abs', 'tanh', 'sigmoid', 'sin', 'cos'], { cpu: cpuBackend('unary') }),
  row('binary: add sub mul div pow max min lt le gt ge eq', 'elementwise', ['binary', 'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'lt', 'le', 'gt', 'ge', 'eq'], { cpu: cpuBackend('binary') }),
  row('where', 'elementwise', ['where'], { cpu: cpuBackend('where') }),
  row('copy (contiguous, cast)', 'elementwise', ['contiguous', 'cast'], { cpu: cpuBackend('copy') }),
  row('reduce: sum max min argmax argmin', 'reduce', ['sum', 'maxMin', 'argMaxMin', 'max', 'min', 'argmax'], { cpu: cpuBackend('reduce') }),
  row('matmul', 'matmul', ['matmul'], { cpu: cpuBackend('matmul'), wasmStems: ['gemm', 'gemv'] }),
  row('gather, scatterAdd', 'gather', ['gather', 'scatterAdd', 'indexSelect'], { cpu: [...cpuBackend('gather'), ...cpuBackend('scatterAdd')] }),
  row('assign (in-place strided write)', 'assign', ['assign'], { cpu: cpuBackend('assign'), wgslStems: ['elementwise'], backward: '— (used by cat and slice backward)' }),
];

const FUSED_ROWS: Row[] = [
  // The row kernels share the prelude kernels/rows.wgsl (lanes per row, group reductions).
  ...FUSED.map(([op, stem, names]) => row(op, stem, names, ROW_KERNELS.includes(stem) ? { wgslStems: [stem, 'rows'] } : {})),
  row('AdamW step (optim.AdamW)', 'adamw', ['adamw'], { backward: '— (an optimiser update)' }),
];

/** Composites without kernels: every other exported function of functional.ts and the view ops. */
function compositeRows(): Row[] {
  const fn = 'packages/tensor/src/functional.ts';
  const names = linesOf(fn).flatMap((l) => /^export (?:function|const) (\w+)/.exec(l)?.[1] ?? []);
  const views = ['view', 'reshape', 'permute', 'transpose', 'expand', 'squeeze', 'unsqueeze', 'flatten', 'slice', 'cat', 'stack'];
  return [...names, ...views].map((n) => row(n, n, [n === 'variance' ? 'variance' : n]))
    .map((r) => ({ ...r, wasm: [], wgsl: [], bench: [], tests: r.tests.filter((t) => GOLDEN_RUNNERS.some((g) => t.includes(g))) }))
    .map((r) => (r.op === 'variance' ? { ...r, goldens: goldenCount('var') } : r));
}

function table(rows: Row[]): string {
  const head = '| op | front end | backward | CPU | WebAssembly kernel | WGSL kernel | goldens | tests | bench |\n|---|---|---|---|---|---|---:|---|---|';
  const body = rows.map((r) => `| ${r.op} | ${r.front ?? '—'} | ${r.backward} | ${list(r.cpu)} | ${list(r.wasm)} | ${list(r.wgsl)} | ${r.goldens || '—'} | ${list(r.tests)} | ${list(r.bench)} |`);
  return [head, ...body].join('\n');
}

export function opsMarkdown(): string {
  const composites = compositeRows();
  return `# Ops: where each one lives

Generated by \`scripts/ops-md.ts\` from the code (\`test/ops-md.test.ts\` fails when it is stale).
Every op has one name at every layer: the front end (\`packages/tensor/src\`), the CPU backend
(\`packages/tensor/src/cpu\`, WebAssembly kernels \`kernels/<name>.wat\` with launchers in
\`cpu/wasm/\`), the WebGPU backend (\`kernels/<name>.wgsl\`, launcher
\`packages/webgpu/src/kernels/<name>.ts\`), its tests and its benchmark. Goldens are PyTorch cases
in [${GOLDEN_FILE}](${GOLDEN_FILE}) (forward and gradients), run on every backend by the golden
runners. \`npm run kernel -- <name>\` checks one WGSL kernel against its CPU reference and times it;
\`npm run kernel -- <name>-cpu\` does the same for the CPU backend's (its TypeScript loops as
version 1, the WebAssembly kernels after).

## Primitives: what a backend implements

Every other op and every backward pass is composed from these (\`packages/tensor/src/backend.ts\`).

${table(PRIMITIVES)}

## Fusable ops: a backend may replace the composite by one kernel

\`packages/tensor/src/fused/<name>.ts\` holds the op and its composite, the definition a fused
kernel must match and the fallback where a backend has none.

${table(FUSED_ROWS)}

## Composites: built from the ops above, no kernel of their own

${table(composites)}
`;
}

/** Kernel files that no row links (each must belong to an op). */
export function unlinkedKernels(md: string): string[] {
  return [...WGSL, ...WAT].filter((f) => !md.includes(`](${f})`));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const md = opsMarkdown();
  const path = join(ROOT, 'OPS.md');
  if (process.argv.includes('--check')) {
    const stale = !existsSync(path) || readFileSync(path, 'utf8') !== md;
    if (stale) console.error('OPS.md is stale: run node --conditions=source --import tsx scripts/ops-md.ts');
    process.exit(stale ? 1 : 0);
  }
  writeFileSync(path, md);
  const missing = unlinkedKernels(md);
  if (missing.length) console.error(`kernels no op links: ${missing.join(', ')}`);
}
