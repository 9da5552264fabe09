#!/usr/bin/python3
"""Hand-written PyTorch Llama with Hugging Face semantics, and the goldens for @kts/llama.

Run:  /usr/bin/python3 reference/llama_ref.py
Writes reference/goldens/llama/<name>/{config.json, model.safetensors, golden.safetensors, golden.json}.

No transformers, no safetensors package: the model is written out below (HF LlamaForCausalLM,
eager attention) and so is a minimal safetensors writer.

Semantics reproduced from transformers' modeling_llama.py:
  - LlamaRMSNorm: x.float(); x * rsqrt(mean(x^2) + eps); weight * x.to(dtype)
  - rotary: inv_freq = 1 / theta^(arange(0, d, 2) / d) (float32), rope_scaling 'linear'
    (inv_freq / factor) or 'llama3' (_compute_llama3_parameters), cos/sin of
    cat(freqs, freqs), q*cos + rotate_half(q)*sin with rotate_half(x) = cat(-x2, x1)
  - GQA via repeat_kv, scores / sqrt(head_dim), causal + padding mask with finfo.min
  - MLP down(silu(gate(x)) * up(x)); tied or untied lm_head
  - position_ids = cumsum(attention_mask) - 1, clamped at 0 (HF fills padding with 1;
    padding positions are never compared)

Goldens per checkpoint (all float32 unless noted):
  golden.safetensors:
    single.logits [1, T, V], single.hidden.<i> [1, T, D] for every decoder layer i (the
        decoder-layer outputs, HF hidden_states[i + 1])
    batch.ids int32 [B, Tmax] (left-padded with 0), batch.mask int32 [B, Tmax],
    batch.logits [B, Tmax, V], batch.hidden.<i> [B, Tmax, D] (padding positions are garbage)
  golden.json: {"single": ids, "batch": [ids...], "greedy": [{"prompt": ids, "continuation": ids (32)}],
                "greedy_batch": {"prompts": [...], "continuations": [...]} }

Greedy prompts are chosen so that at every step the top-1 logit beats the top-2 by at least
MARGIN, so an implementation differing by float rounding still picks the same tokens.
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "goldens", "llama")
GEN_TOKENS = 32
MARGIN = 2e-3


# ---------------------------------------------------------------------------------------------
# safetensors writer
# ---------------------------------------------------------------------------------------------

def to_bytes(t, dtype):
    t = t.detach().contiguous()
    if dtype == "F32":
        return t.to(torch.float32).numpy().tobytes()
    if dtype == "BF16":
        # bfloat16 bits = high 16 bits of the (already bf16-representable) float32 value
        bits = t.to(torch.bfloat16).view(torch.int16).numpy()
        return bits.tobytes()
    if dtype == "F16":
        return t.to(torch.float16).numpy().tobytes()
    if dtype == "I32":
        return t.to(torch.int32).numpy().tobytes()
    raise ValueError(dtype)


def write_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> (tensor, dtype). Names sorted, offsets contiguous, 8-byte aligned header."""
    header = {"__metadata__": metadata or {"format": "pt"}}
    blobs = []
    off = 0
    for name in sorted(tensors):
        t, dt = tensors[name]
        b = to_bytes(t, dt)
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------

def inv_freq_for(cfg):
    d = cfg["head_dim"]
    base = cfg["rope_theta"]
    inv = 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    rs = cfg.get("rope_scaling")
    if rs is None:
        return inv
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "linear":
        return inv / rs["factor"]
    if kind == "llama3":
        factor = rs["factor"]
        low = rs["low_freq_factor"]
        high = rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wavelen = old / low
        high_wavelen = old / high
        wavelen = 2 * math.pi / inv
        inv_l = torch.where(wavelen > low_wavelen, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
        medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
        return torch.where(medium, smoothed, inv_l)
    raise ValueError(kind)


def rms_norm(x, w, eps):
    dtype = x.dtype
    xf = x.to(torch.float32)
    var = xf.pow(2).mean(-1, keepdim=True)
    xf = xf * torch.rsqrt(var + eps)
    return w * xf.to(dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def repeat_kv(x, n):
    if n == 1:
        return x
    b, hkv, t, d = x.shape
    return x[:, :, None, :, :].expand(b, hkv, n, t, d).reshape(b, hkv * n, t, d)


class Llama:
    def __init__(self, cfg, weights):
        self.cfg = cfg
        self.w = weights  # HF names -> float32 tensors
        self.inv_freq = inv_freq_for(cfg)

    def forward(self, ids, mask=None):
        """ids [B, T] long; mask [B, T] (1 keep, 0 pad) or None. Returns logits, [hidden per layer]."""
        cfg, w = self.cfg, self.w
        B, T = ids.shape
        H, Hkv, Dh = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
        eps = cfg["rms_norm_eps"]
        if mask is None:
            mask = torch.ones(B, T, dtype=torch.long)
        pos = (mask.long().cumsum(-1) - 1).clamp(min=0)
        freqs = (self.inv_freq[None, :, None].float() @ pos[:, None, :].float()).transpose(1, 2)  # [B, T, Dh/2]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[:, None], emb.sin()[:, None]  # [B, 1, T, Dh]
        minval = torch.finfo(torch.float32).min
        causal = torch.triu(torch.full((T, T), minval), diagonal=1)
        pad = (1.0 - mask[:, None, None, :].float()) * minval
        full_mask = (causal[None, None] + pad).clamp(min=minval)  # [B, 1, T, T]

        h = w["model.embed_tokens.weight"][ids]
        hidden = []
        for i in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{i}."
            x = rms_norm(h, w[p + "input_layernorm.weight"], eps)
            q = (x @ w[p + "self_attn.q_proj.weight"].T).view(B, T, H, Dh).transpose(1, 2)
            k = (x @ w[p + "self_attn.k_proj.weight"].T).view(B, T, Hkv, Dh).transpose(1, 2)
            v = (x @ w[p + "self_attn.v_proj.weight"].T).view(B, T, Hkv, Dh).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k = repeat_kv(k, H // Hkv)
            v = repeat_kv(v, H // Hkv)
            s = (q @ k.transpose(2, 3)) / math.sqrt(Dh) + full_mask
            a = F.softmax(s, dim=-1, dtype=torch.float32) @ v
            a = a.transpose(1, 2).reshape(B, T, H * Dh)
            h = h + a @ w[p + "self_attn.o_proj.weight"].T
            x = rms_norm(h, w[p + "post_attention_layernorm.weight"], eps)
            m = F.silu(x @ w[p + "mlp.gate_proj.weight"].T) * (x @ w[p + "mlp.up_proj.weight"].T)
            h = h + m @ w[p + "mlp.down_proj.weight"].T
            hidden.append(h)
        h = rms_norm(h, w["model.norm.weight"], eps)
        head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
        return h @ head.T, hidden

    def greedy(self, prompts, n):
        """Greedy continuation of several prompts, batched with left padding (full recompute each
        step). Returns (continuations, min top1-top2 margin over all steps)."""
        B = len(prompts)
        L = max(len(p) for p in prompts)
        ids = torch.zeros(B, L, dtype=torch.long)
        mask = torch.zeros(B, L, dtype=torch.long)
        for b, p in enumerate(prompts):
            ids[b, L - len(p):] = torch.tensor(p)
            mask[b, L - len(p):] = 1
        outs = [[] for _ in prompts]
        margin = float("inf")
        for _ in range(n):
            logits, _ = self.forward(ids, mask)
            last = logits[:, -1]
            top2 = last.topk(2, dim=-1).values
            margin = min(margin, float((top2[:, 0] - top2[:, 1]).min()))
            nxt = last.argmax(-1)
            for b in range(B):
                outs[b].append(int(nxt[b]))
            ids = torch.cat([ids, nxt[:, None]], 1)
            mask = torch.cat([mask, torch.ones(B, 1, dtype=torch.long)], 1)
        return outs, margin


# ---------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------

CHECKPOINTS = [
    # (a) MHA, untied, float32
    dict(name="mha_f32", vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
         num_attention_heads=4, num_key_value_heads=4, rope_theta=10000.0, rms_norm_eps=1e-6,
         tie_word_embeddings=False, dtype="F32", rope_scaling=None),
    # (b) GQA (6 query heads, 2 kv heads), tied embeddings, weights stored as bfloat16
    dict(name="gqa_tied_bf16", vocab_size=97, hidden_size=48, intermediate_size=96, num_hidden_layers=3,
         num_attention_heads=6, num_key_value_heads=2, rope_theta=500000.0, rms_norm_eps=1e-5,
         tie_word_embeddings=True, dtype="BF16", rope_scaling=None),
    # (c) llama3 rope scaling (with original_max_position_embeddings small enough that the
    #     head's frequencies fall in all three regimes: kept, interpolated, divided)
    dict(name="rope_llama3", vocab_size=80, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
         num_attention_heads=4, num_key_value_heads=2, rope_theta=10000.0, rms_norm_eps=1e-5,
         tie_word_embeddings=False, dtype="F32",
         rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                       "high_freq_factor": 4.0, "original_max_position_embeddings": 64}),
    # (d) explicit head_dim 6 != hidden/heads (16/4 = 4), GQA 4/2
    dict(name="odd_head_dim", vocab_size=64, hidden_size=16, intermediate_size=40, num_hidden_layers=2,
         num_attention_heads=4, num_key_value_heads=2, head_dim=6, rope_theta=10000.0, rms_norm_eps=1e-6,
         tie_word_embeddings=False, dtype="F32", rope_scaling=None),
    # (e) linear rope scaling
    dict(name="rope_linear", vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
         num_attention_heads=2, num_key_value_heads=1, rope_theta=10000.0, rms_norm_eps=1e-6,
         tie_word_embeddings=True, dtype="F32", rope_scaling={"type": "linear", "factor": 2.0}),
]


def make_weights(cfg, g):
    D, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    H, Hkv, Dh = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]

    def lin(o, i):
        return torch.randn(o, i, generator=g) / math.sqrt(i)

    def norm(d):
        return 1.0 + 0.2 * torch.randn(d, generator=g)

    w = {"model.embed_tokens.weight": torch.randn(V, D, generator=g)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm(D)
        w[p + "self_attn.q_proj.weight"] = lin(H * Dh, D) * 2.0  # sharper attention patterns
        w[p + "self_attn.k_proj.weight"] = lin(Hkv * Dh, D) * 2.0
        w[p + "self_attn.v_proj.weight"] = lin(Hkv * Dh, D)
        w[p + "self_attn.o_proj.weight"] = lin(D, H * Dh)
        w[p + "post_attention_layernorm.weight"] = norm(D)
        w[p + "mlp.gate_proj.weight"] = lin(I, D)
        w[p + "mlp.up_proj.weight"] = lin(I, D)
        w[p + "mlp.down_proj.weight"] = lin(D, I)
    w["model.norm.weight"] = norm(D)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = lin(V, D) * 2.0
    if cfg["dtype"] == "BF16":
        w = {k: v.to(torch.bfloat16).to(torch.float32) for k, v in w.items()}
    return w


def hf_config(cfg):
    out = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": cfg["vocab_size"],
        "hidden_size": cfg["hidden_size"],
        "intermediate_size": cfg["intermediate_size"],
        "num_hidden_layers": cfg["num_hidden_layers"],
        "num_attention_heads": cfg["num_attention_heads"],
        "num_key_value_heads": cfg["num_key_value_heads"],
        "hidden_act": "silu",
        "max_position_embeddings": 128,
        "rms_norm_eps": cfg["rms_norm_eps"],
        "rope_theta": cfg["rope_theta"],
        "rope_scaling": cfg["rope_scaling"],
        "tie_word_embeddings": cfg["tie_word_embeddings"],
        "attention_bias": False,
        "mlp_bias": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": "bfloat16" if cfg["dtype"] == "BF16" else "float32",
    }
    if "head_dim_explicit" in cfg:
        out["head_dim"] = cfg["head_dim"]
    return out


def rand_prompt(g, n, V):
    return [int(x) for x in torch.randint(3, V, (n,), generator=g)]


def build(spec, seed):
    cfg = dict(spec)
    if "head_dim" in cfg:
        cfg["head_dim_explicit"] = True
    else:
        cfg["head_dim"] = cfg["hidden_size"] // cfg["num_attention_heads"]
    g = torch.Generator().manual_seed(seed)
    w = make_weights(cfg, g)
    model = Llama(cfg, w)
    V = cfg["vocab_size"]
    out_dir = os.path.join(ROOT, cfg["name"])
    os.makedirs(out_dir, exist_ok=True)

    golden_t = {}
    golden_j = {"note": "written by reference/llama_ref.py", "torch": torch.__version__}

    with torch.no_grad():
        # single sequence
        single = rand_prompt(g, 11, V)
        logits, hidden = model.forward(torch.tensor([single]))
        golden_t["single.logits"] = (logits, "F32")
        for i, h in enumerate(hidden):
            golden_t[f"single.hidden.{i}"] = (h, "F32")
        golden_j["single"] = single

        # left-padded batch; also check that it agrees with unpadded singles
        lens = [9, 5, 7]
        prompts = [rand_prompt(g, n, V) for n in lens]
        L = max(lens)
        ids = torch.zeros(len(lens), L, dtype=torch.long)
        mask = torch.zeros(len(lens), L, dtype=torch.long)
        for b, p in enumerate(prompts):
            ids[b, L - len(p):] = torch.tensor(p)
            mask[b, L - len(p):] = 1
        logits, hidden = model.forward(ids, mask)
        for b, p in enumerate(prompts):
            ref, _ = model.forward(torch.tensor([p]))
            err = (logits[b, L - len(p):] - ref[0]).abs().max().item()
            assert err < 1e-4, f"padded batch disagrees with single: {err}"
        golden_t["batch.ids"] = (ids, "I32")
        golden_t["batch.mask"] = (mask, "I32")
        golden_t["batch.logits"] = (logits, "F32")
        for i, h in enumerate(hidden):
            golden_t[f"batch.hidden.{i}"] = (h, "F32")
        golden_j["batch"] = prompts

        # greedy continuations (prompts resampled until every step has a clear winner)
        greedy = []
        tries = 0
        while len(greedy) < 3:
            tries += 1
            assert tries < 200, "could not find prompts with a clear greedy margin"
            p = rand_prompt(g, [4, 7, 10][len(greedy)], V)
            cont, margin = model.greedy([p], GEN_TOKENS)
            if margin >= MARGIN:
                greedy.append({"prompt": p, "continuation": cont[0], "margin": margin})
        golden_j["greedy"] = greedy
        prompts = [e["prompt"] for e in greedy]
        conts, margin = model.greedy(prompts, GEN_TOKENS)
        assert conts == [e["continuation"] for e in greedy], "batched greedy differs from single greedy"
        golden_j["greedy_batch"] = {"prompts": prompts, "continuations": conts, "margin": margin}

    weights = {k: (v, cfg["dtype"]) for k, v in w.items()}
    write_safetensors(os.path.join(out_dir, "model.safetensors"), weights)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(hf_config(cfg), f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(out_dir, "golden.safetensors"), golden_t)
    with open(os.path.join(out_dir, "golden.json"), "w") as f:
        json.dump(golden_j, f)
        f.write("\n")
    print(f"{cfg['name']}: greedy margins {[round(e['margin'], 4) for e in greedy]}, batch margin {margin:.4f}")


def main():
    torch.manual_seed(0)
    for k, spec in enumerate(CHECKPOINTS):
        build(spec, 1000 + k)


if __name__ == "__main__":
    sys.exit(main())
