"""Tile seams against the LR context margin (``--overlap``): how far each bundled model looks.

For each bundle, a 96×96 LR crop of scikit-image's astronaut is upscaled untiled and tiled (core
tile 16 LR pixels, so every output pixel lies within 8 of a tile edge) with overlaps 0..16, with the
same kernel code for both (``ModelRunner.estimate`` once). Reported per overlap: the largest
difference on the 0–255 scale of the uint8 outputs and the PSNR of the tiled output against the
untiled one. The receptive radius ``srkit.inference.runner.receptive_radius`` gives (an upper bound,
Σ dilation·(k−1)/2 over every conv) is printed beside it.

Command (each bundle joins the JSON file as it finishes)::

    python bench/tile_seams.py --json bench/results/tile_seams.json [--bundles x4 --overlaps 0,4,8,16]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

import srkit
from srkit.imageio import atomic_path
from srkit.inference.runner import ModelRunner, receptive_radius
from srkit.inference.tiling import tiled_upscale

BUNDLES = ("x2", "x4", "x2_archive", "x4_archive")  # x2_gan, x4_gan, x2_noise share x2's / x4's layout
OVERLAPS = (0, 2, 4, 6, 8, 10, 12, 16)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", default=None)
    parser.add_argument("--bundles", default=",".join(BUNDLES))
    parser.add_argument("--overlaps", default=",".join(map(str, OVERLAPS)))
    args = parser.parse_args()
    from skimage.data import astronaut
    lr = np.ascontiguousarray(astronaut()[100:292:2, 150:342:2])  # 96×96
    image = torch.from_numpy(lr).permute(2, 0, 1)[None]
    results = {}
    if args.json and Path(args.json).is_file():  # runs of other bundles join the same file
        results = json.loads(Path(args.json).read_text())
    torch.set_num_threads(2)
    for name in args.bundles.split(","):
        runner = ModelRunner(srkit.load(name), device="cpu")
        fn = runner.tile_fn(runner.estimate(image, emit=False).code)
        whole = tiled_upscale(image, fn, runner.scale, tile=0, out_dtype=torch.uint8)
        whole = whole[0].permute(1, 2, 0).numpy()
        rows = {}
        for overlap in map(int, args.overlaps.split(",")):
            tiled = tiled_upscale(image, fn, runner.scale, tile=16, overlap=overlap, out_dtype=torch.uint8)
            tiled = tiled[0].permute(1, 2, 0).numpy()
            diff = int(np.abs(tiled.astype(int) - whole.astype(int)).max())
            rows[overlap] = {"max_diff": diff, "psnr": round(psnr(tiled, whole), 2)}
            print(f"{name:11s} overlap {overlap:2d}: max diff {diff:3d}  PSNR {rows[overlap]['psnr']:6.2f} dB",
                  flush=True)
        bound = receptive_radius(runner.generator)
        print(f"{name:11s} receptive_radius upper bound {bound}", flush=True)
        results[name] = {"overlaps": rows, "receptive_radius_bound": bound}
        if args.json:  # after each bundle: a stopped run keeps what it measured
            with atomic_path(args.json) as tmp:
                tmp.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
