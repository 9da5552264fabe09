"""PyTorch eager reference timings for the kernel micro-benchmarks (bench/suites/matmul.ts,
attention.ts, steering.ts, rmsnorm.ts, softmax.ts, kl.ts; see bench/peers.ts torchTimings).

Reads a JSON list of jobs on stdin (or from the file named by --jobs FILE), one per shape:

  {"id": "...", "op": "matmul",    "M": 512, "N": 4096, "K": 4096, "transB": true}
  {"id": "...", "op": "attention", "B": 1, "H": 8, "Hkv": 8, "Tq": 512, "Tk": 512, "D": 64, "causal": true}
  {"id": "...", "op": "steering",  "B": 1, "T": 512, "D": 4096, "K": 4}
  {"id": "...", "op": "rmsnorm",   "rows": 512, "N": 4096}
  {"id": "...", "op": "softmax",   "rows": 256, "N": 32000, "log": false}
  {"id": "...", "op": "kl",        "rows": 64, "V": 32000}

Any job may add "bwd": true (forward + backward with the same tensors requiring grad as the kts
suite) and "targetMs" (time budget, default 1000). Prints one JSON object:
  {"torch": "1.13.0", "threads": 2, "results": [{"id", "medianMs", "minMs", "samples", "inner"}, ...]}
Float32, eager, torch.set_num_threads(--threads N, default: all cores); glibc malloc thresholds
fixed (see MALLOPT below). Inputs are uniform in [-1, 1) like bench/lib.ts fillRandom (different
values, same distribution). A sample is `inner` back-to-back calls (enough for ~2 ms), so
sub-millisecond ops are not timer-bound.

Run with Debian's torch: /usr/bin/python3 reference/bench_ops.py --threads 2 < jobs.json
"""
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def arg(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


# glibc malloc adapts its mmap and trim thresholds to the blocks freed so far, so whether a job's
# large temporaries are reused or unmapped and page-faulted back on every call depended on the jobs
# before it (the same 2 M-float steering add: 4.2 ms as the first job, 0.2 ms when repeated).
# Fixed thresholds (as MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ would set) give every job the
# steady state: blocks below 32 MiB come from the heap, which is not trimmed.
try:
    import ctypes

    _libc = ctypes.CDLL("libc.so.6")
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    MALLOPT = bool(_libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)) and bool(_libc.mallopt(M_TRIM_THRESHOLD, 1 << 30))
except (OSError, AttributeError):
    MALLOPT = False

threads = int(arg("--threads", os.cpu_count() or 1))
torch.set_num_threads(threads)
torch.manual_seed(0)
HAS_SDPA = hasattr(F, "scaled_dot_product_attention")


def uniform(*shape, grad=False):
    return (torch.rand(*shape) * 2 - 1).requires_grad_(grad)


def repeat_kv(x, n):
    if n == 1:
        return x
    B, Hkv, T, D = x.shape
    return x[:, :, None].expand(B, Hkv, n, T, D).reshape(B, Hkv * n, T, D)


def build(job):
    """Returns a zero-argument function running the op once (forward, or forward + backward)."""
    op, bwd = job["op"], bool(job.get("bwd", False))
    if op == "matmul":
        M, N, K = job["M"], job["N"], job["K"]
        a = uniform(M, K)
        if job.get("transB"):
            b = uniform(N, K)
            return lambda: a @ b.T
        b = uniform(K, N)
        return lambda: a @ b
    if op == "attention":
        B, H, Hkv, Tq, Tk, D = (job[k] for k in ("B", "H", "Hkv", "Tq", "Tk", "D"))
        q, k, v = uniform(B, H, Tq, D, grad=bwd), uniform(B, Hkv, Tk, D, grad=bwd), uniform(B, Hkv, Tk, D, grad=bwd)
        # same causal convention as kts attentionComposite: key j visible to query i iff j - i <= Tk - Tq
        masked = (torch.arange(Tk)[None, :] - torch.arange(Tq)[:, None]) > (Tk - Tq) if job.get("causal") else None
        scale = 1.0 / math.sqrt(D)

        def attn():
            kk, vv = repeat_kv(k, H // Hkv), repeat_kv(v, H // Hkv)
            s = (q @ kk.transpose(-1, -2)) * scale
            if masked is not None:
                s = s.masked_fill(masked, float("-inf"))
            return torch.softmax(s, -1) @ vv

        if not bwd:
            return attn
        g = uniform(B, H, Tq, D)

        def step():
            attn().backward(g)
            q.grad = k.grad = v.grad = None

        return step
    if op == "steering":
        B, T, D, K = job["B"], job["T"], job["D"], job["K"]
        h = uniform(B, T, D)
        vectors, coeffs = uniform(K, D, grad=bwd), uniform(B, K, grad=bwd)
        mask = torch.tensor([0 if i % 4 == 0 else 1 for i in range(B * T)], dtype=torch.int32).reshape(B, T)

        def steer():
            delta = (coeffs[:, :, None] * vectors).sum(-2)  # [B, D]
            return h + mask.to(h.dtype)[:, :, None] * delta[:, None, :]

        if not bwd:
            return steer
        g = uniform(B, T, D)

        def step():
            steer().backward(g)
            vectors.grad = coeffs.grad = None

        return step
    if op == "rmsnorm":
        rows, N = job["rows"], job["N"]
        x, w = uniform(rows, N, grad=bwd), uniform(N, grad=bwd)

        def rms():
            return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5))

        if not bwd:
            return rms
        g = uniform(rows, N)

        def step():
            rms().backward(g)
            x.grad = w.grad = None

        return step
    if op == "softmax":
        x = uniform(job["rows"], job["N"])
        return (lambda: torch.log_softmax(x, -1)) if job.get("log") else (lambda: torch.softmax(x, -1))
    if op == "kl":
        rows, V = job["rows"], job["V"]
        p, q = uniform(rows, V, grad=bwd), uniform(rows, V)

        def kl():
            lp, lq = torch.log_softmax(p, -1), torch.log_softmax(q, -1)
            return (lp.exp() * (lp - lq)).sum(-1)

        if not bwd:
            return kl
        g = uniform(rows)

        def step():
            kl().backward(g)
            p.grad = None

        return step
    raise ValueError(f"unknown op {op!r}")


def time_job(job):
    fn = build(job)
    target = float(job.get("targetMs", 1000)) / 1000
    ctx = torch.enable_grad() if job.get("bwd") else torch.no_grad()
    with ctx:
        t0, calls = time.perf_counter(), 0
        while calls < 2 or (calls < 50 and time.perf_counter() - t0 < 0.05):  # warm-up
            fn()
            calls += 1
        t0 = time.perf_counter()
        for _ in range(3):
            fn()
        per = max((time.perf_counter() - t0) / 3, 1e-7)
        inner = max(1, min(1000, math.ceil(0.002 / per)))
        n = max(5, min(30, math.ceil(target / (per * inner))))
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            samples.append((time.perf_counter() - t0) / inner * 1000)
    return {"id": job["id"], "medianMs": statistics.median(samples), "minMs": min(samples), "samples": n, "inner": inner}


def main():
    path = arg("--jobs")
    jobs = json.load(open(path)) if path else json.load(sys.stdin)
    results = []
    for job in jobs:
        try:
            results.append(time_job(job))
        except Exception as e:  # report and go on with the other shapes
            results.append({"id": job.get("id"), "error": f"{type(e).__name__}: {e}"})
        print(f"bench_ops: {job.get('id')}: {results[-1]}", file=sys.stderr, flush=True)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "sdpa": HAS_SDPA, "mallopt": MALLOPT, "results": results}))


if __name__ == "__main__":
    main()
