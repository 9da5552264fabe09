// llama2.c import: a small random .bin is written here, converted to an HF folder, loaded, and
// its logits compared with a direct port of llama2.c's run.c forward (interleaved-pair RoPE,
// its own KV cache) on the original weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import nodePath from 'node:path';
import { Generator, noGrad, tensor } from '@kts/tensor';
import { generate, importLlama2c, loadModel, readLlama2c } from '@kts/llama';

interface Dims { dim: number; hidden: number; nLayers: number; nHeads: number; nKv: number; vocab: number; seqLen: number; shared: boolean }

interface Weights {
  emb: Float32Array; rmsAtt: Float32Array; wq: Float32Array; wk: Float32Array; wv: Float32Array; wo: Float32Array;
  rmsFfn: Float32Array; w1: Float32Array; w2: Float32Array; w3: Float32Array; rmsFinal: Float32Array; wcls: Float32Array | null;
}

function randomWeights(p: Dims, seed: number): Weights {
  const g = new Generator(seed);
  const kvDim = (p.dim / p.nHeads) * p.nKv;
  const r = (n: number, scale: number, shift = 0): Float32Array => Float32Array.from({ length: n }, () => shift + scale * g.normal());
  const L = p.nLayers;
  return {
    emb: r(p.vocab * p.dim, 1),
    rmsAtt: r(L * p.dim, 0.2, 1),
    wq: r(L * p.dim * p.dim, 2 / Math.sqrt(p.dim)),
    wk: r(L * kvDim * p.dim, 2 / Math.sqrt(p.dim)),
    wv: r(L * kvDim * p.dim, 1 / Math.sqrt(p.dim)),
    wo: r(L * p.dim * p.dim, 1 / Math.sqrt(p.dim)),
    rmsFfn: r(L * p.dim, 0.2, 1),
    w1: r(L * p.hidden * p.dim, 1 / Math.sqrt(p.dim)),
    w2: r(L * p.dim * p.hidden, 1 / Math.sqrt(p.hidden)),
    w3: r(L * p.hidden * p.dim, 1 / Math.sqrt(p.dim)),
    rmsFinal: r(p.dim, 0.2, 1),
    wcls: p.shared ? null : r(p.vocab * p.dim, 1 / Math.sqrt(p.dim)),
  };
}

function concat(parts: (Float32Array | Uint8Array)[]): Uint8Array {
  const bytes = parts.map((x) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  const out = new Uint8Array(bytes.reduce((s, b) => s + b.length, 0));
  let o = 0;
  for (const b of bytes) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

/** Karpathy's legacy format (run.c). */
function writeLegacy(path: string, p: Dims, w: Weights): void {
  const header = new Int32Array([p.dim, p.hidden, p.nLayers, p.nHeads, p.nKv, p.shared ? p.vocab : -p.vocab, p.seqLen]);
  const hs = p.dim / p.nHeads;
  const freq = new Float32Array(p.seqLen * hs); // freq_cis_real + freq_cis_imag (ignored)
  const parts = [header, w.emb, w.rmsAtt, w.wq, w.wk, w.wv, w.wo, w.rmsFfn, w.w1, w.w2, w.w3, w.rmsFinal, freq];
  if (w.wcls) parts.push(w.wcls);
  writeFileSync(path, concat(parts as Float32Array[]));
}

/** export.py's version 1 format: 256-byte header with magic "ak42", norms first. */
function writeV1(path: string, p: Dims, w: Weights): void {
  const header = new Uint8Array(256);
  const dv = new DataView(header.buffer);
  dv.setUint32(0, 0x616b3432, true);
  dv.setInt32(4, 1, true);
  [p.dim, p.hidden, p.nLayers, p.nHeads, p.nKv, p.vocab, p.seqLen].forEach((v, i) => dv.setInt32(8 + 4 * i, v, true));
  header[36] = p.shared ? 1 : 0;
  const parts: (Float32Array | Uint8Array)[] = [header, w.rmsAtt, w.rmsFfn, w.rmsFinal, w.emb, w.wq, w.wk, w.wv, w.wo, w.w1, w.w2, w.w3];
  if (w.wcls) parts.push(w.wcls);
  writeFileSync(path, concat(parts));
}

/** run.c's forward(), position by position, in float64. Returns logits [T][V]. */
function llama2cForward(p: Dims, w: Weights, tokens: number[]): number[][] {
  const { dim, hidden, nLayers, nHeads, nKv, vocab } = p;
  const hs = dim / nHeads;
  const kvDim = hs * nKv;
  const kvMul = nHeads / nKv;
  const matvec = (W: Float32Array, off: number, x: ArrayLike<number>, n: number, d: number): Float64Array => {
    const out = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += W[off + i * n + j]! * x[j]!;
      out[i] = s;
    }
    return out;
  };
  const rmsnorm = (x: Float64Array, W: Float32Array, off: number): Float64Array => {
    let ss = 0;
    for (const v of x) ss += v * v;
    ss = 1 / Math.sqrt(ss / x.length + 1e-5);
    return x.map((v, i) => W[off + i]! * (ss * v));
  };
  const kc: Float64Array[][] = Array.from({ length: nLayers }, () => []);
  const vc: Float64Array[][] = Array.from({ length: nLayers }, () => []);
  const result: number[][] = [];
  tokens.forEach((tok, pos) => {
    let x = Float64Array.from(w.emb.subarray(tok * dim, (tok + 1) * dim));
    for (let l = 0; l < nLayers; l++) {
      const xb = rmsnorm(x, w.rmsAtt, l * dim);
      const q = matvec(w.wq, l * dim * dim, xb, dim, dim);
      const k = matvec(w.wk, l * kvDim * dim, xb, dim, kvDim);
      const v = matvec(w.wv, l * kvDim * dim, xb, dim, kvDim);
      for (let i = 0; i < dim; i += 2) {
        const headDim = i % hs;
        const freq = 1 / Math.pow(10000, headDim / hs);
        const val = pos * freq;
        const fcr = Math.cos(val);
        const fci = Math.sin(val);
        for (const vec of i < kvDim ? [q, k] : [q]) {
          const v0 = vec[i]!;
          const v1 = vec[i + 1]!;
          vec[i] = v0 * fcr - v1 * fci;
          vec[i + 1] = v0 * fci + v1 * fcr;
        }
      }
      kc[l]!.push(k);
      vc[l]!.push(v);
      const att = new Float64Array(dim);
      for (let h = 0; h < nHeads; h++) {
        const kvh = Math.floor(h / kvMul);
        const scores = kc[l]!.map((kt) => {
          let s = 0;
          for (let i = 0; i < hs; i++) s += q[h * hs + i]! * kt[kvh * hs + i]!;
          return s / Math.sqrt(hs);
        });
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        e.forEach((a, t) => {
          for (let i = 0; i < hs; i++) att[h * hs + i]! += (a / z) * vc[l]![t]![kvh * hs + i]!;
        });
      }
      const o = matvec(w.wo, l * dim * dim, att, dim, dim);
      x = x.map((v, i) => v + o[i]!);
      const xb2 = rmsnorm(x, w.rmsFfn, l * dim);
      const h1 = matvec(w.w1, l * hidden * dim, xb2, dim, hidden);
      const h3 = matvec(w.w3, l * hidden * dim, xb2, dim, hidden);
      const hb = h1.map((a, i) => (a / (1 + Math.exp(-a))) * h3[i]!);
      const d = matvec(w.w2, l * dim * hidden, hb, hidden, dim);
      x = x.map((v, i) => v + d[i]!);
    }
    const xf = rmsnorm(x, w.rmsFinal, 0);
    result.push(Array.from(matvec(w.wcls ?? w.emb, 0, xf, dim, vocab)));
  });
  return result;
}

const CASES: { name: string; dims: Dims; format: 'legacy' | 'v1' }[] = [
  { name: 'MHA, shared classifier, legacy format', dims: { dim: 32, hidden: 48, nLayers: 2, nHeads: 4, nKv: 4, vocab: 37, seqLen: 32, shared: true }, format: 'legacy' },
  { name: 'GQA, unshared classifier, legacy format', dims: { dim: 48, hidden: 64, nLayers: 3, nHeads: 6, nKv: 2, vocab: 41, seqLen: 24, shared: false }, format: 'legacy' },
  { name: 'GQA, unshared classifier, version 1 format', dims: { dim: 32, hidden: 40, nLayers: 2, nHeads: 4, nKv: 2, vocab: 29, seqLen: 16, shared: false }, format: 'v1' },
];

for (const { name, dims, format } of CASES) {
  test(`llama2.c import: ${name} — logits equal run.c semantics`, async () => {
    const dir = mkdtempSync(nodePath.join(tmpdir(), 'kts-l2c-'));
    try {
      const w = randomWeights(dims, dims.dim + dims.nLayers);
      const bin = nodePath.join(dir, 'model.bin');
      (format === 'legacy' ? writeLegacy : writeV1)(bin, dims, w);
      const ck = readLlama2c(bin);
      assert.equal(ck.version, format === 'legacy' ? 0 : 1);
      const out = nodePath.join(dir, 'hf');
      const cfg = importLlama2c(bin, out);
      assert.equal(cfg.tieWordEmbeddings, dims.shared);
      assert.equal(cfg.numKeyValueHeads, dims.nKv);
      assert.equal(cfg.maxPositionEmbeddings, dims.seqLen);
      const model = await loadModel(out);
      const tokens = [1, 5, 9, 3, 17, 22, 8, 13, 2, 20, 11, 4];
      const ref = llama2cForward(dims, w, tokens);
      const logits = noGrad(() => model.forward(tensor(Int32Array.from(tokens), [1, tokens.length])).logits).toArray();
      let err = 0;
      ref.forEach((row, t) => row.forEach((v, i) => (err = Math.max(err, Math.abs(v - logits[t * dims.vocab + i]!)))));
      assert.ok(err <= 1e-4, `max abs logit error ${err}`);
      // Greedy decoding with the cache follows the reference argmax.
      const [gen] = await generate(model, [tokens.slice(0, 4)], { maxNewTokens: 4, ignoreEos: true });
      const seq = tokens.slice(0, 4);
      for (let s = 0; s < 4; s++) {
        const row = llama2cForward(dims, w, seq).at(-1)!;
        seq.push(row.indexOf(Math.max(...row)));
      }
      assert.deepEqual(gen, seq.slice(4));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('llama2.c import: truncated or oversized files are rejected with the path', () => {
  const dir = mkdtempSync(nodePath.join(tmpdir(), 'kts-l2c-'));
  try {
    const dims: Dims = { dim: 16, hidden: 24, nLayers: 1, nHeads: 2, nKv: 2, vocab: 11, seqLen: 8, shared: true };
    const bin = nodePath.join(dir, 'm.bin');
    writeLegacy(bin, dims, randomWeights(dims, 1));
    const full = new Uint8Array(readFileSync(bin));
    writeFileSync(bin, full.subarray(0, full.length - 4));
    assert.throws(() => readLlama2c(bin), (e: Error) => e.message.includes(bin) && /file ends at byte/.test(e.message));
    writeFileSync(bin, concat([full, new Uint8Array(8)]));
    assert.throws(() => readLlama2c(bin), /trailing bytes/);
    writeFileSync(bin, new Uint8Array(12));
    assert.throws(() => readLlama2c(bin), /too short/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
