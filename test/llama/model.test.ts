// @kts/llama model: HF-semantics goldens from reference/llama_ref.py, KV cache, padding,
// capture/steer, LoRA gradients through steering, checkpoint I/O and its errors.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import nodePath from 'node:path';
import { Generator, type Tensor, cat, loadTensors, nn, noGrad, safetensors, tensor, randn, crossEntropy } from '@kts/tensor';
import {
  KVCache, LlamaForCausalLM, hfStateDict, loadModel, makeConfig, parseConfig, replaceLinears, saveModel,
} from '@kts/llama';
import { maxAbsDiff } from '../helpers/compare.ts';

const GOLDEN_DIR = new URL('../../reference/goldens/llama/', import.meta.url).pathname;
const CHECKPOINTS = ['mha_f32', 'gqa_tied_bf16', 'rope_llama3', 'odd_head_dim', 'rope_linear'];

interface GoldenJson {
  single: number[];
  batch: number[][];
  greedy: { prompt: number[]; continuation: number[] }[];
}


const ids2 = (rows: number[][]): Tensor => tensor(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length]);

/** Rows [t0, t1) of a [1, T, X] or [B, T, X] tensor's batch row b, flattened. */
function rows(t: Tensor, b: number, t0: number, t1: number): Float32Array {
  const [, T, X] = t.shape as [number, number, number];
  return (t.toArray() as Float32Array).slice((b * T + t0) * X, (b * T + t1) * X);
}

function tinyModel(opts: { tied?: boolean; kv?: number; seed?: number } = {}): LlamaForCausalLM {
  const cfg = makeConfig({
    vocabSize: 50, hiddenSize: 24, intermediateSize: 40, numHiddenLayers: 3, numAttentionHeads: 4,
    numKeyValueHeads: opts.kv ?? 2, tieWordEmbeddings: opts.tied ?? false, eosTokenIds: [2], bosTokenId: 1,
  });
  return new LlamaForCausalLM(cfg, { generator: new Generator(opts.seed ?? 1) });
}

describe('goldens (PyTorch reference, HF semantics)', () => {
  for (const name of CHECKPOINTS) {
    test(name, async () => {
      const dir = nodePath.join(GOLDEN_DIR, name);
      const model = await loadModel(dir);
      const g = loadTensors(nodePath.join(dir, 'golden.safetensors')).tensors;
      const j = JSON.parse(readFileSync(nodePath.join(dir, 'golden.json'), 'utf8')) as GoldenJson;
      const n = model.numLayers;
      const all = Array.from({ length: n }, (_, i) => i);

      // Single sequence: logits and every decoder-layer output.
      const out = noGrad(() => model.forward(ids2([j.single]), { capture: { layers: all } }));
      assert.deepEqual(out.logits.shape, g['single.logits']!.shape);
      const e = maxAbsDiff(out.logits.toArray(), g['single.logits']!.toArray());
      assert.ok(e <= 1e-4, `${name}: logits max abs error ${e}`);
      for (const i of all) {
        const eh = maxAbsDiff(out.hidden.get(i)!.toArray(), g[`single.hidden.${i}`]!.toArray());
        assert.ok(eh <= 1e-4, `${name}: hidden ${i} max abs error ${eh}`);
      }

      // Left-padded batch: compare the real (unpadded) positions only.
      const ids = g['batch.ids']!;
      const mask = g['batch.mask']!;
      const bo = noGrad(() => model.forward(ids, { attentionMask: mask, capture: { layers: all } }));
      const [B, T] = ids.shape as [number, number];
      j.batch.forEach((p, b) => {
        const t0 = T - p.length;
        const eb = maxAbsDiff(rows(bo.logits, b, t0, T), rows(g['batch.logits']!, b, t0, T));
        assert.ok(eb <= 1e-4, `${name}: batch row ${b} logits error ${eb}`);
        for (const i of all) {
          const eh = maxAbsDiff(rows(bo.hidden.get(i)!, b, t0, T), rows(g[`batch.hidden.${i}`]!, b, t0, T));
          assert.ok(eh <= 1e-4, `${name}: batch row ${b} hidden ${i} error ${eh}`);
        }
      });
      assert.equal(B, j.batch.length);

      // Greedy continuations by full recomputation (no cache): identical tokens.
      for (const { prompt, continuation } of j.greedy) {
        const seq = [...prompt];
        for (let s = 0; s < continuation.length; s++) {
          const lg = noGrad(() => model.forward(ids2([seq]), { logits: 'last' }).logits.argmax(-1).toArray());
          seq.push(lg[0]!);
        }
        assert.deepEqual(seq.slice(prompt.length), continuation, `${name}: greedy continuation of [${prompt}]`);
      }
    });
  }
});

test('namedParameters gives exactly the HF keys (tied: no lm_head)', async () => {
  for (const name of ['mha_f32', 'gqa_tied_bf16']) {
    const dir = nodePath.join(GOLDEN_DIR, name);
    const model = await loadModel(dir);
    const fileKeys = safetensors.openSafetensors(nodePath.join(dir, 'model.safetensors'));
    assert.deepEqual(model.namedParameters().map(([k]) => k).sort(), fileKeys.names());
    fileKeys.close();
  }
  const tied = tinyModel({ tied: true });
  assert.ok(!tied.namedParameters().some(([k]) => k.startsWith('lm_head')));
});

test('KV-cache decoding equals full recomputation (incl. chunked prefill)', () => {
  const model = tinyModel();
  const seq = [1, 7, 3, 9, 22, 41, 5, 17, 30, 8, 12];
  noGrad(() => {
    const full = model.forward(ids2([seq])).logits;
    const cache = new KVCache({ capacity: 4 }); // forces the buffer to grow
    const parts: Tensor[] = [];
    parts.push(model.forward(ids2([seq.slice(0, 4)]), { cache }).logits);
    assert.equal(cache.length, 4);
    parts.push(model.forward(ids2([seq.slice(4, 7)]), { cache }).logits);
    for (let t = 7; t < seq.length; t++) parts.push(model.forward(ids2([[seq[t]!]]), { cache }).logits);
    assert.equal(cache.length, seq.length);
    const inc = cat(parts, 1);
    const e = maxAbsDiff(inc.toArray(), full.toArray());
    assert.ok(e <= 1e-5, `cache vs full: ${e}`);
  });
});

test('KV cache keeps the graph when gradients are needed', () => {
  const model = tinyModel();
  const seq = [1, 7, 3, 9, 22];
  const cache = new KVCache();
  const a = model.forward(ids2([seq.slice(0, 3)]), { cache }).logits;
  const b = model.forward(ids2([seq.slice(3)]), { cache }).logits;
  b.sum().add(a.sum()).backward();
  const g = model.model.layers[0]!.self_attn.k_proj as nn.Linear;
  assert.ok(g.weight.grad, 'k_proj receives a gradient through the cached keys');
  const full = noGrad(() => model.forward(ids2([seq])).logits);
  assert.ok(maxAbsDiff(cat([a, b], 1).detach().toArray(), full.toArray()) <= 1e-5);
});

test('left-padded batch equals unpadded singles (prefill and cached decode)', () => {
  const model = tinyModel({ seed: 3 });
  const prompts = [[1, 4, 8, 15, 16, 23, 42], [1, 9, 2], [1, 30, 31, 32, 33]];
  const L = 7;
  const padded = prompts.map((p) => [...new Array<number>(L - p.length).fill(0), ...p]);
  const mask = prompts.map((p) => Array.from({ length: L }, (_, j) => (j < L - p.length ? 0 : 1)));
  noGrad(() => {
    const cache = new KVCache();
    const bo = model.forward(ids2(padded), { attentionMask: ids2(mask), cache, capture: { layers: [1], positions: 'last' } });
    const next = [[5], [6], [7]];
    const mask2 = mask.map((r) => [...r, 1]);
    const step = model.forward(ids2(next), { attentionMask: ids2(mask2), cache });
    prompts.forEach((p, b) => {
      const so = model.forward(ids2([[...p, next[b]![0]!]]), { capture: { layers: [1], positions: 'last' } });
      const e1 = maxAbsDiff(rows(bo.logits, b, L - p.length, L), rows(so.logits, 0, 0, p.length));
      const e2 = maxAbsDiff(rows(step.logits, b, 0, 1), rows(so.logits, 0, p.length, p.length + 1));
      assert.ok(e1 <= 1e-5 && e2 <= 1e-5, `row ${b}: prefill ${e1}, decode ${e2}`);
      const hb = (bo.hidden.get(1)!.toArray() as Float32Array).slice(b * 24, (b + 1) * 24);
      const hs = noGrad(() => model.forward(ids2([p]), { capture: { layers: [1], positions: 'last' } })).hidden.get(1)!.toArray();
      assert.ok(maxAbsDiff(hb, hs) <= 1e-5);
    });
  });
});

test('explicit positionIds equal the default positions; capture keys and negative layers', () => {
  const model = tinyModel();
  const seq = [[1, 5, 9, 13]];
  noGrad(() => {
    const a = model.forward(ids2(seq), { capture: { layers: [-1, 2, 0, -3] } });
    const b = model.forward(ids2(seq), { positionIds: tensor(Int32Array.from([0, 1, 2, 3]), [4]) });
    assert.ok(maxAbsDiff(a.logits.toArray(), b.logits.toArray()) === 0);
    assert.deepEqual([...a.hidden.keys()].sort((x, y) => x - y), [-3, -1, 0, 2]);
    assert.equal(a.hidden.get(-1), a.hidden.get(2));
    assert.equal(a.hidden.get(-3), a.hidden.get(0));
    assert.deepEqual(a.hidden.get(0)!.shape, [1, 4, 24]);
    const last = model.forward(ids2(seq), { capture: { layers: [-1], positions: 'last' } }).hidden.get(-1)!;
    assert.deepEqual(last.shape, [1, 24]);
    assert.ok(maxAbsDiff(last.toArray(), rows(a.hidden.get(2)!, 0, 3, 4)) === 0);
    assert.throws(() => model.forward(ids2(seq), { capture: { layers: [3] } }), /layer index 3 is out of range/);
    assert.throws(() => model.forward(ids2(seq), { capture: { layers: [-4] } }), /out of range/);
    const lastLogits = model.forward(ids2(seq), { logits: 'last' }).logits;
    assert.deepEqual(lastLogits.shape, [1, 1, 50]);
    assert.ok(maxAbsDiff(lastLogits.toArray(), rows(a.logits, 0, 3, 4)) <= 1e-6);
  });
});

describe('steering', () => {
  const model = tinyModel({ seed: 5 });
  const batch = [[1, 5, 9, 13, 2], [1, 6, 7, 8, 3]];
  const D = 24;
  const vec = randn([2, D], { generator: new Generator(9) }); // K = 2 vectors
  const coeffs = tensor([[1.5, -0.5], [0.25, 2]]);

  test('equals adding the vectors by hand via onResidual', () => {
    noGrad(() => {
      const steered = model.forward(ids2(batch), { steer: { layers: [1, -1], vectors: vec, coeffs }, capture: { layers: [1] } });
      const delta = coeffs.unsqueeze(-1).mul(vec).sum(1).unsqueeze(1); // [B, 1, D]
      const manual = model.forward(ids2(batch), {
        onResidual: (l, h) => (l === 1 || l === 2 ? h.add(delta) : undefined),
        capture: { layers: [1] },
      });
      assert.ok(maxAbsDiff(steered.logits.toArray(), manual.logits.toArray()) <= 1e-5);
      assert.ok(maxAbsDiff(steered.hidden.get(1)!.toArray(), manual.hidden.get(1)!.toArray()) <= 1e-5, 'capture sees the steered stream');
      const plain = model.forward(ids2(batch));
      assert.ok(maxAbsDiff(steered.logits.toArray(), plain.logits.toArray()) > 1e-2, 'steering changes the logits');
    });
  });

  test('coefficient 0 equals the unsteered model; mask limits positions; per-sequence and per-layer vectors', () => {
    noGrad(() => {
      const plain = model.forward(ids2(batch));
      const zero = model.forward(ids2(batch), { steer: { layers: [0, 1, 2], vectors: vec, coeffs: tensor([[0, 0], [0, 0]]) } });
      assert.ok(maxAbsDiff(plain.logits.toArray(), zero.logits.toArray()) === 0);

      // Mask: steer only the last position of row 0 → earlier positions unchanged.
      const mask = tensor([[0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]);
      const masked = model.forward(ids2(batch), { steer: { layers: [1], vectors: vec, coeffs, mask } });
      assert.ok(maxAbsDiff(rows(masked.logits, 0, 0, 4), rows(plain.logits, 0, 0, 4)) === 0);
      assert.ok(maxAbsDiff(rows(masked.logits, 1, 0, 5), rows(plain.logits, 1, 0, 5)) === 0);
      assert.ok(maxAbsDiff(rows(masked.logits, 0, 4, 5), rows(plain.logits, 0, 4, 5)) > 1e-3);

      // [B, K, D] vectors that repeat the shared ones give the same result.
      const perSeq = vec.unsqueeze(0).expand([2, 2, D]);
      const a = model.forward(ids2(batch), { steer: { layers: [1], vectors: vec, coeffs } });
      const b = model.forward(ids2(batch), { steer: { layers: [1], vectors: perSeq, coeffs } });
      assert.ok(maxAbsDiff(a.logits.toArray(), b.logits.toArray()) <= 1e-6);

      // Per-layer map and [D] vector with [B] coefficients.
      const v1 = randn([D], { generator: new Generator(11) });
      const v2 = randn([D], { generator: new Generator(12) });
      const c = tensor([1, 2]);
      const mapped = model.forward(ids2(batch), { steer: { layers: [0, -1], vectors: new Map([[0, v1], [2, v2]]), coeffs: c } });
      const twoSpecs = model.forward(ids2(batch), {
        steer: [{ layers: [0], vectors: v1, coeffs: c }, { layers: [2], vectors: v2, coeffs: c }],
      });
      assert.ok(maxAbsDiff(mapped.logits.toArray(), twoSpecs.logits.toArray()) <= 1e-6);
    });
  });

  test('gradients flow into LoRA parameters (and the vector) through a steered forward', () => {
    const m = tinyModel({ seed: 7 });
    m.requiresGrad_(false);
    const replaced = replaceLinears(m, ['q_proj', 'v_proj', 'down_proj'], (l) => new nn.LoRALinear(l, { rank: 4, generator: new Generator(3) }), { layers: [0, 1] });
    assert.deepEqual(replaced, [
      'model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj', 'model.layers.0.mlp.down_proj',
      'model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj', 'model.layers.1.mlp.down_proj',
    ]);
    const loras = m.modules().filter((x): x is nn.LoRALinear => x instanceof nn.LoRALinear);
    assert.equal(loras.length, 6);
    // Perturb lora_B so that every adapter has a non-zero path (fresh adapters have B = 0).
    noGrad(() => loras.forEach((l, i) => l.lora_B.backend.assign(l.lora_B, randn(l.lora_B.shape as number[], { generator: new Generator(20 + i) }).mul(0.1))));
    const v = randn([D], { generator: new Generator(4) }).requiresGrad_();
    const targets = tensor(Int32Array.from([5, 9, 13, 2, 0, 6, 7, 8, 3, 0]), [10]);
    const lossFor = (coeff: number): Tensor => {
      const out = m.forward(ids2(batch), { steer: { layers: [1, 2], vectors: v, coeffs: tensor([coeff, coeff]) } });
      return crossEntropy(out.logits.reshape([10, 50]), targets);
    };
    for (const p of m.parameters()) p.zeroGrad();
    v.zeroGrad();
    lossFor(2).backward();
    const params = m.parameters();
    assert.equal(params.length, 12, 'only LoRA A/B are trainable');
    for (const p of params) assert.ok(p.grad && maxAbsDiff(p.grad.toArray(), new Float32Array(p.size)) > 0, 'every LoRA tensor gets a gradient');
    assert.ok(v.grad && maxAbsDiff(v.grad.toArray(), new Float32Array(D)) > 0, 'the steering vector gets a gradient');
    const g2 = loras[5]!.lora_B.grad!.toArray().slice();
    for (const p of params) p.zeroGrad();
    lossFor(0).backward();
    const g0 = loras[5]!.lora_B.grad!.toArray();
    assert.ok(maxAbsDiff(g2, g0) > 1e-6, 'the steering enters the LoRA gradient');
  });
});

test('replaceLinears with fresh LoRA keeps outputs; hfStateDict merges adapters', async () => {
  const m = tinyModel({ seed: 8 });
  const seq = ids2([[1, 2, 3, 4]]);
  const before = noGrad(() => m.forward(seq).logits);
  replaceLinears(m, ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'lm_head'], (l) => new nn.LoRALinear(l, { rank: 2 }));
  const after = noGrad(() => m.forward(seq).logits);
  assert.ok(maxAbsDiff(before.toArray(), after.toArray()) === 0);
  const loras = m.modules().filter((x): x is nn.LoRALinear => x instanceof nn.LoRALinear);
  assert.equal(loras.length, 3 * 7 + 1);
  noGrad(() => loras.forEach((l) => l.lora_B.backend.assign(l.lora_B, randn(l.lora_B.shape as number[]).mul(0.05))));
  const tuned = noGrad(() => m.forward(seq).logits);
  const dir = mkdtempSync(nodePath.join(tmpdir(), 'kts-llama-'));
  try {
    await saveModel(m, dir);
    const re = await loadModel(dir);
    const e = maxAbsDiff(noGrad(() => re.forward(seq).logits).toArray(), tuned.toArray());
    assert.ok(e <= 1e-4, `merged LoRA save/load: ${e}`);
    assert.deepEqual(Object.keys(hfStateDict(m)).sort(), re.namedParameters().map(([k]) => k).sort());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('saveModel / loadModel round trip (F32 exact, BF16 close)', async () => {
  const m = tinyModel({ tied: true, seed: 2 });
  const seq = ids2([[1, 2, 3, 4, 5]]);
  const ref = noGrad(() => m.forward(seq).logits).toArray();
  const dir = mkdtempSync(nodePath.join(tmpdir(), 'kts-llama-'));
  try {
    await saveModel(m, dir);
    const cfg = JSON.parse(readFileSync(nodePath.join(dir, 'config.json'), 'utf8'));
    assert.equal(cfg.tie_word_embeddings, true);
    assert.equal(cfg.architectures[0], 'LlamaForCausalLM');
    const re = await loadModel(dir);
    assert.equal(maxAbsDiff(noGrad(() => re.forward(seq).logits).toArray(), ref), 0);
    assert.ok(re.parameters().length === 0, 'loaded weights are frozen by default');
    await saveModel(m, dir, { dtype: 'BF16' });
    const info = safetensors.openSafetensors(nodePath.join(dir, 'model.safetensors'));
    assert.equal(info.info('model.norm.weight').dtype, 'BF16');
    info.close();
    const rb = await loadModel(dir);
    const e = maxAbsDiff(noGrad(() => rb.forward(seq).logits).toArray(), ref);
    assert.ok(e > 0 && e < 0.2, `bf16 round trip error ${e}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('load errors name the tensor and the file', () => {
  const src = nodePath.join(GOLDEN_DIR, 'mha_f32');
  const withFiles = async (edit: (dir: string) => void, check: RegExp[]): Promise<void> => {
    const dir = mkdtempSync(nodePath.join(tmpdir(), 'kts-llama-bad-'));
    try {
      copyFileSync(nodePath.join(src, 'config.json'), nodePath.join(dir, 'config.json'));
      copyFileSync(nodePath.join(src, 'model.safetensors'), nodePath.join(dir, 'model.safetensors'));
      edit(dir);
      await assert.rejects(loadModel(dir), (e: Error) => {
        for (const re of check) assert.match(e.message, re);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const rewrite = (dir: string, fn: (t: Record<string, safetensors.RawTensor>) => void): void => {
    const file = nodePath.join(dir, 'model.safetensors');
    const all = safetensors.readSafetensors(file);
    fn(all);
    rmSync(file);
    safetensors.writeSafetensors(file, Object.fromEntries(Object.entries(all).map(([k, v]) => [k, { shape: v.shape, data: v.data as Float32Array }])));
  };

  test('missing tensor', () => withFiles(
    (d) => rewrite(d, (t) => delete t['model.layers.1.mlp.up_proj.weight']),
    [/"model\.layers\.1\.mlp\.up_proj\.weight"/, /expected shape \[64, 32\]/, /missing from .*model\.safetensors/],
  ));
  test('wrong shape', () => withFiles(
    (d) => rewrite(d, (t) => { t['model.norm.weight'] = { dtype: 'F32', shape: [31], data: new Float32Array(31) }; }),
    [/"model\.norm\.weight"/, /has shape \[31\]/, /implies \[32\]/, /model\.safetensors/],
  ));
  test('unexpected tensor (rotary inv_freq is ignored)', async () => {
    await withFiles(
      (d) => rewrite(d, (t) => { t['model.layers.0.self_attn.extra.weight'] = { dtype: 'F32', shape: [2], data: new Float32Array(2) }; }),
      [/unexpected tensor\(s\) "model\.layers\.0\.self_attn\.extra\.weight"/, /model\.safetensors/],
    );
    const dir = mkdtempSync(nodePath.join(tmpdir(), 'kts-llama-ok-'));
    try {
      copyFileSync(nodePath.join(src, 'config.json'), nodePath.join(dir, 'config.json'));
      copyFileSync(nodePath.join(src, 'model.safetensors'), nodePath.join(dir, 'model.safetensors'));
      rewrite(dir, (t) => { t['model.layers.0.self_attn.rotary_emb.inv_freq'] = { dtype: 'F32', shape: [4], data: new Float32Array(4) }; });
      await loadModel(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test('bad config: unknown architecture, model_type, missing field', async () => {
    const cfgEdit = (fn: (c: Record<string, unknown>) => void) => (d: string): void => {
      const f = nodePath.join(d, 'config.json');
      const c = JSON.parse(readFileSync(f, 'utf8'));
      fn(c);
      writeFileSync(f, JSON.stringify(c));
    };
    await withFiles(cfgEdit((c) => { c.architectures = ['MistralForCausalLM']; }), [/config\.json/, /unsupported architecture "MistralForCausalLM"/]);
    await withFiles(cfgEdit((c) => { delete c.architectures; c.model_type = 'gpt2'; }), [/config\.json/, /unsupported model_type "gpt2"/]);
    await withFiles(cfgEdit((c) => { delete c.hidden_size; }), [/config\.json/, /missing required field "hidden_size"/]);
    await withFiles((d) => writeFileSync(nodePath.join(d, 'config.json'), '{ nope'), [/config\.json/, /not valid JSON/]);
    await withFiles((d) => rmSync(nodePath.join(d, 'model.safetensors')), [/no model\.safetensors or model\.safetensors\.index\.json/]);
  });
});

test('config parsing: defaults, head_dim, eos lists, rope scaling', () => {
  const base = { vocab_size: 10, hidden_size: 16, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 4 };
  const c = parseConfig(base);
  assert.equal(c.numKeyValueHeads, 4);
  assert.equal(c.headDim, 4);
  assert.equal(c.tieWordEmbeddings, false);
  assert.deepEqual(c.eosTokenIds, []);
  assert.equal(parseConfig({ ...base, head_dim: 6 }).headDim, 6);
  assert.deepEqual(parseConfig({ ...base, eos_token_id: [2, 7] }).eosTokenIds, [2, 7]);
  assert.deepEqual(parseConfig({ ...base, rope_scaling: { type: 'linear', factor: 4 } }).ropeScaling, { type: 'linear', factor: 4 });
  assert.throws(() => parseConfig({ ...base, rope_scaling: { rope_type: 'yarn', factor: 4 } }, 'x/config.json'), /x\/config\.json: unsupported rope_scaling type "yarn"/);
  assert.throws(() => parseConfig({ ...base, rope_scaling: { rope_type: 'llama3', factor: 8 } }), /rope_scaling\.low_freq_factor/);
  assert.throws(() => parseConfig({ ...base, num_key_value_heads: 3 }), /multiple of num_key_value_heads/);
  assert.throws(() => parseConfig({ ...base, attention_bias: true }), /attention_bias/);
});
