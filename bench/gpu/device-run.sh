#!/usr/bin/env bash
# One device call (see bench/gpu/README.md): the WebGPU matmul suite on the lent GPU next to
# PyTorch CUDA f32 (TF32 off) on the same card (issue 3), then the Llama suite (issue 4: WebGPU
# prefill vs PyTorch eager), results under $OUT.
#   run(command: "bash bench/gpu/device-run.sh", carry: [".gpu"], timeout_s: 540)
set -uo pipefail
# python3 on the device machine is the one with (CUDA) PyTorch; /usr/bin/python3 may lack torch.
export KTS_PYTHON=$(command -v python3)
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/card.txt"
PYTHONUNBUFFERED=1 timeout 120 python3 reference/bench_matmul_cuda.py | tee "$OUT/torch-cuda.json"
# WebGPU suite only (no CPU peers: they would take minutes at 4096³ and say nothing about the GPU).
timeout 240 bash .gpu/run.sh npm run bench -- matmul --sizes=1024,2048,4096 --no-peers 2>&1 | tee "$OUT/bench.log"
cp bench/results/matmul.json "$OUT/matmul-gpu.json" 2>/dev/null
cp bench/results/matmul.md "$OUT/matmul-gpu.md" 2>/dev/null
timeout 120 bash .gpu/run.sh npm run bench -- llama 2>&1 | tail -20 | tee "$OUT/llama.log"
cp bench/results/llama.md "$OUT/llama-gpu.md" 2>/dev/null
