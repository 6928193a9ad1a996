"""Which way the kernel estimates of a bundled pipeline are off, per Gaussian8 width, and how much of
that comes from the test images themselves.

Prints, for each set:
1. per Gaussian8 width σ, the mean kernel width read off the estimated code (``kernel_width``) at
   t0 (predictor) and at the fixed step t (after the corrector), over the set's images;
2. the predictor's mean width error (estimate − σ) on the HR images as they are, and on the same
   HR images first reduced ×0.5 by MATLAB bicubic (a sharper HR of the same content). A softer
   test image looks like a wider kernel to any blind estimator; if the error shrinks on the reduced
   images, part of it is the images' own softness.

Usage::

    PYTHONPATH=. python bench/width_bias.py --data $SRKIT_DATA --weights x2 --sets Set5,Set14 --limit 7
"""
from __future__ import annotations

import argparse

import numpy as np
import torch


def _lr(hr: np.ndarray, scale: int, sigma: float) -> torch.Tensor:
    """The Gaussian8 LR of ``hr`` as a 1×3×h×w tensor in [0, 1]."""
    from srkit.data.benchmarks import gaussian8_lr
    return torch.from_numpy(gaussian8_lr(hr, scale, sigma)).permute(2, 0, 1).unsqueeze(0).float().div(255)


@torch.no_grad()
def width_table(pipe, images: list[np.ndarray], scale: int, steps: int) -> list[tuple[float, float, float]]:
    """(σ, mean width at t0, mean width at t=steps) for each Gaussian8 width of ``scale``."""
    from srkit.kernels import gaussian8_sigmas
    from srkit.kernels import kernel_width
    rows = []
    for sigma in gaussian8_sigmas(scale):
        widths = []  # per image: (t0, t=steps)
        for hr in images:
            x = _lr(hr, scale, sigma)
            codes = pipe.ikc(x, steps=steps, seg=pipe.segment(x)).codes
            widths.append(kernel_width(pipe.pca.decode(torch.cat([codes[0], codes[-1]]))).tolist())
        w0, wt = np.mean(widths, axis=0)
        rows.append((sigma, float(w0), float(wt)))
    return rows


@torch.no_grad()
def predictor_width_error(pipe, images: list[np.ndarray], scale: int) -> float:
    """Mean (P's width − σ) over the images and the Gaussian8 widths (P alone: no G, no C)."""
    from srkit.kernels import gaussian8_sigmas
    from srkit.kernels import kernel_width
    return float(np.mean([float(kernel_width(pipe.pca.decode(pipe.predictor(_lr(hr, scale, sigma))))) - sigma
                          for sigma in gaussian8_sigmas(scale) for hr in images]))


def pipeline_from_args(description: str, default_sets: str, argv: list[str] | None,
                       flags: dict[str, str] | None = None):
    """(arguments, loaded pipeline) for the bench scripts that study a pipeline on the benchmark
    sets: --data, --weights, --sets, --limit, --steps, --threads, plus the on/off ``flags``
    ({"--name": help})."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--data", required=True, help="data root holding the benchmark sets")
    ap.add_argument("--weights", default="x2", help="bundled name or pipeline checkpoint")
    ap.add_argument("--sets", default=default_sets)
    ap.add_argument("--limit", type=int, default=None, help="first N images of each set")
    ap.add_argument("--steps", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    for flag, help_text in (flags or {}).items():
        ap.add_argument(flag, action="store_true", help=help_text)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    import srkit
    return args, srkit.load(args.weights).eval()


def main(argv: list[str] | None = None) -> int:
    args, pipe = pipeline_from_args(__doc__.split("\n")[0], "Set5,Set14", argv)
    from srkit.data.benchmarks import load_benchmark
    from srkit.imageio import modcrop
    from srkit.resize import imresize_np
    s = pipe.scale
    print(f"weights {args.weights} (x{s}), t = {args.steps}; widths in pixels of the HR grid")
    for name in args.sets.split(","):
        hrs = [im.hr for im in load_benchmark(args.data, name, s)[:args.limit]]
        print(f"\n{name} ({len(hrs)} images)\n| σ | width t0 | width t{args.steps} |\n|---|---|---|")
        rows = width_table(pipe, hrs, s, args.steps)
        for sigma, w0, wt in rows:
            print(f"| {sigma:.2f} | {w0:.3f} | {wt:.3f} |")
        as_is = float(np.mean([w0 - sigma for sigma, w0, _ in rows]))  # every σ has the same images
        reduced = [modcrop(imresize_np(h, 0.5), s) for h in hrs]
        print(f"predictor width error: HR as is {as_is:+.3f}, "
              f"HR reduced x0.5 {predictor_width_error(pipe, reduced, s):+.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
