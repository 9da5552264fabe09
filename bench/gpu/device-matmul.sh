#!/usr/bin/env bash
# One device call (see bench/gpu/README.md): the WebGPU matmul suite on the lent GPU, next to
# PyTorch CUDA f32 (TF32 off) on the same card, results under $OUT.
#   run(command: "bash bench/gpu/device-matmul.sh", carry: [".gpu"], timeout_s: 540)
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/card.txt"
PYTHONUNBUFFERED=1 timeout 120 python3 reference/bench_matmul_cuda.py | tee "$OUT/torch-cuda.json"
# WebGPU suite only (no CPU peers: they would take minutes at 4096³ and say nothing about the GPU).
timeout 360 bash .gpu/run.sh npm run bench -- matmul --sizes=1024,2048,4096 --no-peers 2>&1 | tee "$OUT/bench.log"
cp bench/results/matmul.json "$OUT/matmul-gpu.json" 2>/dev/null
cp bench/results/matmul.md "$OUT/matmul-gpu.md" 2>/dev/null
