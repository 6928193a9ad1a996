"""Write bench/ABLATION.md: every table of the ×2 ablation set from its measured JSON files.

    srkit bench segmentation --data $SRKIT_DATA --weights x2 assets/weights/ablation/sftconcat.safetensors \
        --json bench/results/segmentation_x2.json                                  # about 1 min
    srkit bench ablation --data $SRKIT_DATA --json bench/results/ablation_x2.json   # about 20 min, one core
    for v in srresnet sftgan sftmd sftconcat; do                                   # about 75 min, 2 cores
      srkit bench gaussian8 --data $SRKIT_DATA --sets Set5,Set14,B100 --scales 2 --workers 2 \
        --weights assets/weights/ablation/$v.safetensors --json bench/results/gaussian8_ablation_$v.json
    done
    srkit bench categories --data $SRKIT_DATA --weights x2 assets/weights/ablation/{srresnet,sftmd,sftgan,sftconcat}.safetensors \
        --json bench/results/categories_ablation_x2.json                           # about 30 min, 2 cores
    srkit bench ablation --data $SRKIT_DATA --variants sftmd,sftmd_gan,sftconcat,sftconcat_gan \
        --json bench/results/ablation_x2_gan.json                                  # about 25 min, one core
    srkit bench categories --data $SRKIT_DATA --weights assets/weights/ablation/{sftmd,sftconcat}_gan.safetensors \
        --json bench/results/categories_ablation_x2_gan.json                       # about 30 min, one core
    python bench/ablation_tables.py                                                # this file: seconds

The tables are formatted by ``srkit.evaluation.ablation`` and ``srkit.evaluation.segmentation``,
the same functions the bench commands print with.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from srkit.evaluation.ablation import (GAN_PAIRS, VARIANTS, format_ablation, format_differences, format_gaussian8_variants,
                                      format_seeds)
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
over-smooth). Text pixels of the composites: {text}.
"""

# The shipped x2 bundle on the same protocol, whole sets (docs/RESULTS.md, "Bundled models on
# Gaussian8", measured 2026-11-27 to 2026-11-30), PSNR / SSIM.
X2_BUNDLE = {
    "true_kernel": {"Set5": {"2": {"psnr": 35.57, "ssim": 0.9437}}, "Set14": {"2": {"psnr": 31.59, "ssim": 0.8860}},
                    "B100": {"2": {"psnr": 30.72, "ssim": 0.8654}}},
    "ikc": {"Set5": {"2": {"psnr": 35.20, "ssim": 0.9425}}, "Set14": {"2": {"psnr": 31.40, "ssim": 0.8769}},
            "B100": {"2": {"psnr": 30.48, "ssim": 0.8533}}},
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ablation", type=Path, default=HERE / "results" / "ablation_x2.json")
    ap.add_argument("--segmentation", type=Path, default=HERE / "results" / "segmentation_x2.json")
    ap.add_argument("--categories", type=Path, default=HERE / "results" / "categories_ablation_x2.json")
    ap.add_argument("--gan", type=Path, default=HERE / "results" / "ablation_x2_gan.json")
    ap.add_argument("--gan-categories", type=Path, default=HERE / "results" / "categories_ablation_x2_gan.json")
    ap.add_argument("--out", type=Path, default=HERE / "ABLATION.md")
    args = ap.parse_args(argv)
    measured = json.loads(args.ablation.read_text())
    ablation = measured["results"]
    # runs before the caption-box label (2026-12-03) scored the glyph pixels
    text = measured.get("protocol", {}).get("text", "the glyph pixels (composites on scikit-image's photos)")
    parts = [INTRO.format(text=text), "## Paired differences (whole-image PSNR, per image)\n",
             "Mean of a − b over the set's images ± 2 standard errors (over images, one training seed "
             "per variant), and on how many images a is better.\n", format_differences(ablation)]
    for metric, title in (("psnr", "PSNR per category"), ("ssim", "SSIM per category"),
                          ("texture", "Texture ratio per category")):
        parts += [f"\n## {title}\n", format_ablation(ablation, metric)]
    g8 = {v: json.loads(f.read_text())["results"] for v in VARIANTS
          if (f := HERE / "results" / f"gaussian8_ablation_{v}.json").is_file()}
    if g8:
        reference = {"x2 bundle (for reference)": X2_BUNDLE}
        parts += ["\n## Gaussian8 (Set5, Set14, B100, ×2)\n",
                  "Every image of each set with each of the 8 Gaussian8 ×2 widths (`srkit bench gaussian8`, "
                  "the published protocol: PSNR / SSIM on Y, shave 2; fp32). *true kernel*: the generator "
                  "given the code of the true kernel; *blind*: IKC's estimate at t = 7 for SFTMD and "
                  "SFTconcat, the generator alone for SRResNet and SFT-GAN (they need no kernel). The x2 "
                  "bundle is the shipped SFTconcat model (more training than this equal-budget set).\n",
                  format_gaussian8_variants(g8, reference=reference)]
        steps = [v for v in ("sftmd", "sftconcat") if v in g8]
        if steps:
            parts += ["\nIKC step by step (PSNR after each step; t0 is the predictor alone, `ikc` above is t7):\n",
                      "| variant | set | " + " | ".join(f"t{t}" for t in range(8)) + " |",
                      "|---|---|" + "---|" * 8]
            for v in steps:
                for set_name, by_scale in g8[v]["ikc_t0"].items():
                    cells = [f"{g8[v][f'ikc_t{t}'][set_name]['2']['psnr']:.2f}" for t in range(8)]
                    parts.append(f"| {v} | {set_name} | " + " | ".join(cells) + " |")
    seed1 = HERE / "results" / "ablation_x2_seed1.json"
    if seed1.is_file():
        parts += ["\n## A second training seed (SRResNet and SFT-GAN, `recipes/ablation_x2_seed1.toml`)\n",
                  "The same held-out images and protocol as above; pooled PSNR (dB) per seed, the paired "
                  "difference per seed, and each variant's change from seed 0 to seed 1 on the same images "
                  "(± 2 standard errors over images, wins/n).\n",
                  format_seeds({0: ablation, 1: json.loads(seed1.read_text())["results"]})]
        g8_seed1 = {v: json.loads(f.read_text())["results"] for v in ("srresnet", "sftgan")
                    if (f := HERE / "results" / f"gaussian8_ablation_seed1_{v}.json").is_file()}
        if g8_seed1:
            rows = ["\nGaussian8 (blind: the generator alone), PSNR (dB) per seed:\n",
                    "| variant | " + " | ".join(f"{s} seed 0 | {s} seed 1" for s in ("Set5", "Set14", "B100")) + " |",
                    "|---|" + "---|---|" * 3]
            for v in ("srresnet", "sftgan"):
                cells = []
                for set_name in ("Set5", "Set14", "B100"):
                    for res in (g8.get(v), g8_seed1.get(v)):
                        r = (res or {}).get("sr", {}).get(set_name, {}).get("2")
                        cells.append(f"{r['psnr']:.2f}" if r else "–")
                rows.append(f"| {v} | " + " | ".join(cells) + " |")
            parts += rows
    if args.categories.is_file():
        from srkit.evaluation.categories import format_tables
        cats = json.loads(args.categories.read_text())
        parts += ["\n## Faces and text: OCR and masked metrics per variant (`srkit bench categories`)\n",
                  "The faces-and-text bench (text cards in three scripts and five sizes, 4 cards each; face "
                  "composites; CamVid and ADE20K scenes) at ×2 with the middle Gaussian8 blur (σ 1.2). Here "
                  "every variant runs *blind*: SFTMD and SFTconcat with their own IKC (t = 7), as a user "
                  "would run them; `x2` is the shipped bundle. A card's accuracy moves in steps of up to "
                  "0.25 at n = 4, so per-size cells differ by chance; read the `all` rows (n = 20).\n",
                  format_tables(cats)]
    if args.gan.is_file():
        gan = json.loads(args.gan.read_text())["results"]
        parts += ["\n## The GAN stage at equal budget (SFTMD-GAN, SFTconcat-GAN)\n",
                  "`recipes/ablation_x2_gan.toml`: each kernel variant's pixel-loss generator above, plus the "
                  "adversarial stage of `x2_gan` (400 steps, batch 8, patch 96, lr 1e-4, perceptual loss on "
                  "the ablation segmenter's encoder features for both, L1 weight 1e-2, seed 0); IKC P and C "
                  "kept. The same held-out images and protocol as the tables above (true kernel code; the "
                  "pixel-loss variants run again beside them). PSNR is not what a GAN stage is for: read the "
                  "texture ratio (1.0 = HR's fine detail) and OCR.\n",
                  format_differences(gan, pairs=GAN_PAIRS + (("sftconcat", "sftmd"),))]
        for metric, title in (("psnr", "PSNR"), ("texture", "Texture ratio")):
            parts += [f"\n{title} per category, GAN stage:\n", format_ablation(gan, metric)]
    if args.gan_categories.is_file():
        from srkit.evaluation.categories import format_tables
        parts += ["\nFaces and text after the GAN stage (`srkit bench categories`, the same cards, faces and "
                  "scenes as the pixel-loss table above, blind with IKC t = 7):\n",
                  format_tables(json.loads(args.gan_categories.read_text()))]
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
