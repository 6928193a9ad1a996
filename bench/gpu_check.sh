#!/usr/bin/env bash
# The project's GPU check: what a GPU machine can do for srkit, in one short run (under 8 min).
#
#   bash bench/gpu_check.sh                   # on the GPU machine, from the repository root
#   GPU_CHECK_DRY=1 bash bench/gpu_check.sh   # the same steps on the CPU at toy size (checks the script)
#
# Steps, each logged to $OUT/gpu_check.log, with JSON files in $OUT (default bench/results/gpu-check;
# the dry run: out/gpu-check-dry):
#   1. the machine: nvidia-smi, torch and CUDA versions, bf16 support;
#   2. the CUDA paths: the bundled x2 pipeline on one LR image on the GPU (fp32 and bf16) against
#      the CPU result (max |Δ| in 0–255), then the CUDA-relevant tests;
#   3. 300 steps of each trainer (seg, sftmd, ikc, sftgan) at the `gpu` preset's sizes with
#      --precision auto (bf16 autocast on bf16 GPUs): seconds per step, peak GPU memory;
#   4. a one-process DDP start (torchrun, NCCL on CUDA, gloo on the CPU): 20 steps of sftmd;
#   5. bench/speed_gpu.py: 1080p → 2160p fps of the bundled-size and the paper-size generator and of
#      the amortised pipeline, fp32 and bf16, peak GPU memory.
# Nothing is downloaded: the machine must already have torch and the packages of pyproject.toml.
set -uo pipefail
cd "$(dirname "$0")/.."
DRY="${GPU_CHECK_DRY:-0}"
if [ "$DRY" = 1 ]; then OUT="${OUT:-out/gpu-check-dry}"; else OUT="${OUT:-bench/results/gpu-check}"; fi
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
: > "$LOG"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
DEV=cuda; [ "$DRY" = 1 ] && DEV=cpu
say() { echo "gpu_check: $*" | tee -a "$LOG"; }
status=0
T0=$SECONDS

say "1/5 machine"
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || echo "no nvidia-smi") >> "$LOG"
python - "$DRY" >> "$LOG" 2>&1 <<'PY' || { say "torch is not importable here, or no CUDA device: nothing more can run"; exit 1; }
import sys, torch
print("torch", torch.__version__, "| cuda", torch.version.cuda, "| available", torch.cuda.is_available())
if torch.cuda.is_available():
    print("device", torch.cuda.get_device_name(0), "| bf16", torch.cuda.is_bf16_supported())
elif sys.argv[1] != "1":
    sys.exit("no CUDA device (GPU_CHECK_DRY=1 runs the steps on the CPU)")
PY

say "2/5 CUDA paths: bundled x2 on $DEV against the CPU, then the tests"
python - "$OUT" "$DEV" "$DRY" >> "$LOG" 2>&1 <<'PY' || { say "  bundled x2 on $DEV: FAILED (see the log)"; status=1; }
import json, sys, time
import numpy as np
import srkit
from srkit.data.samples import sample_image
from srkit.degrade import degrade_uint8
out, device, dry = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
lr = degrade_uint8(sample_image("scene", multiple=2, max_side=128 if dry else 512), 2)
ref = srkit.upscale(lr, srkit.load("x2"), device="cpu")
rows = {}
for precision in ("fp32", "bf16"):
    pipe = srkit.load("x2", device=device)
    srkit.upscale(lr, pipe, device=device, precision=precision)  # warm-up (cuDNN autotune)
    t0 = time.time()
    sr = srkit.upscale(lr, pipe, device=device, precision=precision)
    diff = np.abs(sr.astype(int) - ref.astype(int))
    rows[precision] = {"seconds": round(time.time() - t0, 3), "max_abs_diff_0_255": int(diff.max()),
                       "mean_abs_diff_0_255": round(float(diff.mean()), 4)}
print(json.dumps({"device": device, "lr_shape": list(lr.shape), **rows}))
json.dump({"device": device, "lr_shape": list(lr.shape), **rows}, open(f"{out}/gpu-vs-cpu.json", "w"), indent=2)
assert rows["fp32"]["max_abs_diff_0_255"] <= 2, f"GPU and CPU fp32 outputs differ by {rows['fp32']} levels"
PY
[ $status = 0 ] && say "  bundled x2 on $DEV: ok ($OUT/gpu-vs-cpu.json)"
if SRKIT_SMOKE=1 timeout 240 python -m pytest -q -p no:cacheprovider tests/test_infer.py tests/test_precision.py \
    tests/test_checkpoint.py tests/test_models.py >> "$LOG" 2>&1; then
  say "  tests: ok"
else
  say "  tests: FAILED"; status=1
fi

say "3/5 300 steps of each trainer at the gpu preset, --precision auto"
STEPS=300; PRESET=gpu
[ "$DRY" = 1 ] && { STEPS=3; PRESET=smoke; }
for stage in seg sftmd ikc sftgan; do
  start=$SECONDS
  if timeout 150 python - "$stage" "$PRESET" "$STEPS" "$DEV" "$OUT" >> "$LOG" 2>&1 <<'PY'
import json, sys, time
import torch
from srkit.train import get_trainer
stage, preset, steps, device, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
cfg_cls, trainer_cls = get_trainer(stage)
# offline there are no ImageNet VGG19 weights: random features time the GAN stage just the same
extra = {"allow_random_features": True} if stage == "sftgan" else {}
cfg = cfg_cls.from_preset(preset, out=f"{out}/train-{stage}", steps=steps, device=device, precision="auto",
                          data="skimage", progress=False, val_every=0, ckpt_every=0, log_every=50, **extra)
trainer = trainer_cls(cfg, log=print)
if device == "cuda":
    torch.cuda.reset_peak_memory_stats()
t0 = time.time()
last = trainer.fit()
seconds = time.time() - t0
gib = torch.cuda.max_memory_allocated() / 2 ** 30 if device == "cuda" else 0.0
row = {"stage": stage, "preset": preset, "steps": steps, "precision": trainer.precision, "batch": cfg.batch,
       "patch": cfg.patch, "seconds_per_step": round(seconds / steps, 4), "peak_gib": round(gib, 2),
       "last": {k: v for k, v in last.items() if isinstance(v, float)}}
print(json.dumps(row))
json.dump(row, open(f"{out}/gpu-train-{stage}.json", "w"), indent=2)
PY
  then
    say "  $stage: ok ($((SECONDS - start)) s)"
  else
    say "  $stage: FAILED"; status=1
  fi
done

say "4/5 one-process DDP start (torchrun)"
if timeout 120 torchrun --standalone --nproc_per_node 1 -m srkit.cli train sftmd --preset smoke --device "$DEV" \
    --steps 20 --data skimage --out "$OUT/ddp-sftmd" --no-progress >> "$LOG" 2>&1; then
  say "  ddp: ok"
else
  say "  ddp: FAILED"; status=1
fi

say "5/5 1080p -> 2160p speed"
if [ "$DRY" = 1 ]; then
  python bench/speed_gpu.py --cpu-dry-run --json "$OUT/gpu-speed.json" >> "$LOG" 2>&1 || { say "  speed_gpu: FAILED"; status=1; }
else
  timeout 200 python bench/speed_gpu.py --presets small,default --frames 20 --no-compile \
    --json "$OUT/gpu-speed.json" >> "$LOG" 2>&1 || { say "  speed_gpu: FAILED"; status=1; }
fi
python - "$OUT" "$status" "$((SECONDS - T0))" "$DRY" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
summary = {"ok": sys.argv[2] == "0", "seconds": int(sys.argv[3]), "dry_run": sys.argv[4] == "1",
           "files": sorted(p.name for p in out.glob("gpu-*.json"))}
(out / "gpu-check.json").write_text(json.dumps(summary, indent=2))
print("gpu_check:", "ok" if summary["ok"] else "FAILED", f"in {summary['seconds']} s | results in", out)
PY
exit $status
