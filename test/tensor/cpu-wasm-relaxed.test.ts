// The GEMM/GEMV modules come in two variants: relaxed-SIMD FMA (the default wherever the runtime
// has relaxed SIMD — on Node 20 the loader turns on V8's flag for it) and plain mul + add
// (KTS_RELAXED_SIMD=0, or a runtime without relaxed SIMD). The in-process suites run the default;
// here each variant runs in its own process on odd shapes, against the TypeScript loops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const script = `
const { randn, noGrad, cpuKernels, setCpuKernels, setCpuThreads, Generator } = await import('@kts/tensor');
const g = new Generator(11);
const shapes = [[1, 67, 131], [5, 300, 9], [37, 291, 83], [130, 45, 517]];
const inputs = shapes.map(([M, K, N]) => [randn([M, K], { generator: g }), randn([N, K], { generator: g })]);
const res = [];
for (const threads of [1, 2]) {
  setCpuThreads(threads);
  for (const [s, [M, K, N]] of shapes.entries()) {
    const [a, w] = inputs[s];
    setCpuKernels('wasm');
    const fast = noGrad(() => a.matmul(w.T)).toArray();
    setCpuKernels('js');
    const ref = noGrad(() => a.matmul(w.T)).toArray();
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(fast[i] - ref[i]) / (1 + Math.abs(ref[i])));
    res.push({ threads, shape: [M, K, N], worst, first: fast[fast.length - 1] });
  }
}
setCpuKernels('wasm');
console.log(JSON.stringify({ kernels: cpuKernels(), res }));`;

interface Run { kernels: { kernels: string; relaxedSimd: boolean; reason: string }; res: { threads: number; shape: number[]; worst: number; first: number }[]; stderr: string }

function run(env: Record<string, string> = {}): Run {
  const { NODE_TEST_CONTEXT: _, ...parent } = process.env; // the child is a plain program, not a test
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8', env: { ...parent, ...env },
  });
  if (r.status !== 0) return { kernels: { kernels: `exit ${r.status}`, relaxedSimd: false, reason: '' }, res: [], stderr: r.stderr };
  return { ...(JSON.parse(r.stdout) as Omit<Run, 'stderr'>), stderr: r.stderr };
}

test('relaxed-SIMD FMA is on by default (Node 20: through V8\'s flag) and matches the TypeScript loops', () => {
  const r = run();
  assert.equal(r.kernels.kernels, 'wasm', r.stderr);
  assert.equal(r.kernels.relaxedSimd, true, `V8 ${process.versions.v8} has relaxed SIMD (behind a flag before 11.4): ${r.kernels.reason}`);
  assert.match(r.kernels.reason, /relaxed-SIMD FMA/);
  assert.equal(r.stderr, '', 'quiet');
  assert.equal(r.res.length, 8);
  for (const x of r.res) assert.ok(x.worst < 1e-4, `${x.shape} on ${x.threads} threads: ${x.worst}`);
});

test('KTS_RELAXED_SIMD=0 runs the plain mul + add variants, with the same results up to rounding', () => {
  const plain = run({ KTS_RELAXED_SIMD: '0' });
  const fma = run();
  assert.equal(plain.kernels.relaxedSimd, false, plain.stderr);
  assert.match(plain.kernels.reason, /no relaxed SIMD/);
  for (const x of plain.res) assert.ok(x.worst < 1e-4, `${x.shape} on ${x.threads} threads: ${x.worst}`);
  // each variant gives the same bits on 1 and 2 threads
  for (const r of [plain, fma]) for (let i = 0; i < 4; i++) assert.equal(r.res[i]!.first, r.res[i + 4]!.first);
});

test('KTS_RELAXED_SIMD must be 0 or 1', () => {
  assert.match(run({ KTS_RELAXED_SIMD: 'yes' }).stderr, /KTS_RELAXED_SIMD must be 0 or 1, got "yes"/);
});
