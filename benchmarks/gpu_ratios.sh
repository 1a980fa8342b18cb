#!/usr/bin/env bash
# Issue #17's ratios on a CUDA device, in one go (docs/benchmarks.md, "GPU check"):
#   1. build-dsg full / detector-only with --assemble thread and process, alternating (goal >= 0.9);
#   2. align-train samples/s, finsta / host-only (tiny host, bf16 autocast on CUDA);
#   3. graph encoders, batched vs one graph at a time.
#
#   benchmarks/gpu_ratios.sh SET DSGSET [OUT_DIR]
#
# SET: a folder with synth/, tsg.jsonl, dsg/ (and hsg/, built here when missing), as
# `benchmarks/align_train.py`'s build_sources makes it; DSGSET: a synth folder whose test split
# holds the build-dsg videos (60 in the issue). Both can be made on a machine without a GPU and
# carried over. PYTHON [python3] runs everything. Exit 4 without a CUDA device. Where PyAV is
# missing (the H200 image), put benchmarks/device/av_shim first on PYTHONPATH.
set -uo pipefail
SET="$1"; DSGSET="$2"; OUT="${3:-.}"
PY="${PYTHON:-python3}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"$PY" -c "import torch" 2>/dev/null || { echo "gpu_ratios: $PY cannot import torch" >&2; exit 1; }
"$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 4)" || {
  echo "gpu_ratios: no CUDA device" >&2; exit 4; }
"$PY" -c "import torch; print('gpu_ratios:', torch.__version__, torch.cuda.get_device_name(0))"
mkdir -p "$OUT"
if [[ ! -f "$SET/hsg/manifest.json" ]]; then
  "$PY" -m finsta_cli build-hsg --tsg "$SET/tsg.jsonl" --dsg "$SET/dsg" --out "$SET/hsg" -q || exit 1
fi
for assemble in thread process thread process; do
  echo "== build_dsg --assemble $assemble"
  "$PY" "$REPO/benchmarks/build_dsg.py" --synth "$DSGSET" --device cuda --batch 64 \
    --decode-workers 8 --assemble "$assemble" --rounds 3 --no-rss 2>&1 | tail -n 9 \
    | tee -a "$OUT/build_dsg.txt"
done
echo "== align_train (cuda)"
"$PY" "$REPO/benchmarks/align_train.py" --data "$SET/synth" --tsg "$SET/tsg.jsonl" \
  --dsg "$SET/dsg" --hsg "$SET/hsg" --steps 60 --batch-size 16 --threads 8 --device cuda \
  --rounds 2 2>&1 | tail -n 8 | tee "$OUT/align_train.txt"
echo "== graph_batch (cuda)"
"$PY" "$REPO/benchmarks/graph_batch.py" --hsg "$SET/hsg" --graphs 2000 --batch 128 \
  --device cuda --threads 8 2>&1 | tail -n 6 | tee "$OUT/graph_batch.txt"
