#!/usr/bin/env bash
# The CUDA figures for the README, in one go (about 3-4 minutes on an H100/H200):
# the warp bench of every backend at 512 and 1024 px, and the edit bench (the three README
# edits, first generate and a second one with the source side cached, time to the first
# preview). Writes Markdown tables and JSON under OUT (default ./gpu-bench-<date>).
#
#   bash scripts/gpu_bench.sh [OUT] [LABELLED_FOLDER]
#
# LABELLED_FOLDER (optional): an ADE20K-layout folder whose manipulation cases are timed too
# (e.g. ../shared/realset). Needs the CUDA build of torch (README: set-up) and a CUDA device.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-gpu-bench-$(date +%Y%m%d)}"
DATA="${2:-}"
PY="${PYTHON:-python}"
mkdir -p "$OUT"

if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_bench: no CUDA device (torch.cuda.is_available() is False); nothing measured" >&2
    exit 2
fi
{
    date -u +"%Y-%m-%d %H:%M UTC"
    "$PY" -c "import torch; p = torch.cuda.get_device_properties(0); print(f'{p.name}, {p.total_memory / 2**30:.0f} GiB, torch {torch.__version__}, CUDA {torch.version.cuda}')"
    nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>/dev/null || true
} | tee "$OUT/machine.txt"

echo "== warp bench (cuda, 512 and 1024 px)" >&2
# not fatal: a slow backend must not cost the edit bench its turn
timeout 150 "$PY" main.py bench --device cuda --resolutions 512,1024 --repeats 2 \
    --timeout 40 --json "$OUT/warp.json" | tee "$OUT/warp.md" \
    || echo "gpu_bench: the warp bench stopped early (status $?); see $OUT/warp.md" >&2

echo "== edit bench (cuda)" >&2
EXTRA=()
if [ -n "$DATA" ]; then
    EXTRA=(--edit-data "$DATA" --edit-count 21)
fi
timeout 120 "$PY" main.py bench --edits --device cuda --repeats 3 "${EXTRA[@]}" \
    --json "$OUT/edits.json" | tee "$OUT/edits.md"
echo "gpu_bench: tables and JSON in $OUT" >&2
