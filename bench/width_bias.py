"""Which way the kernel estimates of a bundled pipeline are off, per Gaussian8 width, and how much of
that comes from the test images themselves.

Prints, for each set:
1. per Gaussian8 width σ, the mean kernel width read off the estimated code (``kernel_width``) at
   t0 (predictor) and at the fixed step t (after the corrector), over the set's images;
2. the predictor's mean width error (estimate − σ) on the HR images as they are, and on the same
   HR images first reduced ×0.5 by MATLAB bicubic (a sharper HR of the same content). A softer
   test image looks like a wider kernel to any blind estimator; if the error shrinks on the reduced
   images, part of it is the images' own softness.

The numbers come from ``srkit.evaluation.estimates``; this script prints them.

Usage::

    PYTHONPATH=. python bench/width_bias.py --data $SRKIT_DATA --weights x2 --sets Set5,Set14 --limit 7
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from srkit.evaluation.estimates import predictor_width_error, width_table


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
