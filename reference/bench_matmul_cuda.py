"""PyTorch f32 matmul on a CUDA GPU (TF32 off), the peer for `npm run bench -- matmul` on a real GPU.

Shapes: square 1024/2048/4096 and a 7B Llama's projections x·Wᵀ at 1 and 512 tokens (the matmul
suite's shapes). Each is timed with CUDA events: median of 20 runs after 5 warm-ups.
Prints one JSON object {device, torch, tf32, rows: [{label, ms, gflops}]}.
Run on the device machine (python3 there holds a CUDA PyTorch): see bench/gpu/README.md.
"""
import json
import statistics

import torch

assert torch.cuda.is_available(), "needs a CUDA GPU"
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = torch.device("cuda")


def bench(label, a, b):
    for _ in range(5):
        a @ b
    torch.cuda.synchronize()
    times = []
    for _ in range(20):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        a @ b
        e.record()
        torch.cuda.synchronize()
        times.append(s.elapsed_time(e))
    ms = statistics.median(times)
    m, k = a.shape
    n = b.shape[1]
    return {"label": label, "ms": ms, "gflops": 2 * m * n * k / ms / 1e6}


rows = []
g = torch.Generator(device=dev).manual_seed(0)
for n in (1024, 2048, 4096):
    a = torch.rand(n, n, device=dev, generator=g) - 0.5
    b = torch.rand(n, n, device=dev, generator=g) - 0.5
    rows.append(bench(f"{n}x{n}x{n}", a, b))
for t in (1, 512):
    for name, n, k in (("q/k/v/o", 4096, 4096), ("gate/up", 11008, 4096), ("down", 4096, 11008)):
        x = torch.rand(t, k, device=dev, generator=g) - 0.5
        w = torch.rand(n, k, device=dev, generator=g) - 0.5
        rows.append(bench(f"llama7b {name} [{t},{k}]x[{n},{k}]T", x, w.T))
print(json.dumps({"device": torch.cuda.get_device_name(), "torch": torch.__version__, "tf32": False, "rows": rows}))
