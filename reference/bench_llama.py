"""PyTorch eager reference timings for `npm run bench -- llama` (and `-- kts`).

A stories15M-shaped Llama (dim 288, 6 layers, 6 heads, hidden 768, vocab 32000) with random
weights, HF semantics (same math as llama_ref.py) plus a KV cache:
  * prefill: a 128-token prompt, logits at the last position only;
  * decode: one token at a time against the cache (median per-token time over 32 steps);
  * kts-step: one KTS training step (LoRA rank 8 on all 7 projections; steered forward with
    backward + reference forward without grad; KL loss) on a batch of 8 x 64 tokens.
Prints one JSON object. Run with Debian's torch: /usr/bin/python3 reference/bench_llama.py

--model smollm2-135m: a SmolLM2-135M-shaped model instead (dim 576, 30 layers, 9 heads over 3 kv
heads, hidden 1536, vocab 49152, rope theta 1e5). --device cuda: on a CUDA GPU, f32 with TF32
off, CUDA-synchronised timings (bench/gpu/device-run.sh: the peer of `npm run bench -- kts
--model=smollm2-135m`).
"""
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F

def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


torch.manual_seed(0)
threads = int(arg("--threads", torch.get_num_threads()))
torch.set_num_threads(threads)
dev = torch.device(arg("--device", "cpu"))
if dev.type == "cuda":
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
if arg("--model", "stories15m") == "smollm2-135m":
    D, L, H, HKV, I, V, THETA = 576, 30, 9, 3, 1536, 49152, 100000.0
else:
    D, L, H, HKV, I, V, THETA = 288, 6, 6, 6, 768, 32000, 10000.0
Dh = D // H
if dev.type == "cuda":
    torch.set_default_device(dev)  # torch ≥ 2.0 (the device machine's); Debian's 1.13 stays on the CPU
g = torch.Generator(device=dev).manual_seed(0)
W = {"emb": torch.randn(V, D, generator=g) * 0.02}
for i in range(L):
    for n, shape in [("q", (D, D)), ("k", (HKV * Dh, D)), ("v", (HKV * Dh, D)), ("o", (D, D)), ("gate", (I, D)), ("up", (I, D)), ("down", (D, I))]:
        W[f"{i}.{n}"] = torch.randn(*shape, generator=g) * 0.02
    W[f"{i}.n1"] = torch.ones(D)
    W[f"{i}.n2"] = torch.ones(D)
W["norm"] = torch.ones(D)
inv_freq = 1.0 / (THETA ** (torch.arange(0, Dh, 2).float() / Dh))


def rms(x, w, eps=1e-5):
    x32 = x.float()
    return w * (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps))


def rot(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


def forward(ids, cache, lora=None, steer=None, last_only=True):
    B, T = ids.shape
    past = cache[0][0].shape[2] if cache and cache[0] is not None else 0
    pos = torch.arange(past, past + T)
    fr = torch.outer(pos.float(), inv_freq)
    emb = torch.cat((fr, fr), -1)
    cos, sin = emb.cos(), emb.sin()
    h = W["emb"][ids]
    def lin(x, name):
        y = x @ W[name].T
        if lora is not None:
            a, b = lora[name]
            y = y + (x @ a.T) @ b.T
        return y
    for i in range(L):
        x = rms(h, W[f"{i}.n1"])
        q = lin(x, f"{i}.q").view(B, T, H, Dh).transpose(1, 2)
        k = lin(x, f"{i}.k").view(B, T, HKV, Dh).transpose(1, 2)
        v = lin(x, f"{i}.v").view(B, T, HKV, Dh).transpose(1, 2)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        if cache is not None:
            if cache[i] is not None:
                k = torch.cat([cache[i][0], k], 2)
                v = torch.cat([cache[i][1], v], 2)
            cache[i] = (k, v)
        if HKV != H:
            k, v = k.repeat_interleave(H // HKV, 1), v.repeat_interleave(H // HKV, 1)
        s = q @ k.transpose(2, 3) / math.sqrt(Dh)
        if T > 1:
            s = s + torch.triu(torch.full((T, k.shape[2]), float("-inf")), diagonal=k.shape[2] - T + 1)
        a = (F.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, D)
        h = h + lin(a, f"{i}.o")
        x = rms(h, W[f"{i}.n2"])
        h = h + lin(F.silu(lin(x, f"{i}.gate")) * lin(x, f"{i}.up"), f"{i}.down")
        if steer is not None and i in (1, 2):
            h = h + steer
    h = rms(h, W["norm"])
    if last_only:
        h = h[:, -1:]
    return h @ W["emb"].T


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, n):
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        sync()
        ts.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ts)


out = {"torch": torch.__version__, "threads": threads, "device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu"}
prompt = torch.randint(0, V, (1, 128), generator=g)
with torch.no_grad():
    forward(prompt, [None] * L)  # warm up
    out["prefill128_ms"] = timed(lambda: forward(prompt, [None] * L), 5)
    cache = [None] * L
    logits = forward(prompt, cache)
    steps = []
    tok = logits[:, -1].argmax(-1, keepdim=True)
    for _ in range(32):
        t0 = time.perf_counter()
        logits = forward(tok, cache)
        tok = logits[:, -1].argmax(-1, keepdim=True)
        sync()
        steps.append((time.perf_counter() - t0) * 1000)
    out["decode_ms_per_token"] = statistics.median(steps)

# One KTS step: LoRA (rank 8) on all projections, steered forward + backward, reference forward.
names = [f"{i}.{n}" for i in range(L) for n in ["q", "k", "v", "o", "gate", "up", "down"]]
lora = {n: ((torch.randn(8, W[n].shape[1], generator=g) * 0.01).requires_grad_(), torch.zeros(W[n].shape[0], 8, requires_grad=True)) for n in names}
params = [p for ab in lora.values() for p in ab]
opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
batch = torch.randint(0, V, (8, 64), generator=g)
steer = torch.randn(D, generator=g) * 0.5


def kts_step():
    with torch.no_grad():
        ref = forward(batch, None, last_only=False)
    logits = forward(batch, None, lora=lora, steer=steer, last_only=False)
    lp, lq = F.log_softmax(logits, -1), F.log_softmax(ref, -1)
    loss = (lp.exp() * (lp - lq)).sum(-1).mean()
    loss.backward()
    opt.step()
    opt.zero_grad()


kts_step()
out["kts_step_ms"] = timed(kts_step, 3)
out["kts_step_tokens"] = 8 * 64
print(json.dumps(out))
