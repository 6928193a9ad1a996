"""Periodic textures through every bundled model: is the output black, washed out, or damaged
around the texture? (srkit.inference.guard's acceptance figures.)

For each bundle and pattern of ``srkit.data.patterns`` (64×64 alone, and as a 24×24 patch in the
centre of a 128×128 photo, scikit-image's astronaut at 1/4 size), through ``srkit.upscale``:

* ``dmean``: |mean(SR) − mean(bicubic upscale)| on the 0–255 scale (a black or washed-out
  output is 50–250; the guard's limit is 10);
* ``outside``: PSNR (dB, RGB) between SR and the bicubic upscale outside the patch, beside the
  same figure for the photo without the patch (``plain``);
* ``guard``: what the guard reported for the patched photo (its warning line, shortened).

Command (about 3 min on 2 CPU cores)::

    python bench/hostile_textures.py --json bench/results/hostile_textures.json
"""
from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
import torch

import srkit
from srkit.data.patterns import PATTERNS, periodic_pattern
from srkit.inference.guard import GuardWarning
from srkit.imageio import atomic_path
from srkit.resize import imresize_np

BUNDLES = ("x2", "x4", "x2_gan", "x4_gan", "x2_noise", "x2_archive", "x4_archive")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def run(image: np.ndarray, model) -> tuple[np.ndarray, str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sr = srkit.upscale(image, model, device="cpu")
    lines = [str(w.message).split(": ", 1)[1] for w in caught if issubclass(w.category, GuardWarning)]
    return sr, "; ".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", nargs="*", default=list(BUNDLES))
    parser.add_argument("--json", default=None, help="write the rows here")
    args = parser.parse_args()
    import skimage.data
    photo = np.ascontiguousarray(skimage.data.astronaut()[::4, ::4])
    rows = []
    print("| bundle | pattern | alone: dmean | patch: dmean | patch: outside dB | plain photo dB | guard (patch) |")
    print("|---|---|---|---|---|---|---|")
    for name in args.weights:
        model = srkit.load(name)
        s = model.scale
        plain_sr, _ = run(photo, model)
        outside = np.ones((128 * s, 128 * s), bool)
        outside[52 * s:76 * s, 52 * s:76 * s] = False
        plain = psnr(plain_sr[outside], imresize_np(photo, s)[outside])
        for pattern in PATTERNS:
            alone = periodic_pattern(pattern)
            sr, alone_guard = run(alone, model)
            d_alone = abs(sr.astype(float).mean() - imresize_np(alone, s).astype(float).mean())
            patched = photo.copy()
            patched[52:76, 52:76] = periodic_pattern(pattern, 24)
            sr, patch_guard = run(patched, model)
            bicubic = imresize_np(patched, s)
            d_patch = abs(sr.astype(float).mean() - bicubic.astype(float).mean())
            out = psnr(sr[outside], bicubic[outside])
            rows.append(dict(bundle=name, pattern=pattern, alone_dmean=d_alone, alone_guard=alone_guard,
                             patch_dmean=d_patch, patch_outside_psnr=out, plain_outside_psnr=plain,
                             patch_guard=patch_guard))
            print(f"| {name} | {pattern} | {d_alone:.2f} | {d_patch:.2f} | {out:.2f} | {plain:.2f} | "
                  f"{patch_guard[:60] or '–'} |", flush=True)
    print(f"worst alone dmean {max(r['alone_dmean'] for r in rows):.2f}/255, worst patch dmean "
          f"{max(r['patch_dmean'] for r in rows):.2f}/255, lowest outside PSNR "
          f"{min(r['patch_outside_psnr'] for r in rows):.2f} dB")
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps({"rows": rows, "torch": torch.__version__}, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
