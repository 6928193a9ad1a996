"""Write bench/ABLATION.md: every table of the ×2 ablation set from its measured JSON files.

    srkit bench segmentation --data $SRKIT_DATA --weights x2 assets/weights/ablation/sftconcat.safetensors \
        --json bench/results/segmentation_x2.json                                  # about 1 min
    srkit bench ablation --data $SRKIT_DATA --json bench/results/ablation_x2.json   # about 20 min, one core
    python bench/ablation_tables.py                                                # this file: seconds

The tables are formatted by ``srkit.evaluation.ablation`` and ``srkit.evaluation.segmentation``,
the same functions the bench commands print with.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from srkit.evaluation.ablation import format_ablation, format_differences
from srkit.evaluation.segmentation import format_segmentation

HERE = Path(__file__).resolve().parent

INTRO = """# The ×2 ablation set, measured

Written by `python bench/ablation_tables.py` from `bench/results/ablation_x2.json` and
`bench/results/segmentation_x2.json` (commands in that script's docstring; the models and how they
were trained: `assets/weights/ablation/README.md`, `recipes/ablation_x2.toml`).

Protocol of the ablation tables: every held-out image (Stanford Background val, SIFT Flow test,
40 face/text composites of a seed training never draws), HR modcropped to 2, image i blurred by the
i mod 8-th Gaussian8 ×2 width, MATLAB bicubic ↓2, uint8 LR. SFTMD and SFTconcat get the code of the
true kernel. `sftgan` / `sftconcat` use their own segmenter's maps, `/true` the one-hot LR label
maps, `/uniform` ψ = 1/K everywhere. PSNR (dB) and SSIM on Y with a 2-pixel shave, pooled over all
pixels of a category (HR label) in the set; `all` is every pixel. *texture*: SR-to-HR energy of Y
minus its σ = 1 Gaussian blur over the category's pixels (1.0: HR's amount of fine detail; < 1
over-smooth).
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ablation", type=Path, default=HERE / "results" / "ablation_x2.json")
    ap.add_argument("--segmentation", type=Path, default=HERE / "results" / "segmentation_x2.json")
    ap.add_argument("--out", type=Path, default=HERE / "ABLATION.md")
    args = ap.parse_args(argv)
    ablation = json.loads(args.ablation.read_text())["results"]
    parts = [INTRO, "## Paired differences (whole-image PSNR, per image)\n",
             "Mean of a − b over the set's images ± 2 standard errors (over images, one training seed "
             "per variant), and on how many images a is better.\n", format_differences(ablation)]
    for metric, title in (("psnr", "PSNR per category"), ("ssim", "SSIM per category"),
                          ("texture", "Texture ratio per category")):
        parts += [f"\n## {title}\n", format_ablation(ablation, metric)]
    if args.segmentation.is_file():
        seg = json.loads(args.segmentation.read_text())["results"]
        parts += ["\n## Segmenters on the held-out sets\n",
                  "LR at ×2 (middle Gaussian8 blur, bicubic ↓2); IoU per category, mIoU over the categories "
                  "present in the set's truth, pixel accuracy.\n", format_segmentation(seg)]
    args.out.write_text("\n".join(parts) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
