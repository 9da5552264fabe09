"""One KTS training step on a SmolLM2-135M-shaped Llama on a CUDA GPU, PyTorch eager f32 (TF32
off): the peer of `npm run bench -- kts --model=smollm2-135m` on a real GPU (bench/gpu/device-run.sh).

Shape of HuggingFaceTB/SmolLM2-135M: hidden 576, 30 layers, 9 query heads over 3 kv heads (head
dim 64), MLP 1536, vocab 49152, tied embeddings, random weights. The step is the one
reference/bench_llama.py times on the CPU: LoRA rank 8 on all 7 projections, a reference forward
without grad, a steered forward (a random vector added after layers 1 and 2) with backward of the
per-token KL to the reference, one AdamW step; batch 8 x 64 tokens. Median of 5 steps after 2
warm-ups, CUDA-synchronised. Prints one JSON object {device, torch, tf32, kts_step_ms, tokens}.
"""
import json
import statistics
import time

import torch
import torch.nn.functional as F

assert torch.cuda.is_available(), "needs a CUDA GPU"
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = torch.device("cuda")
D, L, H, HKV, I, V = 576, 30, 9, 3, 1536, 49152
Dh = D // H
g = torch.Generator(device=dev).manual_seed(0)
W = {"emb": torch.randn(V, D, generator=g, device=dev) * 0.02}
SHAPES = {"q": (H * Dh, D), "k": (HKV * Dh, D), "v": (HKV * Dh, D), "o": (D, H * Dh), "gate": (I, D), "up": (I, D), "down": (D, I)}
for i in range(L):
    for n, shape in SHAPES.items():
        W[f"{i}.{n}"] = torch.randn(*shape, generator=g, device=dev) * 0.02
    W[f"{i}.n1"] = torch.ones(D, device=dev)
    W[f"{i}.n2"] = torch.ones(D, device=dev)
W["norm"] = torch.ones(D, device=dev)
inv_freq = 1.0 / (100000 ** (torch.arange(0, Dh, 2, device=dev).float() / Dh))


def rms(x, w, eps=1e-5):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rot(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


def forward(ids, lora=None, steer=None):
    B, T = ids.shape
    fr = torch.outer(torch.arange(T, device=dev).float(), inv_freq)
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
        k, v = k.repeat_interleave(H // HKV, 1), v.repeat_interleave(H // HKV, 1)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, D)
        h = h + lin(a, f"{i}.o")
        x = rms(h, W[f"{i}.n2"])
        h = h + lin(F.silu(lin(x, f"{i}.gate")) * lin(x, f"{i}.up"), f"{i}.down")
        if steer is not None and i in (1, 2):
            h = h + steer
    return rms(h, W["norm"]) @ W["emb"].T


names = [f"{i}.{n}" for i in range(L) for n in SHAPES]
lora = {n: ((torch.randn(8, W[n].shape[1], generator=g, device=dev) * 0.01).requires_grad_(), torch.zeros(W[n].shape[0], 8, device=dev, requires_grad=True)) for n in names}
opt = torch.optim.AdamW([p for ab in lora.values() for p in ab], lr=1e-4, weight_decay=0.0)
batch = torch.randint(0, V, (8, 64), generator=g, device=dev)
steer = torch.randn(D, generator=g, device=dev) * 0.5


def kts_step():
    with torch.no_grad():
        ref = forward(batch)
    logits = forward(batch, lora=lora, steer=steer)
    lp, lq = F.log_softmax(logits, -1), F.log_softmax(ref, -1)
    loss = (lp.exp() * (lp - lq)).sum(-1).mean()
    loss.backward()
    opt.step()
    opt.zero_grad()
    torch.cuda.synchronize()


for _ in range(2):
    kts_step()
times = []
for _ in range(5):
    t0 = time.perf_counter()
    kts_step()
    times.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"device": torch.cuda.get_device_name(), "torch": torch.__version__, "tf32": False, "kts_step_ms": statistics.median(times), "tokens": 8 * 64}))
