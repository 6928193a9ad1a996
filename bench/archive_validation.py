"""The degraded grid on validation crops of the training data: where archive recipes are chosen.

`srkit bench degraded` reports Set14 and B100; choosing a recipe or a checkpoint by them would fit
the model to the test sets. This script runs the same grid (``srkit.evaluation.degraded.GRID``: the
blur of image i is Gaussian8 width i mod 8, then the cell's noise, JPEG or MPEG-2) on the
**validation** split of T91 + BSD200, the split every SR trainer of srkit holds out (the 8:1:1
manifest of ``srkit.data.sources.build_manifest``, seed 0), centre-cropped so a run takes minutes.

    python bench/archive_validation.py --data $SRKIT_DATA --scale 2 \\
        --weights x2 x2_noise x2_archive runs/x2_archive/ca/model.safetensors \\
        --json bench/results/archive_validation_x2.json

Wall time: about 2 min per ×2 pipeline on one idle core (28 crops of 192 px × 8 cells, IKC t = 7).
``--split test`` gives the third, never-used tenth (report only, never choose by it).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def trainers_manifest(data: str, seed: int = 0) -> dict:
    """The 8:1:1 split the SR trainers make of ``data`` at their default sizes (the same filter,
    ``min_size`` = max(patch, val_patch), and the same seed), without writing it."""
    from srkit.data.sources import build_manifest
    from srkit.train.data import resolve_refs
    from srkit.train.loop import TrainConfig
    cfg = TrainConfig()
    return build_manifest(resolve_refs(data, log=lambda *a: None), None,
                          min_size=max(cfg.patch, cfg.val_patch), seed=seed)


def validation_crops(data: str, scale: int, crop: int, split: str = "val", seed: int = 0) -> list[np.ndarray]:
    """uint8 HR centre crops (side ``crop``, a multiple of 4; 0 = whole image modcropped) of the
    T91 + BSD200 images in ``split`` of the trainers' manifest."""
    manifest = trainers_manifest(data, seed)
    from srkit.data.sources import load_ref
    out = []
    for ref in manifest[split]:
        hr = load_ref(ref)
        h, w = hr.shape[:2]
        if crop:
            c = min(crop, h, w) // 4 * 4
            top, left = (h - c) // 2, (w - c) // 2
            hr = hr[top:top + c, left:left + c]
        else:
            hr = hr[:h - h % scale, :w - w % scale]
        out.append(np.ascontiguousarray(hr))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="data root holding T91/ and BSD200/ ($SRKIT_DATA)")
    p.add_argument("--scale", type=int, default=2)
    p.add_argument("--weights", nargs="+", required=True, help="bundled names or .safetensors paths")
    p.add_argument("--crop", type=int, default=192, help="HR centre crop side (0 = whole images)")
    p.add_argument("--split", default="val", choices=["val", "test"])
    p.add_argument("--steps", type=int, default=7, help="IKC iterations")
    p.add_argument("--cells", nargs="+", default=None, help="grid cells to run (default all), e.g. clean 'JPEG 30'")
    p.add_argument("--images", type=int, default=0, help="first N crops only (0 = the whole split)")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)

    import srkit
    from srkit.data.sources import write_json
    from srkit.evaluation.degraded import cells_named, format_degraded, run_degraded
    crops = validation_crops(args.data, args.scale, args.crop, args.split)
    images = {f"T91+BSD200 {args.split} crops": crops[:args.images or None]}
    models = {w: srkit.load(w) for w in args.weights}
    for w, m in models.items():
        if getattr(m, "scale", args.scale) != args.scale:
            raise ValueError(f"{w} is a x{m.scale} model, --scale is {args.scale}")
    t0 = time.perf_counter()
    out = run_degraded(models, images, args.scale, cells_named(args.cells), steps=args.steps,
                       progress=sys.stderr.isatty())
    out.update(date=time.strftime("%Y-%m-%d"), wall_s=round(time.perf_counter() - t0, 1), crop=args.crop,
               split=args.split, weights=args.weights,
               command="python bench/archive_validation.py " + " ".join(argv if argv is not None else sys.argv[1:]))
    print(format_degraded(out))
    print(f"wall time {out['wall_s']:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        write_json(args.json, out)  # atomic: a cut-off run leaves the previous file
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
