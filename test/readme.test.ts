// The README's autograd example must run as printed (and do what its comment says).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

test('README autograd example runs and fits its targets', () => {
  const readme = readFileSync('README.md', 'utf8');
  const block = /### Autograd[^]*?```ts\n([^]*?)```/.exec(readme)?.[1];
  assert.ok(block, 'README has an autograd example');
  assert.ok(block.split('\n').filter((l) => l.trim()).length <= 16, 'the example stays short');
  const dir = mkdtempSync(join(process.cwd(), 'test', '.tmp-readme-'));
  try {
    const file = join(dir, 'example.ts');
    writeFileSync(file, block);
    const out = execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', file], { encoding: 'utf8' });
    const values = (JSON.parse(out.replace(/\s/g, '').replace(/'/g, '"')) as number[][]).flat();
    assert.ok(Math.abs(values[0]! - 1) < 0.05 && Math.abs(values[1]!) < 0.05, `fitted ${values}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('README WebGPU example runs (forward, backward, async readback) and exits', () => {
  const readme = readFileSync('README.md', 'utf8');
  const block = /### WebGPU tensors[^]*?```ts\n([^]*?)```/.exec(readme)?.[1];
  assert.ok(block, 'README has a WebGPU example');
  const dir = mkdtempSync(join(process.cwd(), 'test', '.tmp-readme-'));
  try {
    const file = join(dir, 'webgpu.ts');
    writeFileSync(file, block);
    const out = execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', file], { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'ignore'] });
    const loss = Number(out.split('\n')[1]!.split(' ')[0]);
    assert.ok(loss > 1 && loss < 2, `softmax rows squared and summed over 256 rows stay in (1, 2): ${out}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
