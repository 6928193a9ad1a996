"""Where a pipeline's IKC result falls short of its true-kernel upper bound, image by image.

For each image of a set, over the 8 Gaussian8 widths, prints the mean PSNR gap to ``true_kernel``
(the generator given the true code) of ``ikc_t0`` (the predictor) and of ``ikc`` (the fixed step
t), and the mean signed width error of the estimated kernel at t0 and t: by its second moment
(``kernel_width``) and by the nearest isotropic Gaussian code (``KernelPCA.isotropic_width``),
> 0 meaning too blurry. Same protocol as ``srkit bench gaussian8`` (it runs the same method), so
the last row's mean equals that bench's ``ikc`` − ``true_kernel``.

``--project-isotropic`` replaces every corrector output by the code of its nearest isotropic
Gaussian (a test of whether C's errors in the kernel's *shape* cost PSNR; the Gaussian8 kernels
are isotropic, so this is an oracle on the kernel family, not a method).

The numbers come from ``srkit.evaluation.estimates``; this script prints them.

Usage::

    PYTHONPATH=. python bench/upper_bound_gap.py --data $SRKIT_DATA --weights x2 --sets Set5
    PYTHONPATH=. python bench/upper_bound_gap.py --data $SRKIT_DATA --weights x2 --project-isotropic
"""
from __future__ import annotations

import numpy as np

from srkit.evaluation.estimates import IsotropicProjection, gap_rows


def main(argv: list[str] | None = None) -> int:
    from width_bias import pipeline_from_args  # a sibling script: bench/ is on sys.path when run as one
    args, pipe = pipeline_from_args(__doc__.split("\n")[0], "Set5", argv, flags={
        "--project-isotropic": "move every corrector output to its nearest isotropic Gaussian code"})
    if args.project_isotropic:
        pipe.corrector = IsotropicProjection(pipe.corrector, pipe.pca)
    from srkit.data.benchmarks import load_benchmark
    from srkit.evaluation.gaussian8 import pipeline_method
    s = pipe.scale
    method = pipeline_method(pipe, args.steps)
    t = args.steps
    projected = ", corrector outputs projected onto isotropic Gaussians" if args.project_isotropic else ""
    print(f"weights {args.weights} (x{s}), t = {t}{projected}; PSNR in dB (Y), widths in pixels of the HR grid, "
          "means over the 8 Gaussian8 widths")
    for name in args.sets.split(","):
        images = load_benchmark(args.data, name, s)[:args.limit]
        rows = gap_rows(method, images, s)
        print(f"\n{name} ({len(images)} images)\n| image | true_kernel | ikc_t0 − true | ikc − true | "
              f"width t0 / t{t} | nearest-Gaussian width t0 / t{t} |\n|---|---|---|---|---|---|")
        for im, r in zip(images, rows):
            print(f"| {im.name} | {r['true_kernel']:.2f} | {r['gap_t0']:+.2f} | {r['gap']:+.2f} | "
                  f"{r['width_t0']:+.3f} / {r['width_t']:+.3f} | {r['iso_t0']:+.3f} / {r['iso_t']:+.3f} |")
        m = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        print(f"| mean | {m['true_kernel']:.2f} | {m['gap_t0']:+.2f} | {m['gap']:+.2f} | "
              f"{m['width_t0']:+.3f} / {m['width_t']:+.3f} | {m['iso_t0']:+.3f} / {m['iso_t']:+.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
