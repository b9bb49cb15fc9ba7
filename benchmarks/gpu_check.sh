#!/usr/bin/env bash
# One command for a CUDA machine: the precision-sensitive checks and the throughput benchmarks of
# benchmarks/gpu_check.py, summary in OUT_DIR/gpu_check.json (default results/gpu_check). Takes a few minutes
# on one GPU; on a machine without CUDA it says so and exits 0.
#   bash benchmarks/gpu_check.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}"
export PYTHONPATH="$PWD/src:$PWD/tests${PYTHONPATH:+:$PYTHONPATH}"
exec timeout 470 "$PYTHON" benchmarks/gpu_check.py --out "${1:-results/gpu_check}"
