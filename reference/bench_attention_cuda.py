"""PyTorch f32 attention on a CUDA GPU (TF32 off): the peer of the kts flash-attention kernels on a
real GPU (`npm run kernel -- attention`, bench/gpu/device-run.sh).

torch.nn.functional.scaled_dot_product_attention on f32 [B, H, T, D] tensors (causal prefill; GQA
decode with the kv heads repeated, as HF does), timed with CUDA events: median of 20 runs after 5
warm-ups. Shapes use the kernel harness's notation BxH[/Hkv]xTqxTkxD[c].
Prints one JSON object {device, torch, tf32, rows: [{label, ms, gflops}]}; GFLOP/s count
4·B·H·Tq·Tk·D, halved for causal prefill (the harness's convention).
"""
import json
import statistics

import torch
import torch.nn.functional as F

assert torch.cuda.is_available(), "needs a CUDA GPU"
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = torch.device("cuda")
g = torch.Generator(device=dev).manual_seed(0)


def bench(label, B, H, Hkv, Tq, Tk, D, causal):
    q = torch.rand(B, H, Tq, D, device=dev, generator=g) - 0.5
    k = torch.rand(B, Hkv, Tk, D, device=dev, generator=g) - 0.5
    v = torch.rand(B, Hkv, Tk, D, device=dev, generator=g) - 0.5

    def run():
        kk, vv = (k, v) if Hkv == H else (k.repeat_interleave(H // Hkv, 1), v.repeat_interleave(H // Hkv, 1))
        # Causal with Tq < Tk (decode) means every key is visible to the last query: no mask.
        return F.scaled_dot_product_attention(q, kk, vv, is_causal=causal and Tq == Tk)

    for _ in range(5):
        run()
    torch.cuda.synchronize()
    times = []
    for _ in range(20):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        run()
        e.record()
        torch.cuda.synchronize()
        times.append(s.elapsed_time(e))
    ms = statistics.median(times)
    flops = 4 * B * H * Tq * Tk * D / (2 if causal and Tq == Tk else 1)
    return {"label": label, "ms": ms, "gflops": flops / ms / 1e6}


rows = [
    bench("1x32x2048x2048x128c", 1, 32, 32, 2048, 2048, 128, True),
    bench("1x32x512x512x128c", 1, 32, 32, 512, 512, 128, True),
    bench("1x8x512x512x64c", 1, 8, 8, 512, 512, 64, True),
    bench("1x32/8x1x2048x128c", 1, 32, 8, 1, 2048, 128, True),
]
print(json.dumps({"device": torch.cuda.get_device_name(), "torch": torch.__version__, "tf32": False, "rows": rows}))
