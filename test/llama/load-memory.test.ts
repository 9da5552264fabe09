// Loading streams tensor by tensor into the model's own memory: peak resident memory while
// loading stays under 1.25× the float32 weights (measured in a fresh process: maxRSS after
// loading minus RSS before).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator } from '@kts/tensor';
import { LlamaForCausalLM, makeConfig, saveModel } from '@kts/llama';

test('loadModel peak memory stays under 1.25× the weights (F32 and BF16 checkpoints)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kts-loadmem-'));
  try {
    const config = makeConfig({ vocabSize: 16000, hiddenSize: 256, intermediateSize: 688, numHiddenLayers: 4, numAttentionHeads: 4, maxPositionEmbeddings: 256, tieWordEmbeddings: false });
    const model = new LlamaForCausalLM(config, { generator: new Generator(0) });
    await saveModel(model, join(dir, 'f32'));
    await saveModel(model, join(dir, 'bf16'), { dtype: 'BF16' });
    // The probe lives in the repo (module resolution of @kts/*) as .mts (ESM, top-level await).
    const probeDir = mkdtempSync(join(process.cwd(), 'test', '.tmp-loadmem-'));
    const probe = join(probeDir, 'probe.mts');
    writeFileSync(probe, `
      import { loadModel } from '@kts/llama';
      const before = process.memoryUsage().rss;
      const m = await loadModel(process.argv[2]);
      const peak = process.resourceUsage().maxRSS * 1024;
      const weights = m.namedParameters().reduce((s, [, t]) => s + t.size * 4, 0);
      console.log(JSON.stringify({ weights, ratio: (peak - before) / weights }));
    `);
    for (const kind of ['f32', 'bf16']) {
      const out = execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', probe, join(dir, kind)], { encoding: 'utf8', cwd: process.cwd() });
      const { weights, ratio } = JSON.parse(out.trim().split('\n').at(-1)!);
      assert.ok(weights > 40e6, `the model is big enough to measure (${weights} bytes)`);
      t.diagnostic(`${kind}: peak ${ratio.toFixed(3)}× weights`);
      assert.ok(ratio < 1.25, `${kind}: peak memory while loading is ${ratio.toFixed(3)}× the weights`);
    }
  } finally {
    for (const d of readdirSync(join(process.cwd(), 'test')).filter((f) => f.startsWith('.tmp-loadmem-'))) rmSync(join(process.cwd(), 'test', d), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
