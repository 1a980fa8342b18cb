#!/usr/bin/env bash
# GPU check: a short `finsta align-train` (tiny host, finsta objective, synth) and `finsta eval
# --task retrieval` on CUDA, next to the same on the CPU; prints samples/s of both and the ratio.
#
#   benchmarks/gpu_check.sh [WORK_DIR]
#
# Environment (defaults in brackets): PYTHON [.venv/bin/python, else python3], VIDEOS [48],
# STEPS [40] CUDA steps, CPU_STEPS [10] CPU steps (samples/s is a per-step rate, so the CPU run
# is kept short), BATCH [32], CPU_THREADS [all CPUs], FRAME_SIZE [96], NUM_FRAMES [8].
# On CUDA align-train runs the host and encoders under bf16 autocast. Exit codes: 0 done,
# 1 a run failed or gave non-finite losses, 4 no CUDA device.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${PYTHON:-}" ]]; then
  PY="$PYTHON"
elif [[ -x "$REPO/.venv/bin/python" ]]; then
  PY="$REPO/.venv/bin/python"
else
  PY="python3"
fi
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
VIDEOS="${VIDEOS:-48}"
STEPS="${STEPS:-40}"
CPU_STEPS="${CPU_STEPS:-10}"
BATCH="${BATCH:-32}"
CPU_THREADS="${CPU_THREADS:-$(nproc)}"
FRAME_SIZE="${FRAME_SIZE:-96}"
NUM_FRAMES="${NUM_FRAMES:-8}"

if ! "$PY" - <<'EOF'
import sys

import torch

if not torch.cuda.is_available():
    print(
        f"gpu_check: no CUDA device: torch {torch.__version__} (CUDA build: "
        f"{torch.version.cuda or 'none'}) sees no GPU; nothing to check here",
        file=sys.stderr,
    )
    sys.exit(1)
name = torch.cuda.get_device_name(0)
print(f"gpu_check: torch {torch.__version__}, CUDA {torch.version.cuda}, {name}")
print(f"gpu_check: bf16 supported: {torch.cuda.is_bf16_supported()}")
EOF
then
  exit 4
fi

WORK="${1:-$(mktemp -d "${TMPDIR:-/tmp}/finsta-gpu-check.XXXXXX")}"
mkdir -p "$WORK"
echo "gpu_check: work folder $WORK"
finsta() { "$PY" -m finsta_cli "$@"; }

# Data: a synth set, its captions parsed, ground-truth DSGs, HSGs (the same for both devices).
if [[ ! -f "$WORK/set/hsg/manifest.json" ]]; then
  echo "gpu_check: building a synth set of $VIDEOS videos (ground-truth DSGs)"
  "$PY" - "$WORK/set" "$VIDEOS" "$REPO/benchmarks" <<'EOF'
import sys
from pathlib import Path

root, videos, benchmarks = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
sys.path.insert(0, benchmarks)
from align_train import build_sources  # noqa: E402

root.mkdir(parents=True, exist_ok=True)
build_sources(root, videos, seed=0, dsg_source="truth")
EOF
fi
SET="$WORK/set"

cat > "$WORK/config.yaml" <<EOF
host_options: {frame_size: $FRAME_SIZE, num_frames: $NUM_FRAMES}
batch_size: $BATCH
warmup_steps: 5
log_every: 5
checkpoint_every: 100000
seed: 0
cache: $WORK/frame-cache
EOF

run_device() {  # device steps threads -> prints "samples/s eval_seconds"
  local device="$1" steps="$2" threads="$3" out="$WORK/run-$1"
  rm -rf "$out"
  finsta align-train --data "$SET/synth" --tsg "$SET/tsg.jsonl" --dsg "$SET/dsg" \
    --hsg "$SET/hsg" --out "$out" --config "$WORK/config.yaml" --device "$device" \
    --threads "$threads" --steps "$steps" --json -q \
    > "$WORK/train-$device.json" 2> "$WORK/train-$device.log" || {
      echo "gpu_check: align-train on $device failed:" >&2
      tail -n 30 "$WORK/train-$device.log" >&2
      return 1
    }
  local start end
  start=$(date +%s.%N)
  finsta eval --task retrieval --checkpoint "$out/checkpoint.pt" --data "$SET/synth" \
    --split train --device "$device" --threads "$threads" --out "$WORK/eval-$device" \
    --json -q > "$WORK/eval-$device.json" 2> "$WORK/eval-$device.log" || {
      echo "gpu_check: eval on $device failed:" >&2
      tail -n 30 "$WORK/eval-$device.log" >&2
      return 1
    }
  end=$(date +%s.%N)
  "$PY" - "$WORK" "$device" "$start" "$end" <<'EOF'
import json
import math
import sys
from pathlib import Path

work, device, start, end = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
train = json.loads((work / f"train-{device}.json").read_text())
manifest = json.loads((work / f"run-{device}" / "manifest.json").read_text())
evaluation = json.loads((work / f"eval-{device}.json").read_text())
final = train["final"]
if not all(math.isfinite(v) for v in final.values()):
    print(f"gpu_check: non-finite losses on {device}: {final}", file=sys.stderr)
    sys.exit(1)
losses = ", ".join(f"{k} {v:.3f}" for k, v in final.items() if "anchors" not in k)
print(f"{device:>5}: align-train {train['samples_per_second']:.1f} samples/s "
      f"({train['steps']} steps in {train['seconds']:.1f} s on {manifest['device']}); "
      f"final {losses}")
print(f"{device:>5}: eval retrieval {end - start:.1f} s wall (with start-up), "
      f"t2v_r1 {evaluation['t2v_r1']:.1f} over {evaluation['num_captions']} captions")
(work / f"rate-{device}").write_text(str(train["samples_per_second"]))
EOF
}

echo "gpu_check: align-train $STEPS steps on cuda, $CPU_STEPS on cpu ($CPU_THREADS threads), batch $BATCH"
run_device cuda "$STEPS" "$CPU_THREADS"
run_device cpu "$CPU_STEPS" "$CPU_THREADS"
"$PY" - "$WORK" <<'EOF'
import sys
from pathlib import Path

work = Path(sys.argv[1])
cuda, cpu = (float((work / f"rate-{d}").read_text()) for d in ("cuda", "cpu"))
print(f"gpu_check: cuda / cpu align-train samples/s: {cuda / cpu:.1f}x ({cuda:.1f} vs {cpu:.1f})")
EOF
