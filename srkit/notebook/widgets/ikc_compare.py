"""IKC steps of several kernel-conditioned variants under one step slider (notebook 05).

One :class:`IKCStepper` run per variant and start (P's estimate, as at inference, or a deliberately
wrong width), all on the same LR. The slider picks t = 0 … T; each variant's row shows SR_t, the
kernel decoded from h_t beside the true one, and its PSNR over t with step t marked (dashed: the
generator given the true kernel). :meth:`IKCComparison.sentences` says what each PSNR curve does, in
words computed from the same numbers (``srkit.notebook.narrate``).
"""
from __future__ import annotations

import numpy as np
import torch

from srkit.kernels import kernel_width
from srkit.notebook.narrate import ikc_steps_sentence
from srkit.notebook.widgets._base import Panel, show_image
from srkit.notebook.widgets.ikc_stepper import IKCStepper

STARTS = ("predictor", "mismatched")


class IKCComparison(Panel):
    """A step slider over the IKC runs of several variants on one LR image.

    Args:
        pipelines: {variant name: Pipeline with predictor, corrector, PCA and a kernel-conditioned
            generator}, e.g. SFTMD and SFTconcat of the ablation set.
        hr: HR image (uint8 H×W×3).
        steps: corrections T (default 7, the step results are reported at).
        crop: side of the SR crop shown (HR pixels, centred; 0 = whole image).
        starts: where h0 comes from, any of 'predictor' (P's estimate, as at inference; the default
            view) and 'mismatched' (twice or half the true width: what the corrector does from a bad start).
        kernel, noise: the LR's true kernel and noise σn (``IKCStepper``'s defaults: the scale's
            middle Gaussian8 width, no noise).
        progress: show a progress bar over the runs (variants × starts).

    Parameters: t (0 … steps), start (one of ``starts``).
    """

    css_class = "srkit-ikc-comparison"

    def __init__(self, pipelines: dict, hr, steps: int = 7, crop: int = 64, starts=STARTS, kernel=None,
                 noise: float = 0.0, progress: bool = False):
        if not pipelines:
            raise ValueError("IKCComparison needs at least one pipeline")
        bad = [n for n, p in pipelines.items() if getattr(p, "predictor", None) is None
               or not p.generator.cfg.use_kernel]
        if bad:
            raise ValueError(f"IKCComparison: {', '.join(bad)} has no predictor/corrector or a generator "
                             "without the kernel condition; only kernel-conditioned variants run IKC")
        unknown = sorted(set(starts) - set(STARTS))
        if unknown or not starts:
            raise ValueError(f"starts must be among {STARTS}, got {tuple(starts)}")
        self.figsize = (12, 2.6 * len(pipelines))
        super().__init__()
        self.names, self.starts, self.steps = list(pipelines), tuple(starts), int(steps)
        todo = [(n, s) for n in pipelines for s in self.starts]
        if progress:  # each run is T + 2 generator passes at full size: seconds each on a CPU
            from tqdm.auto import tqdm
            todo = tqdm(todo, desc="IKC runs (variant × start)", unit="run")
        self.runs = {(n, s): IKCStepper(pipelines[n], hr, kernel=kernel, steps=steps, noise=noise, crop=crop, start=s)
                     for n, s in todo}
        self.params = {"t": self.steps, "start": self.starts[0]}
        self.update()

    def start_label(self, name: str, start: str) -> str:
        """Where h0 came from, in words: "P's estimate" or "σ = 0.60 (0.5 × the true 1.20)"."""
        run = self.runs[(name, start)]
        if run.start_sigma is None:
            return "P's estimate"
        true = float(kernel_width(torch.from_numpy(run.kernel)))
        return f"σ = {run.start_sigma:.2f} ({run.start_sigma / true:.2g} × the true {true:.2f})"

    def compute(self) -> None:
        t, start = int(self.params["t"]), self.params["start"]
        if not 0 <= t <= self.steps:
            raise ValueError(f"t must be in [0, {self.steps}], got {t}")
        if start not in self.starts:
            raise ValueError(f"start must be one of {self.starts}, got {start!r}")
        rows = {}
        for n in self.names:
            r = self.runs[(n, start)]
            rows[n] = {"psnr": float(r.psnr[t]), "ssim": float(r.ssim[t]), "code_error": float(r.code_error[t]),
                       "psnr_true_kernel": float(r.psnr_true_kernel)}
        self.state = {"t": t, "start": start, "rows": rows}

    def draw(self) -> None:
        t, start = self.state["t"], self.state["start"]
        axes = self.figure.subplots(len(self.names), 4, squeeze=False,
                                    gridspec_kw={"width_ratios": [1.2, 1, 1, 1.8]})
        steps = np.arange(self.steps + 1)
        for ax, n in zip(axes, self.names):
            r, st = self.runs[(n, start)], self.state["rows"][n]
            show_image(ax[0], r._crop(r.srs[t]), f"{n}: SR at t = {t}", fontsize=9)
            est = r.est_kernels[t]
            vmax = float(max(r.kernel.max(), est.max()))
            show_image(ax[1], est, f"estimate, ‖Δh‖ = {st['code_error']:.3f}", fontsize=9, cmap="magma",
                       vmin=0, vmax=vmax)
            show_image(ax[2], r.kernel, "true kernel", fontsize=9, cmap="magma", vmin=0, vmax=vmax)
            ax[3].plot(steps, r.psnr, "o-", ms=3, label="IKC step t")
            ax[3].axhline(r.psnr_true_kernel, color="tab:green", ls="--", lw=1, label="true kernel")
            ax[3].plot([t], [r.psnr[t]], "o", color="tab:red", ms=8)
            ax[3].set_title(f"PSNR (Y) = {st['psnr']:.2f} dB at t = {t}", fontsize=9)
            ax[3].set_xlabel(f"step t (h0: {self.start_label(n, start)})", fontsize=8)
            ax[3].set_ylabel("dB", fontsize=8)
            ax[3].tick_params(labelsize=8)
            ax[3].legend(fontsize=7)

    def controls(self) -> dict:
        import ipywidgets as W
        return {"t": W.IntSlider(value=self.params["t"], min=0, max=self.steps, description="step t",
                                 continuous_update=False),
                "start": W.ToggleButtons(options=[(("h0 = P's estimate" if s == "predictor" else "h0 = wrong width"), s)
                                                  for s in self.starts], value=self.params["start"],
                                         description="start")}

    def psnr(self, name: str, start: str | None = None) -> np.ndarray:
        """PSNR (dB) of ``name`` over t = 0 … T from ``start`` (default: the first of ``starts``)."""
        return self.runs[(name, start or self.starts[0])].psnr

    def sentences(self) -> dict[tuple[str, str], str]:
        """{(variant, start): what its PSNR over t does}, computed from the measured PSNR and code error."""
        return {(n, s): ikc_steps_sentence(n, r.psnr, r.code_error, r.psnr_true_kernel, self.start_label(n, s))
                for (n, s), r in self.runs.items()}
