#!/usr/bin/env bash
# One device call (bench/gpu/README.md): checks every GPU kernel version on the lent GPU, then
# times them next to PyTorch on the same card, then the Llama suite and a KTS step. Results
# under $OUT (8 files: card.txt, kernels.log, torch-matmul.json, torch-attention.json,
# suites.log, kts-smollm2.md, llama.md, all.log).
#   run(command: "bash bench/gpu/device-run.sh", carry: [".gpu"], timeout_s: 580)
# Steps have their own timeouts (about 540 s in all), most important first; a step that runs out
# of time is cut and the next one starts.
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
# python3 on the device machine is the one with (CUDA) PyTorch; /usr/bin/python3 may lack torch.
export KTS_PYTHON=$(command -v python3)
export PYTHONUNBUFFERED=1

if [ -z "${KTS_GPU_ENV:-}" ]; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/card.txt"
  # .gpu/run.sh unpacks Node, node_modules and the Vulkan loader, then runs this script again.
  exec bash .gpu/run.sh env KTS_GPU_ENV=1 bash "$0"
fi

log() { echo "== $(date +%T) $*" | tee -a "$OUT/all.log"; }
# step SECONDS FILE COMMAND…: runs COMMAND under a timeout, its output appended to FILE and all.log.
step() {
  local t=$1 file=$2
  shift 2
  log "$* (timeout ${t}s)"
  timeout "$t" "$@" 2>&1 | grep -v '^Warning: \|^ - While\|^    at ' | tee -a "$OUT/$file" >>"$OUT/all.log"
}

# The tarball in .gpu has Node but no npm: scripts run through node directly.
TS=(node --conditions=source --import tsx)
node kernels/build.mjs
node --conditions=source --import tsx --input-type=module -e "
  const w = await import('@kts/webgpu'); console.log(await w.initWebGPU());
  const i = w.adapterInfo(); console.log(JSON.stringify({ family: w.kernelFamily(), features: i.features, subgroups: [i.subgroupMinSize, i.subgroupMaxSize, i.subgroupReductions], limits: i.limits }));
  w.shutdownWebGPU();" 2>&1 | grep -v '^Warning' | tee -a "$OUT/card.txt"

# 1. Correctness on this GPU: every version of every kernel against its CPU reference.
for k in matmul attention attention-backward softmax rmsnorm kl cross-entropy steering adamw; do
  step 40 kernels.log "${TS[@]}" bench/kernel.ts "$k" --no-time
done

# 2. matmul: the GPU versions at 4096³ and the 7B projection shapes (x·Wᵀ), f32 and f16 weights;
#    the 64×64 tiles forced at 4096³ for comparison; PyTorch f32 (TF32 off) on the same card.
step 45 kernels.log "${TS[@]}" bench/kernel.ts matmul --no-check --version 3 \
  --shapes 4096x4096x4096,2048x2048x2048,512x4096x4096T,512x11008x4096T,512x4096x11008T,512x4096x4096Th
step 20 kernels.log env KTS_MATMUL_TILES=64x64x16x4x4 "${TS[@]}" bench/kernel.ts matmul --no-check --version 3 --shapes 4096x4096x4096
step 30 kernels.log "${TS[@]}" bench/kernel.ts matmul --no-check --version 4 --shapes 1x4096x4096T,1x11008x4096T,1x4096x11008T,1x4096x4096Th,1x32000x4096T
step 40 torch-matmul.json python3 reference/bench_matmul_cuda.py

# 3. attention: causal prefill T = 2048, 32 heads, d 128 (the target shape) and smaller ones,
#    GQA decode; backward; PyTorch f32 scaled_dot_product_attention on the same card.
step 50 kernels.log "${TS[@]}" bench/kernel.ts attention --no-check --shapes 1x32x2048x2048x128c,1x32x512x512x128c,1x8x512x512x64c,1x32/8x1x2048x128c
step 40 kernels.log "${TS[@]}" bench/kernel.ts attention-backward --no-check --shapes 1x32x1024x1024x128c,1x9/3x64x64x64c
step 30 torch-attention.json python3 reference/bench_attention_cuda.py
step 25 kernels.log "${TS[@]}" bench/kernel.ts softmax --no-check
step 25 kernels.log "${TS[@]}" bench/kernel.ts kl --no-check

# 4. A KTS step on a SmolLM2-135M-shaped model, kts WebGPU next to PyTorch CUDA.
step 110 suites.log "${TS[@]}" bench/run.ts kts --model=smollm2-135m
cp bench/results/kts-smollm2.md "$OUT/kts-smollm2.md" 2>/dev/null

# 5. The Llama suite (stories15M shape): WebGPU prefill/decode next to PyTorch eager on this CPU.
step 100 suites.log "${TS[@]}" bench/run.ts llama
cp bench/results/llama.md "$OUT/llama.md" 2>/dev/null
log done
