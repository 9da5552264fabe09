// Steering-vector files: GGUF control vectors (checked by an independent reader, @huggingface/gguf)
// and safetensors, plus the extraction math against its definition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { gguf } from '@huggingface/gguf';
import { Generator } from '@kts/tensor';
import { SteeringVector, meanDifference, pcaDirection } from '@kts/steer';
import { decodeControlVector, encodeControlVector } from '@kts/steer';

const dir = mkdtempSync(join(tmpdir(), 'kts-vec-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function randomVector(g: Generator, layers: number[], dim: number): SteeringVector {
  return new SteeringVector(new Map(layers.map((l) => [l, Float32Array.from({ length: dim }, () => g.normal())])), { model: 'tiny-llama', method: 'mean-diff', dataHash: 'abc123' });
}

test('GGUF control vector: written file parses with @huggingface/gguf as llama.cpp expects', async () => {
  const v = randomVector(new Generator(1), [1, 2, 5], 37);
  const path = join(dir, 'v.gguf');
  v.save(path, { layerCount: 8 });
  const parsed = await gguf(path, { allowLocalFile: true });
  const meta = parsed.metadata as Record<string, unknown>;
  assert.equal(meta['general.architecture'], 'controlvector');
  assert.equal(meta['controlvector.model_hint'], 'tiny-llama');
  assert.equal(Number(meta['controlvector.layer_count']), 8);
  assert.deepEqual(parsed.tensorInfos.map((t) => t.name), ['direction.1', 'direction.2', 'direction.5']);
  for (const t of parsed.tensorInfos) {
    assert.equal(t.dtype, 0, 'F32');
    assert.deepEqual(t.shape.map(Number), [37]);
    const start = parsed.tensorDataOffset + t.offset;
    const bytes = Uint8Array.from(readFileSync(path).subarray(Number(start), Number(start) + 37 * 4));
    const data = new Float32Array(bytes.buffer);
    assert.deepEqual([...data], [...v.get(Number(t.name.split('.')[1]))]);
  }
});

test('GGUF round trip (random layers, sizes, metadata)', () => {
  fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 70 }), fc.integer(), (layers, dim, seed) => {
    const v = randomVector(new Generator(seed), layers, dim);
    const path = join(dir, `r${seed}.gguf`);
    v.save(path);
    const back = SteeringVector.load(path);
    assert.deepEqual(back.layers, [...layers].sort((a, b) => a - b));
    for (const l of layers) assert.deepEqual([...back.get(l)], [...v.get(l)]);
    assert.equal(back.meta.method, 'mean-diff');
    assert.equal(back.meta.model, 'tiny-llama');
  }), { numRuns: 30 });
});

test('GGUF refuses layer 0 (llama.cpp rejects direction.0) and reports truncation', () => {
  const v = randomVector(new Generator(2), [0, 1], 4);
  assert.throws(() => v.save(join(dir, 'zero.gguf')), /layer 0 cannot be exported/);
  const bytes = encodeControlVector({ modelHint: 'm', layerCount: 2, directions: new Map([[1, new Float32Array([1, 2, 3])]]) });
  assert.throws(() => decodeControlVector(bytes.slice(0, 40), 'cut.gguf'), /cut.gguf: truncated/);
  const bad = bytes.slice();
  bad[0] = 0;
  assert.throws(() => decodeControlVector(bad, 'bad.gguf'), /bad.gguf: not a GGUF file/);
});

test('safetensors round trip keeps metadata; arithmetic works per layer', () => {
  const g = new Generator(3);
  const a = randomVector(g, [2, 3], 5);
  const b = randomVector(g, [3, 4], 5);
  const path = join(dir, 'a.safetensors');
  a.save(path);
  const back = SteeringVector.load(path);
  assert.deepEqual(back.meta, a.meta);
  assert.deepEqual([...back.get(3)], [...a.get(3)]);
  const s = a.add(b.scale(2));
  assert.deepEqual(s.layers, [3]);
  assert.ok(Math.abs(s.get(3)[1]! - (a.get(3)[1]! + 2 * b.get(3)[1]!)) < 1e-6);
  assert.deepEqual(a.select([-1], 4).layers, [3]);
  assert.ok(Math.abs(a.normalized().norm(2) - 1) < 1e-6);
  writeFileSync(join(dir, 'junk.safetensors'), 'nope');
  assert.throws(() => SteeringVector.load(join(dir, 'junk.safetensors')), /junk.safetensors/);
});

test('meanDifference and pcaDirection against their definitions', () => {
  fc.assert(fc.property(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 2, max: 20 }), fc.integer(), (n, d, seed) => {
    const g = new Generator(seed);
    const axis = Float64Array.from({ length: d }, () => g.normal());
    const neg = Array.from({ length: n }, () => Float64Array.from({ length: d }, () => g.normal()));
    // Positives = negatives + a strong shared direction (scaled per pair) + noise.
    const pos = neg.map((r) => r.map((v, k) => v + (2 + g.random()) * axis[k]! + 0.05 * g.normal()));
    const md = meanDifference(pos, neg);
    for (let k = 0; k < d; k++) {
      const expect = pos.reduce((p, r) => p + r[k]!, 0) / n - neg.reduce((p, r) => p + r[k]!, 0) / n;
      assert.ok(Math.abs(md[k]! - expect) < 1e-12);
    }
    const pc = pcaDirection(pos, neg, { rescale: false });
    assert.ok(Math.abs(Math.hypot(...pc) - 1) < 1e-9, 'unit norm');
    // The top singular direction satisfies the eigen-equation of Σ d dᵀ.
    const diffs = pos.map((p, i) => p.map((v, k) => v - neg[i]![k]!));
    const cv = new Float64Array(d);
    for (const r of diffs) {
      const dot = r.reduce((p, v, k) => p + v * pc[k]!, 0);
      for (let k = 0; k < d; k++) cv[k]! += dot * r[k]!;
    }
    const lambda = cv.reduce((p, v, k) => p + v * pc[k]!, 0);
    for (let k = 0; k < d; k++) assert.ok(Math.abs(cv[k]! - lambda * pc[k]!) < 1e-6 * Math.abs(lambda), 'eigenvector');
    assert.ok(pc.reduce((p, v, k) => p + v * md[k]!, 0) > 0, 'sign aligned with the mean difference');
    const scaled = pcaDirection(pos, neg);
    assert.ok(Math.abs(Math.hypot(...scaled) - Math.hypot(...md)) < 1e-9, 'rescaled to the mean-diff norm');
  }), { numRuns: 40 });
});
