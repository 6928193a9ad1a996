#!/usr/bin/env bash
# The project's GPU check: what a lent GPU machine can do for srkit, in one short run (about 5 min).
#
#   bash bench/gpu_check.sh            # on the GPU machine, from the repository root; results in $OUT
#   GPU_CHECK_DRY=1 bash bench/gpu_check.sh   # the same steps on the CPU at toy size (checks the script)
#
# Steps, each logged to $OUT/gpu_check.log and summarised in $OUT/gpu_check.json:
#   1. the machine: nvidia-smi, torch and CUDA versions, bf16 support;
#   2. the bundled x2 pipeline on one LR image on the GPU against the CPU result (max |Δ| in 0–255);
#   3. one smoke training stage per trainer on the GPU (seconds each; checks the CUDA paths);
#   4. bench/speed_gpu.py: 1080p → 2160p generator and pipeline fps, fp32 and bf16, JSON in $OUT.
# Nothing is downloaded: the machine must already have torch (and the packages of pyproject.toml).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-out/gpu_check}"
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
: > "$LOG"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
DRY="${GPU_CHECK_DRY:-0}"
say() { echo "gpu_check: $*" | tee -a "$LOG"; }
status=0

say "1/4 machine"
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || echo "no nvidia-smi") >> "$LOG"
python - >> "$LOG" 2>&1 <<'PY' || { say "torch is not importable here: nothing more can run"; exit 1; }
import torch
print("torch", torch.__version__, "| cuda", torch.version.cuda, "| available", torch.cuda.is_available())
if torch.cuda.is_available():
    print("device", torch.cuda.get_device_name(0), "| bf16", torch.cuda.is_bf16_supported())
PY

say "2/4 bundled x2 on the GPU against the CPU"
python - "$OUT" "$DRY" >> "$LOG" 2>&1 <<'PY' || { say "step 2 failed (see the log)"; status=1; }
import json, sys, time
import numpy as np, torch
import srkit
from srkit.data.samples import sample_image
from srkit.degrade import degrade_uint8
out, dry = sys.argv[1], sys.argv[2] == "1"
device = "cpu" if dry or not torch.cuda.is_available() else "cuda"
lr = degrade_uint8(sample_image("scene", multiple=2, max_side=128 if dry else 512), 2)
ref = srkit.upscale(lr, srkit.load("x2"), device="cpu")
t0 = time.time()
sr = srkit.upscale(lr, srkit.load("x2", device=device), device=device)
dt = time.time() - t0
diff = int(np.abs(sr.astype(int) - ref.astype(int)).max())
print(json.dumps({"device": device, "lr_shape": list(lr.shape), "max_abs_diff_0_255": diff, "seconds": round(dt, 3)}))
json.dump({"device": device, "max_abs_diff_0_255": diff, "seconds": dt}, open(f"{out}/gpu_vs_cpu.json", "w"))
assert diff <= 2, f"GPU and CPU outputs differ by {diff} levels"
PY

say "3/4 one smoke stage per trainer"
for stage in seg sftmd ikc sftgan; do
  dev=cuda; [ "$DRY" = 1 ] && dev=cpu
  if SRKIT_SMOKE=1 timeout 300 python -m srkit.cli train "$stage" --preset smoke --device "$dev" \
      --out "$OUT/train-$stage" --data skimage --no-progress >> "$LOG" 2>&1; then
    say "  $stage: ok"
  else
    say "  $stage: FAILED"; status=1
  fi
done

say "4/4 1080p -> 2160p speed"
if [ "$DRY" = 1 ]; then
  python bench/speed_gpu.py --cpu-dry-run --json "$OUT/speed_gpu.json" >> "$LOG" 2>&1 || { say "speed_gpu failed"; status=1; }
else
  timeout 400 python bench/speed_gpu.py --frames 20 --json "$OUT/speed_gpu.json" >> "$LOG" 2>&1 || { say "speed_gpu failed"; status=1; }
fi
python - "$OUT" "$status" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
summary = {"ok": sys.argv[2] == "0", "files": sorted(p.name for p in out.glob("*.json"))}
(out / "gpu_check.json").write_text(json.dumps(summary, indent=2))
print("gpu_check:", "ok" if summary["ok"] else "FAILED", "| results in", out)
PY
exit $status
