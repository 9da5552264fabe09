// The main job, end to end on the embedded default model: `npm run demo` runs the experiment's
// protocol at demo size and must write a summary.json of the documented shape, with a finding
// taken at non-degenerate points only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('npm run demo writes summary.json, the plot and the vectors; the finding is at a non-degenerate point', { timeout: 600_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'kts-demo-'));
  try {
    const log = execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', 'scripts/demo.ts', '--device', 'cpu', '--out', out, '--steps', '60'], { encoding: 'utf8' });
    assert.match(log, /backend: CPU backend/);
    assert.match(log, /Paper's finding \(equal effect, lower side effects after KTS\) (HOLDS|DOES NOT HOLD)/);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.equal(s.backend, 'cpu');
    assert.ok(s.seconds > 0 && s.entropy > 0);
    assert.deepEqual([...new Set(s.sweep.map((r: { model: string }) => r.model))].sort(), ['kts', 'original']);
    for (const r of s.sweep) {
      for (const k of ['steeringEffect', 'sideEffectKL', 'coeff']) assert.equal(typeof r[k], 'number', `${k} in ${JSON.stringify(r)}`);
      assert.ok(Number.isFinite(r.sideEffectKL) && r.sideEffectKL >= -1e-9);
      assert.equal(r.degenerate, r.sideEffectKL > s.entropy);
      if (r.coeff === 0) assert.equal(r.steeringEffect, 0);
      if (r.coeff === 0 && r.model === 'original') assert.ok(Math.abs(r.sideEffectKL) < 1e-6, 'unsteered original has no side effects');
    }
    // Steering the held-out weather vector harder moves the behaviour and costs more KL on the original model.
    const snowy = s.sweep.filter((r: { model: string; concept: string }) => r.model === 'original' && r.concept === 'snowy');
    assert.ok(snowy.at(-1).sideEffectKL > snowy[1].sideEffectKL, JSON.stringify(snowy));
    assert.ok(Math.max(...snowy.map((r: { steeringEffect: number }) => r.steeringEffect)) > 0.05, JSON.stringify(snowy));
    // The finding compares equal effects below the entropy: the original's KL there is not degenerate.
    assert.equal(typeof s.finding.holds, 'boolean');
    assert.ok(s.finding.original.sideEffectKL <= s.entropy, JSON.stringify(s.finding));
    for (const m of ['original', 'kts']) assert.equal(typeof s.finding[m].steeringEffect, 'number');
    assert.equal(typeof s.costAtZero.kts.mean, 'number');
    for (const f of ['sweep.svg', 'sweep.md', 'negative.gguf', 'snowy.gguf', 'experiment/summary.json', 'experiment/report.md']) assert.ok(existsSync(join(out, f)), f);
    assert.match(readFileSync(join(out, 'sweep.svg'), 'utf8'), /^<svg/);
    assert.equal(s.generations.prompts.length, s.generations.ktsSteered.length);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
