"""How far a pipeline's kernel estimates are from the truth, on the Gaussian8 protocol.

- :func:`width_table`: per Gaussian8 width σ, the mean width read off the estimated code at t0
  (predictor) and at step t (after the corrector);
- :func:`predictor_width_error`: the predictor's mean signed width error (> 0: too blurry), which a
  test image's own softness inflates (compare it on the HR reduced ×0.5);
- :func:`gap_rows`: per image, the PSNR gap of ``ikc_t0`` and ``ikc`` to ``true_kernel`` (the
  generator given the true code) and the width errors, by the same method ``srkit bench gaussian8``
  runs, so their mean equals that bench's ``ikc − true_kernel``;
- :class:`IsotropicProjection`: a corrector whose outputs are moved to the nearest isotropic
  Gaussian's code (an oracle on the kernel family: Gaussian8's kernels are isotropic).

``bench/width_bias.py`` and ``bench/upper_bound_gap.py`` print these as tables.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


def gaussian8_lr_tensor(hr: np.ndarray, scale: int, sigma: float) -> torch.Tensor:
    """The Gaussian8 LR of uint8 ``hr`` as a 1×3×h×w tensor in [0, 1]."""
    from srkit.data.benchmarks import gaussian8_lr
    return torch.from_numpy(gaussian8_lr(hr, scale, sigma)).permute(2, 0, 1).unsqueeze(0).float().div(255)


@torch.no_grad()
def width_table(pipe, images: list[np.ndarray], scale: int, steps: int = 7) -> list[tuple[float, float, float]]:
    """(σ, mean width at t0, mean width at t = ``steps``) for each Gaussian8 width of ``scale``;
    widths in pixels of the HR grid (``srkit.kernels.kernel_width``)."""
    from srkit.kernels import gaussian8_sigmas, kernel_width
    rows = []
    for sigma in gaussian8_sigmas(scale):
        widths = []  # per image: (t0, t=steps)
        for hr in images:
            x = gaussian8_lr_tensor(hr, scale, sigma).to(pipe.device)
            codes = pipe.ikc(x, steps=steps, seg=pipe.segment(x)).codes
            widths.append(kernel_width(pipe.pca.decode(torch.cat([codes[0], codes[-1]]))).tolist())
        w0, wt = np.mean(widths, axis=0)
        rows.append((sigma, float(w0), float(wt)))
    return rows


@torch.no_grad()
def predictor_width_error(pipe, images: list[np.ndarray], scale: int) -> float:
    """Mean (P's width − σ) over the images and the Gaussian8 widths (P alone: no G, no C)."""
    from srkit.kernels import gaussian8_sigmas, kernel_width
    return float(np.mean([float(kernel_width(pipe.pca.decode(pipe.predictor(
        gaussian8_lr_tensor(hr, scale, sigma).to(pipe.device))))) - sigma
        for sigma in gaussian8_sigmas(scale) for hr in images]))


class IsotropicProjection(nn.Module):
    """A corrector whose every output is moved to the code of its nearest isotropic Gaussian."""

    def __init__(self, corrector: nn.Module, pca):
        super().__init__()
        self.corrector, self.pca = corrector, pca

    def forward(self, sr: torch.Tensor, code: torch.Tensor, **kwargs) -> torch.Tensor:
        from srkit.kernels import gaussian_kernels
        sigma = self.pca.isotropic_width(self.corrector(sr, code, **kwargs)).to(code)  # N
        kernels = gaussian_kernels(sigma, sigma, torch.zeros_like(sigma), self.pca.meta.kernel_size)
        return self.pca.encode(kernels).to(code)  # N×b


GAP_KEYS = ("true_kernel", "gap_t0", "gap", "width_t0", "width_t", "iso_t0", "iso_t")


def gap_rows(method, images, scale: int) -> list[dict[str, float]]:
    """Per image (a ``BenchImage``): means over the Gaussian8 widths of ``true_kernel`` PSNR, the gaps
    ``ikc_t0 − true_kernel`` and ``ikc − true_kernel`` (dB), and the second-moment and
    nearest-Gaussian width errors at t0 and t (pixels). ``method``: a Gaussian8 method
    (``srkit.evaluation.gaussian8.pipeline_method``)."""
    from srkit.data.benchmarks import gaussian8_lr
    from srkit.kernels import gaussian8_sigmas
    from srkit.metrics import evaluate_pair
    rows = []
    for im in images:
        per_sigma = []
        for sigma in gaussian8_sigmas(scale):
            ctx = {"sigma": sigma, "extra": {}}
            out = method(gaussian8_lr(im.hr, scale, sigma), scale, ctx)
            psnr = {k: evaluate_pair(out[k], im.hr, scale, gray=im.gray)["psnr"] for k in ("true_kernel", "ikc_t0", "ikc")}
            w = ctx["extra"]["width_error"][str(scale)][0]
            iso = ctx["extra"]["iso_width_error"][str(scale)][0]
            per_sigma.append([psnr["true_kernel"], psnr["ikc_t0"] - psnr["true_kernel"],
                              psnr["ikc"] - psnr["true_kernel"], w[0], w[-1], iso[0], iso[-1]])
        rows.append(dict(zip(GAP_KEYS, np.mean(per_sigma, axis=0).tolist())))
    return rows
