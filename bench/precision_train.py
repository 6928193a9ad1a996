"""One training stage run twice, fp32 and bf16, same seed, data and steps: do the loss curves and
the validation PSNR agree?

    python bench/precision_train.py                     # sftmd, smoke sizes, 200 steps, ×2
    python bench/precision_train.py --steps 400 --data "$SRKIT_DATA"

Both runs use ``srkit.train`` with the same config except ``precision``; validation is fp32 in both
(``srkit.precision``), on the same fixed crops. Writes ``bench/results/precision_train.json`` (the
logged pixel loss at each step, validation PSNR, seconds) and a PNG of the two curves beside it.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

from srkit import precision
from srkit.train import train

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "precision_train.json"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--data", default="skimage", help="training images (default: scikit-image's photos)")
    ap.add_argument("--json", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    runs = {}
    for prec in ("fp32", "bf16"):
        with tempfile.TemporaryDirectory(prefix=f"srkit-{prec}-") as out:
            t = train("sftmd", "smoke", log=lambda *a: None, out=out, scale=2, steps=args.steps, data=args.data,
                      precision=prec, progress=False, log_every=10, val_every=50, ckpt_every=0)
        records = t.records
        runs[prec] = {"steps": [r["step"] for r in records if "pixel" in r],
                      "pixel": [r["pixel"] for r in records if "pixel" in r],
                      "val_psnr": {r["step"]: r["val_psnr"] for r in records if "val_psnr" in r},
                      "seconds": records[-1]["time_s"]}
        print(f"{prec}: final pixel loss {runs[prec]['pixel'][-1]:.5f}, val PSNR "
              + ", ".join(f"step {k}: {v:.3f}" for k, v in runs[prec]["val_psnr"].items())
              + f", {runs[prec]['seconds']:.0f} s", flush=True)
    a, b = (np.array(runs[p]["pixel"]) for p in ("fp32", "bf16"))
    rel = np.abs(b / a - 1)
    val = {k: runs["bf16"]["val_psnr"][k] - v for k, v in runs["fp32"]["val_psnr"].items()}
    summary = {"max_rel_loss_diff": float(rel.max()), "mean_rel_loss_diff": float(rel.mean()),
               "val_psnr_bf16_minus_fp32": val}
    print(f"loss: bf16 vs fp32 at the logged steps, mean {100 * rel.mean():.1f} %, max {100 * rel.max():.1f} %; "
          "val PSNR bf16 − fp32: " + ", ".join(f"step {k}: {v:+.3f} dB" for k, v in val.items()))
    result = {"date": date.today().isoformat(), "stage": "sftmd", "preset": "smoke", "scale": 2, "steps": args.steps,
              "data": args.data, "cpu_has_bf16": precision.cpu_has_bf16(), "runs": runs, "summary": summary}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    for prec in ("fp32", "bf16"):
        ax.plot(runs[prec]["steps"], runs[prec]["pixel"], label=prec)
    ax.set(xlabel="step", ylabel="L1 pixel loss", title="sftmd (smoke size, ×2): fp32 and bf16")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.json.with_suffix(".png"))
    print("results:", args.json, args.json.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
