"""Does a segmenter depend on the context size it was trained at? Whole LR images against tiles.

The segmenters of srkit are trained on LR patches (``SegTrainConfig.patch`` HR px ↓ scale: 64 LR px
for the ablation set's S) but run on whole LR images. This script scores one segmenter on the
held-out sets of ``srkit bench segmentation`` twice, on the same LR input: once on the whole image
(as the pipeline runs it) and once tile by tile, each tile the size of a training patch, so a gap
between the two is the context mismatch, not the network.

    python bench/seg_context.py --data $SRKIT_DATA \\
        --weights assets/weights/ablation/sftconcat.safetensors --tile 64 \\
        --json bench/results/seg_context.json

Pixels outside the last whole tile (the right and bottom remainders) are left out of *both* scores.
Wall time: about 3 min on one core (Stanford val 143, SIFT Flow test 269, 40 composites).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch


@torch.no_grad()
def predict_tiled(segnet, x: torch.Tensor, tile: int) -> torch.Tensor:
    """Argmax categories of x (1×3×H×W in [0, 1]) from independent tile×tile tiles → h×w int64, the
    whole tiles only (h = H // tile · tile, w likewise)."""
    h, w = (x.shape[-2] // tile) * tile, (x.shape[-1] // tile) * tile
    out = torch.empty(h, w, dtype=torch.long)
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            out[y0:y0 + tile, x0:x0 + tile] = segnet.logits(x[..., y0:y0 + tile, x0:x0 + tile]).argmax(1)[0]
    return out


@torch.no_grad()
def whole_and_tiled(segnet, sets: dict[str, list], scale: int, tile: int) -> dict:
    """{set: {"whole": metrics, "tiled": metrics}}, each ``srkit.metrics.iou_from_confusion`` plus
    "images"; both scored on the same pixels (images with no whole tile are skipped)."""
    from srkit.evaluation.segmentation import lr_and_labels
    from srkit.imageio import as_tensor
    from srkit.metrics import confusion, iou_from_confusion
    segnet = segnet.eval()
    out = {}
    for name, samples in sets.items():
        cm = {"whole": 0, "tiled": 0}
        used = 0
        for i, s in enumerate(samples):
            lr, labels = lr_and_labels(s, scale, seed=i)   # the same input as `srkit bench segmentation`
            x = as_tensor(lr)
            tiled = predict_tiled(segnet, x, tile)
            if tiled.numel() == 0:
                continue
            h, w = tiled.shape
            truth = torch.from_numpy(labels[:h, :w])
            cm["whole"] = cm["whole"] + confusion(segnet.logits(x).argmax(1)[0][:h, :w], truth)
            cm["tiled"] = cm["tiled"] + confusion(tiled, truth)
            used += 1
        if used:
            out[name] = {k: {**iou_from_confusion(v), "images": used} for k, v in cm.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="data root (SRKIT_DATA) with segmentation/ and faces/")
    ap.add_argument("--weights", required=True, help="bundle name or checkpoint holding a segmenter")
    ap.add_argument("--tile", type=int, default=64, help="tile side in LR px (default 64: 128 HR px at ×2)")
    ap.add_argument("--limit", type=int, default=None, help="first N images of each set")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.tile < 32:
        raise SystemExit(f"--tile must be at least 32 LR px (the encoder's stride), got {args.tile}")
    import srkit.checkpoint as checkpoint
    from srkit.evaluation.segmentation import heldout_sets
    ckpt = checkpoint.load_checkpoint(checkpoint.resolve(args.weights))
    if "segnet" not in ckpt.modules:
        raise SystemExit(f"{args.weights} holds no segmenter (networks: {sorted(ckpt.modules)})")
    sets = heldout_sets(args.data, limit=args.limit)
    if not sets:
        raise SystemExit(f"no held-out segmentation sets under {args.data}/segmentation")
    t0 = time.time()
    res = whole_and_tiled(ckpt.modules["segnet"], sets, ckpt.scale or 2, args.tile)
    keys = ("pixel_acc", "iou_sky", "iou_plant", "iou_water", "iou_building", "iou_face", "iou_text")
    print("| set | input | " + " | ".join(keys) + " |\n|---|---|" + "---|" * len(keys))
    for name, by in res.items():
        for k, r in by.items():
            cells = ["–" if not np.isfinite(r[c]) else f"{r[c]:.3f}" for c in keys]
            print(f"| {name} ({r['images']}) | {k} | " + " | ".join(cells) + " |")
    print(f"{time.time() - t0:.0f} s")
    if args.json:
        from srkit.data.sources import write_json
        write_json(args.json, {"results": res, "weights": args.weights, "tile_lr_px": args.tile,
                               "scale": ckpt.scale or 2, "date": time.strftime("%Y-%m-%d"),
                               "command": "python bench/seg_context.py " + " ".join(sys.argv[1:] if argv is None
                                                                                    else argv)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
