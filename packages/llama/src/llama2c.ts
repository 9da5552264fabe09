// Import of llama2.c checkpoints (Karpathy's `.bin`) into an HF Llama folder.
//
// Legacy format (run.c): 7 int32 — dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size
// (negative: the classifier is not shared with the embedding), seq_len — then float32 arrays:
// token_embedding [V, D], rms_att [L, D], wq [L, D, D], wk [L, kvD, D], wv [L, kvD, D],
// wo [L, D, D], rms_ffn [L, D], w1 [L, H, D], w2 [L, D, H], w3 [L, H, D], rms_final [D],
// freq_cis_real and freq_cis_imag [seq_len, head_size / 2] (skipped), wcls [V, D] if unshared.
// Also the float32 "version 1" export (magic "ak42", 256-byte header; norms first).
//
// llama2.c applies RoPE to interleaved pairs (2i, 2i+1) of each head; HF rotates the halves
// (i, i + d/2). The rows of wq and wk are therefore permuted as HF's convert_llama_weights_to_hf
// `permute` does: w.view(n_heads, head_dim/2, 2, dim).transpose(1, 2).reshape(n_heads*head_dim, dim),
// i.e. new row h·hd + c·hd/2 + j = old row h·hd + 2j + c. w1 = gate, w3 = up, w2 = down.
import { join, mkdirSync, readFileSync } from '@kts/tensor/host';
import { safetensors } from '@kts/tensor';
import { type LlamaConfig, configToJson, makeConfig } from './config.ts';
import { writeFileAtomic } from './load.ts';

export interface Llama2cCheckpoint {
  config: LlamaConfig;
  /** HF names → float32 data and shape (wq/wk already permuted to HF's rotate_half order). */
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  /** 0 = legacy run.c format, 1 = "ak42" version 1 export. */
  version: 0 | 1;
}

const MAGIC = 0x616b3432; // "ak42"

/** Reorders rows of an interleaved-RoPE projection [nHeads·hd, inF] into HF's half-split order. */
export function permuteRope(w: Float32Array, nHeads: number, headDim: number, inF: number): Float32Array {
  const out = new Float32Array(w.length);
  const half = headDim / 2;
  for (let h = 0; h < nHeads; h++) {
    for (let j = 0; j < half; j++) {
      for (let c = 0; c < 2; c++) {
        const src = (h * headDim + 2 * j + c) * inF;
        const dst = (h * headDim + c * half + j) * inF;
        out.set(w.subarray(src, src + inF), dst);
      }
    }
  }
  return out;
}

/** Parses a llama2.c `.bin` into an HF config and HF-named float32 tensors. */
export function readLlama2c(path: string): Llama2cCheckpoint {
  const buf = readFileSync(path);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 28) throw new Error(`${path}: ${bytes.length} bytes is too short for a llama2.c header`);
  let version: 0 | 1 = 0;
  let hdr: number[];
  let shared: boolean;
  let pos: number;
  if (dv.getUint32(0, true) === MAGIC) {
    const v = dv.getInt32(4, true);
    if (v !== 1) throw new Error(`${path}: llama2.c export version ${v} is not supported (only the float32 legacy format and version 1)`);
    version = 1;
    hdr = Array.from({ length: 7 }, (_, i) => dv.getInt32(8 + 4 * i, true));
    shared = bytes[36] !== 0;
    pos = 256;
  } else {
    hdr = Array.from({ length: 7 }, (_, i) => dv.getInt32(4 * i, true));
    shared = hdr[5]! > 0;
    pos = 28;
  }
  const [dim, hidden, nLayers, nHeads, nKv, vocabRaw, seqLen] = hdr as [number, number, number, number, number, number, number];
  const vocab = Math.abs(vocabRaw);
  const bad = [dim, hidden, nLayers, nHeads, nKv, vocab, seqLen].some((x) => !(x > 0 && x < 1 << 24));
  if (bad || dim % nHeads !== 0 || nHeads % nKv !== 0) {
    throw new Error(`${path}: implausible llama2.c header dim=${dim} hidden_dim=${hidden} n_layers=${nLayers} n_heads=${nHeads} n_kv_heads=${nKv} vocab_size=${vocabRaw} seq_len=${seqLen}`);
  }
  const hd = dim / nHeads;
  const kvDim = hd * nKv;

  const floats = (n: number): Float32Array => {
    const end = pos + n * 4;
    if (end > bytes.length) throw new Error(`${path}: file ends at byte ${bytes.length}, but the weights for this header need at least ${end}`);
    const out = new Float32Array(n);
    new Uint8Array(out.buffer).set(bytes.subarray(pos, end));
    pos = end;
    return out;
  };
  const perLayer = (all: Float32Array, l: number, n: number): Float32Array => all.slice(l * n, (l + 1) * n);

  let emb: Float32Array, rmsAtt: Float32Array, rmsFfn: Float32Array, rmsFinal: Float32Array;
  let wq: Float32Array, wk: Float32Array, wv: Float32Array, wo: Float32Array;
  let w1: Float32Array, w2: Float32Array, w3: Float32Array;
  if (version === 0) {
    emb = floats(vocab * dim);
    rmsAtt = floats(nLayers * dim);
    wq = floats(nLayers * dim * dim);
    wk = floats(nLayers * kvDim * dim);
    wv = floats(nLayers * kvDim * dim);
    wo = floats(nLayers * dim * dim);
    rmsFfn = floats(nLayers * dim);
    w1 = floats(nLayers * hidden * dim);
    w2 = floats(nLayers * dim * hidden);
    w3 = floats(nLayers * hidden * dim);
    rmsFinal = floats(dim);
    floats(seqLen * hd); // freq_cis_real + freq_cis_imag (seq_len · head_size/2 each)
  } else {
    rmsAtt = floats(nLayers * dim);
    rmsFfn = floats(nLayers * dim);
    rmsFinal = floats(dim);
    emb = floats(vocab * dim);
    wq = floats(nLayers * dim * dim);
    wk = floats(nLayers * kvDim * dim);
    wv = floats(nLayers * kvDim * dim);
    wo = floats(nLayers * dim * dim);
    w1 = floats(nLayers * hidden * dim);
    w2 = floats(nLayers * dim * hidden);
    w3 = floats(nLayers * hidden * dim);
  }
  const wcls = shared ? null : floats(vocab * dim);
  if (pos !== bytes.length) {
    throw new Error(`${path}: ${bytes.length - pos} trailing bytes after the weights (header dim=${dim} n_layers=${nLayers} vocab_size=${vocabRaw}, ${shared ? 'shared' : 'unshared'} classifier)`);
  }

  const config = makeConfig({
    vocabSize: vocab,
    hiddenSize: dim,
    intermediateSize: hidden,
    numHiddenLayers: nLayers,
    numAttentionHeads: nHeads,
    numKeyValueHeads: nKv,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    maxPositionEmbeddings: seqLen,
    tieWordEmbeddings: shared,
    bosTokenId: 1,
    eosTokenIds: [2],
    torchDtype: 'float32',
  }, path);

  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  tensors.set('model.embed_tokens.weight', { shape: [vocab, dim], data: emb });
  for (let l = 0; l < nLayers; l++) {
    const p = `model.layers.${l}`;
    tensors.set(`${p}.input_layernorm.weight`, { shape: [dim], data: perLayer(rmsAtt, l, dim) });
    tensors.set(`${p}.self_attn.q_proj.weight`, { shape: [dim, dim], data: permuteRope(perLayer(wq, l, dim * dim), nHeads, hd, dim) });
    tensors.set(`${p}.self_attn.k_proj.weight`, { shape: [kvDim, dim], data: permuteRope(perLayer(wk, l, kvDim * dim), nKv, hd, dim) });
    tensors.set(`${p}.self_attn.v_proj.weight`, { shape: [kvDim, dim], data: perLayer(wv, l, kvDim * dim) });
    tensors.set(`${p}.self_attn.o_proj.weight`, { shape: [dim, dim], data: perLayer(wo, l, dim * dim) });
    tensors.set(`${p}.post_attention_layernorm.weight`, { shape: [dim], data: perLayer(rmsFfn, l, dim) });
    tensors.set(`${p}.mlp.gate_proj.weight`, { shape: [hidden, dim], data: perLayer(w1, l, hidden * dim) });
    tensors.set(`${p}.mlp.down_proj.weight`, { shape: [dim, hidden], data: perLayer(w2, l, dim * hidden) });
    tensors.set(`${p}.mlp.up_proj.weight`, { shape: [hidden, dim], data: perLayer(w3, l, hidden * dim) });
  }
  tensors.set('model.norm.weight', { shape: [dim], data: rmsFinal });
  if (wcls) tensors.set('lm_head.weight', { shape: [vocab, dim], data: wcls });
  return { config, tensors, version };
}

/**
 * Converts a llama2.c `.bin` into an HF folder (`config.json` + `model.safetensors`) loadable
 * with `loadModel`. Returns the config.
 */
export function importLlama2c(binPath: string, outDir: string, opts: { dtype?: 'F32' | 'BF16' | 'F16' } = {}): LlamaConfig {
  const ck = readLlama2c(binPath);
  mkdirSync(outDir, { recursive: true });
  const out: Record<string, safetensors.WritableTensor> = {};
  for (const [name, t] of ck.tensors) out[name] = { shape: t.shape, data: t.data, dtype: opts.dtype ?? 'F32' };
  safetensors.writeSafetensors(join(outDir, safetensors.SINGLE_FILE), out, { format: 'pt', source: 'llama2.c' });
  const cfg = { ...configToJson(ck.config), torch_dtype: opts.dtype === 'BF16' ? 'bfloat16' : opts.dtype === 'F16' ? 'float16' : 'float32' };
  writeFileAtomic(join(outDir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
  return ck.config;
}
