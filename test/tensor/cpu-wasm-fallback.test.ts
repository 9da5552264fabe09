// Without WebAssembly (node --jitless) the CPU backend says so in one line and runs its
// TypeScript loops with the same results; KTS_CPU_KERNELS=js does the same silently; a bad value
// is an error that names the variable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const script = `
const { randn, noGrad, cpuKernels, Generator } = await import('@kts/tensor');
const a = randn([67, 131], { generator: new Generator(5) });
for (let i = 0; i < 3; i++) noGrad(() => a.mul(2).sum());
const out = noGrad(() => a.matmul(a.T).softmax(-1).mul(3).exp().sum(-1)).toArray();
console.log(JSON.stringify({ kernels: cpuKernels(), out: Array.from(out) }));`;

interface Run { kernels: { kernels: string; reason: string }; out: number[]; stderr: string }

function run(flags: string[], env: Record<string, string> = {}): Run {
  const { NODE_TEST_CONTEXT: _, ...parent } = process.env; // the child is a plain program, not a test
  const r = spawnSync(process.execPath, [...flags, '--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8', env: { ...parent, ...env },
  });
  if (r.status !== 0) return { kernels: { kernels: `exit ${r.status}`, reason: '' }, out: [], stderr: r.stderr };
  return { ...(JSON.parse(r.stdout) as Omit<Run, 'stderr'>), stderr: r.stderr };
}

test('no WebAssembly: one line on stderr, then the TypeScript loops with their results', () => {
  const js = run([], { KTS_CPU_KERNELS: 'js' });
  assert.equal(js.kernels.kernels, 'js', js.stderr);
  assert.equal(js.stderr, '', 'KTS_CPU_KERNELS=js is quiet');
  const none = run(['--jitless']);
  assert.equal(none.kernels.kernels, 'js');
  assert.match(none.kernels.reason, /no WebAssembly/);
  const lines = none.stderr.split('\n').filter((l) => l.startsWith('kts:'));
  assert.equal(lines[0], 'kts: this runtime has no WebAssembly; the CPU backend uses its TypeScript loops');
  assert.equal(lines.filter((l) => l.includes('WebAssembly')).length, 1, 'said once');
  assert.deepEqual(none.out, js.out);
  const wasm = run([]);
  assert.equal(wasm.kernels.kernels, 'wasm');
  wasm.out.forEach((v, i) => assert.ok(Math.abs(v - js.out[i]!) <= 1e-4 * Math.abs(js.out[i]!), `row ${i}: ${v} vs ${js.out[i]}`));
});

test('KTS_CPU_KERNELS must be wasm or js', () => {
  assert.match(run([], { KTS_CPU_KERNELS: 'fast' }).stderr, /KTS_CPU_KERNELS must be 'wasm' or 'js', got "fast"/);
});
