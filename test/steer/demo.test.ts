// The main job, end to end on the embedded default model (a shortened run): it must finish and
// write a summary.json of the documented shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('npm run demo (--quick) writes summary.json, the plot and the vectors', { timeout: 300_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'kts-demo-'));
  try {
    const log = execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', 'scripts/demo.ts', '--quick', '--device', 'cpu', '--out', out], { encoding: 'utf8' });
    assert.match(log, /backend: CPU backend/);
    assert.match(log, /Paper's finding \(equal effect, lower side effects after KTS\) (HOLDS|DOES NOT HOLD)/);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.equal(s.backend, 'cpu');
    assert.ok(s.seconds > 0);
    const models = new Set(s.sweep.map((r: { model: string }) => r.model));
    assert.deepEqual([...models].sort(), ['kts', 'original']);
    for (const r of s.sweep) {
      for (const k of ['steeringEffect', 'sideEffectKL', 'coeff']) assert.equal(typeof r[k], 'number', `${k} in ${JSON.stringify(r)}`);
      assert.ok(Number.isFinite(r.sideEffectKL) && r.sideEffectKL >= -1e-9);
      if (r.coeff === 0) assert.equal(r.steeringEffect, 0);
      if (r.coeff === 0 && r.model === 'original') assert.ok(Math.abs(r.sideEffectKL) < 1e-6, 'unsteered original has no side effects');
    }
    // Steering the topic vector harder moves the behaviour and costs more KL on the original model.
    const space = s.sweep.filter((r: { model: string; concept: string }) => r.model === 'original' && r.concept === 'space');
    const hi = space.at(-1);
    assert.ok(hi.steeringEffect > 0.05 && hi.sideEffectKL > space[1].sideEffectKL, JSON.stringify(space));
    assert.equal(typeof s.finding.holds, 'boolean');
    for (const m of ['original', 'kts']) for (const k of ['steeringEffect', 'sideEffectKL']) assert.equal(typeof s.finding[m][k], 'number');
    for (const f of ['sweep.svg', 'sweep.md', 'sentiment.gguf', 'space.gguf']) assert.ok(existsSync(join(out, f)), f);
    assert.match(readFileSync(join(out, 'sweep.svg'), 'utf8'), /^<svg/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
