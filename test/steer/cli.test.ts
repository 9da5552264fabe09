// The kts CLI contract, end to end on a tiny random model with the default tokenizer:
// info → vector (GGUF) → train (PEFT adapter) → eval (report.json/.md/.svg, suggested answers)
// → export-peft → merge → generate, plus a probe, and clear errors for bad arguments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, loadTensors } from '@kts/tensor';
import { LlamaForCausalLM, makeConfig, saveModel } from '@kts/llama';

const kts = (...args: string[]) => execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', 'packages/steer/src/cli.ts', ...args, ...(args[0] === 'info' || args[0] === 'convert' || args[0] === 'export-peft' || args[0] === 'merge' ? [] : ['--device', 'cpu'])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('kts CLI: vector → train → eval → export-peft → merge → generate on a tiny model', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kts-cli-'));
  try {
    const model = join(dir, 'tiny');
    const cfg = makeConfig({ vocabSize: 1024, hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 3, numAttentionHeads: 4, maxPositionEmbeddings: 512, tieWordEmbeddings: true, bosTokenId: 1, eosTokenIds: [2] });
    await saveModel(new LlamaForCausalLM(cfg, { generator: new Generator(0) }), model);
    for (const f of ['tokenizer.model', 'tokenizer_config.json', 'special_tokens_map.json']) copyFileSync(join('models/default', f), join(model, f));

    const info = JSON.parse(kts('info', '--model', model));
    assert.equal(info.numHiddenLayers, 3);
    assert.equal(info.parameters, 1024 * 32 + 3 * (4 * 32 * 32 + 3 * 32 * 64 + 2 * 32) + 32);

    const vec = join(dir, 'sent.gguf');
    const v = JSON.parse(kts('vector', '--model', model, '--data', 'data/sentiment_pairs.jsonl', '--layers', '1,2', '--method', 'pca', '--out', vec));
    assert.deepEqual(v.layers, [1, 2]);
    assert.ok(existsSync(vec));

    const run = join(dir, 'run');
    kts('train', '--model', model, '--vectors', vec, '--data', 'data/benign_train.jsonl', '--steps', '4', '--prob', '1', '--lr', '1e-3', '--checkpoint-every', '2', '--out', run);
    const cfgJson = JSON.parse(readFileSync(join(run, 'adapter', 'adapter_config.json'), 'utf8'));
    assert.equal(cfgJson.peft_type, 'LORA');
    const train = JSON.parse(readFileSync(join(run, 'train.json'), 'utf8'));
    assert.equal(train.history.length, 4);

    const report = join(dir, 'report.json');
    kts('eval', '--model', model, '--adapter', join(run, 'adapter'), '--vector', vec, '--coeffs', '0,4', '--benign', 'data/benign_eval.jsonl',
      '--behaviour', 'data/sentiment_pairs.jsonl', '--suggested', 'data/ab_sentiment.json', '--out', report);
    const r = JSON.parse(readFileSync(report, 'utf8'));
    assert.deepEqual(r.rows.map((x: { model: string; coeff: number }) => `${x.model}@${x.coeff}`), ['original@0', 'original@4', 'kts@0', 'kts@4']);
    for (const row of r.rows) assert.equal(typeof row.sideEffectKL, 'number');
    assert.equal(r.rows[0].sideEffectKL, 0);
    assert.ok(r.rows[1].sideEffectKL > 0, 'steering costs KL');
    assert.equal(r.suggested.original.rows.length, 4);
    assert.ok(existsSync(join(dir, 'report.md')) && existsSync(join(dir, 'report.svg')));

    const peft = join(dir, 'peft');
    kts('export-peft', '--model', model, '--checkpoint', join(run, 'checkpoint'), '--out', peft);
    const exported = loadTensors(join(peft, 'adapter_model.safetensors')).tensors;
    const trained = loadTensors(join(run, 'adapter', 'adapter_model.safetensors')).tensors;
    assert.deepEqual(Object.keys(exported).sort(), Object.keys(trained).sort());
    for (const k of Object.keys(trained)) assert.deepEqual([...exported[k]!.toArray()], [...trained[k]!.toArray()], k);

    const merged = join(dir, 'merged');
    kts('merge', '--model', model, '--adapter', peft, '--out', merged);
    assert.ok(existsSync(join(merged, 'model.safetensors')) && existsSync(join(merged, 'tokenizer.model')));
    const out = kts('generate', '--model', merged, '--prompt', 'Once upon a time', '--max-new-tokens', '5', '--vector', vec, '--coeff', '2');
    assert.ok(out.length > 0);

    const probeData = join(dir, 'probe.jsonl');
    writeFileSync(probeData, readFileSync('data/benign_train.jsonl', 'utf8').split('\n').filter(Boolean).slice(0, 60)
      .map((l) => { const x = JSON.parse(l); return JSON.stringify({ prompt: x.prompt, label: x.topic === 'space' ? 1 : 0 }); }).join('\n'));
    const p = JSON.parse(kts('probe', '--model', model, '--data', probeData, '--layer', '1', '--out', join(dir, 'probe.json')));
    assert.ok(p.trainAccuracy >= 0.5 && existsSync(join(dir, 'probe.json')));

    const bad = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', 'packages/steer/src/cli.ts', 'vector', '--model', model, '--data', 'data/sentiment_pairs.jsonl', '--method', 'svd', '--out', join(dir, 'x.gguf'), '--device', 'cpu'], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--method must be mean-diff or pca, got svd/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
