#!/usr/bin/env bash
# The GPU checks, on a machine with CUDA (under 5 minutes on one GPU): the tests that need a GPU, then
# the GPU speed table (rlinfo SAC eager / CUDA graph against stable-baselines3, metra_ant throughput).
# The CPU suite never needs a GPU; this script is what a GPU machine runs. Results: $OUT or bench_out/.
#
#   bash scripts/gpu_check.sh            # installs the test extra when rlinfo is missing
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-bench_out}/gpu_check"
mkdir -p "$out"
python -c "import rlinfo" 2>/dev/null || pip install -q torch==2.13.0 -e ".[test]"
python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'gpu_check.sh: no CUDA device visible to torch')"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/device.txt"
# 1. correctness: device=cuda runs, the captured update (tests marked by their CUDA skip), resume on the GPU
python -m pytest -q -rs tests/run/test_gpu.py tests/run/test_graphs.py tests/run/test_overlap.py 2>&1 | tee "$out/tests.txt"
# 2. speed: 2 rounds, alternating (about 2 minutes on an H100-class GPU)
python scripts/speed_benchmark.py --device cuda --rounds 2 --steps 3000 --learning-starts 1000 \
    --ant-iterations 3 --out "$out" 2>&1 | tee "$out/speed.txt"
