"""IKC stepper: watch the iterative kernel correction (paper Fig. 1–2) one step at a time.

The LR image is made with a known kernel; IKC starts from a deliberately wrong kernel (by default
twice or half the true width: from the predictor's estimate, which is already close, steps 0 and 7
look alike) and the corrector refines it for t steps. The slider picks a step t: SR_t, the kernel decoded from h_t beside the true one, and the
code-error and PSNR curves with step t marked. Results are reported at a fixed t (docs/DESIGN.md §2);
nothing here picks a best step with the ground truth.
"""
from __future__ import annotations

import numpy as np
import torch

from srkit.notebook.widgets._base import Panel, show_image, to_hwc
from srkit.imageio import to_uint8


class IKCStepper(Panel):
    """A step slider over a precomputed IKC run.

    Args:
        pipeline: a Pipeline with predictor, corrector and PCA (kernel-conditioned generator).
        hr: HR image (uint8 H×W×3, sides multiples of the scale).
        kernel: the true 21×21 kernel (tensor); default an isotropic Gaussian in the middle of the
            Gaussian8 range for the pipeline's scale.
        steps: corrections t to run (default 7).
        noise: noise level σn (0–255) of the LR.
        crop: side of the SR crop shown (HR pixels; 0 = whole image).
        start: where h0 comes from: 'mismatched' (default: an isotropic Gaussian of twice the true
            width, or half of it when twice leaves the scale's training range), 'predictor' (P's
            estimate, as at inference) or a width σ to start from.

    Parameters: t (0 … steps).
    """

    css_class = "srkit-ikc-stepper"
    figsize = (13, 2.9)

    def __init__(self, pipeline, hr, kernel=None, steps: int = 7, noise: float = 0.0, crop: int = 96,
                 start: str | float = "mismatched"):
        super().__init__()
        from srkit.degrade import degrade_uint8
        from srkit.kernels import SIGMA_RANGES, gaussian8_middle, gaussian_kernel, kernel_width
        from srkit.metrics import evaluate_pair
        s = pipeline.scale
        if kernel is None:
            kernel = gaussian_kernel(gaussian8_middle(s))
        self.hr = to_uint8(hr)
        h, w = self.hr.shape[:2]
        self.hr = np.ascontiguousarray(self.hr[:h - h % s, :w - w % s])
        lr = degrade_uint8(self.hr, s, kernel=kernel, noise=noise, seed=0)
        self.lr = (torch.from_numpy(lr).permute(2, 0, 1)[None].float() / 255).to(pipeline.device)
        self.kernel = kernel.numpy()
        pca = pipeline.pca
        self.true_code = pca.encode(kernel[None].to(pca.matrix.device))
        if start == "predictor":
            self.start_sigma, start_code = None, None
        else:
            if start == "mismatched":
                true = float(kernel_width(kernel))
                lo, hi = SIGMA_RANGES[s]
                start = 2 * true if 2 * true <= hi else max(true / 2, lo)
            self.start_sigma = float(start)
            start_code = pca.encode(gaussian_kernel(self.start_sigma)[None].to(pca.matrix.device))
        res = pipeline.ikc(self.lr, steps, start_code=start_code)
        self.srs = [to_uint8(sr.clamp(0, 1)) for sr in res.srs]
        codes = torch.cat(res.codes)                                    # (t+1)×b
        self.est_kernels = pca.decode(codes).cpu().numpy()
        self.code_error = (codes - self.true_code).norm(dim=1).cpu().numpy()
        self.kernel_error = np.abs(self.est_kernels - self.kernel[None]).reshape(len(codes), -1).sum(1)
        self.psnr = np.array([evaluate_pair(sr, self.hr, s)["psnr"] for sr in self.srs])
        self.ssim = np.array([evaluate_pair(sr, self.hr, s)["ssim"] for sr in self.srs])
        with torch.no_grad():  # the upper bound: G with the true kernel's code
            seg = pipeline.segment(self.lr)
            sr_true = pipeline.generator(self.lr, self.true_code.to(self.lr.device), seg).clamp(0, 1)
        self.psnr_true_kernel = evaluate_pair(to_uint8(sr_true), self.hr, s)["psnr"]
        self.crop = crop
        self.steps = steps
        self.params = {"t": steps}
        self.update()

    def compute(self) -> None:
        t = int(self.params["t"])
        if not 0 <= t <= self.steps:
            raise ValueError(f"t must be in [0, {self.steps}], got {t}")
        self.state = {"t": t, "sr": self.srs[t], "est_kernel": self.est_kernels[t],
                      "code_error": float(self.code_error[t]), "psnr": float(self.psnr[t]),
                      "ssim": float(self.ssim[t])}

    def _crop(self, img):
        if not self.crop:
            return img
        h, w = img.shape[:2]
        c = min(self.crop, h, w)
        return img[(h - c) // 2:(h - c) // 2 + c, (w - c) // 2:(w - c) // 2 + c]

    def draw(self) -> None:
        st, t = self.state, self.state["t"]
        ax = self.figure.subplots(1, 5, gridspec_kw={"width_ratios": [1.2, 1, 1, 1.4, 1.4]})
        show_image(ax[0], self._crop(st["sr"]), f"SR at step t = {t}")
        vmax = float(max(self.kernel.max(), st["est_kernel"].max()))
        show_image(ax[1], st["est_kernel"], f"estimated kernel (t = {t})", cmap="magma", vmin=0, vmax=vmax)
        show_image(ax[2], self.kernel, "true kernel", cmap="magma", vmin=0, vmax=vmax)
        steps = np.arange(self.steps + 1)
        ax[3].plot(steps, self.code_error, "o-", ms=3)
        ax[3].plot([t], [self.code_error[t]], "o", color="tab:red", ms=8)
        ax[3].set_title("‖h_t − h_true‖", fontsize=9)
        ax[3].set_xlabel("step t", fontsize=8)
        ax[4].plot(steps, self.psnr, "o-", ms=3, label="IKC step t")
        ax[4].axhline(self.psnr_true_kernel, color="tab:green", ls="--", lw=1, label="true kernel")
        ax[4].plot([t], [self.psnr[t]], "o", color="tab:red", ms=8)
        ax[4].set_title(f"PSNR (Y) = {st['psnr']:.2f} dB at t = {t}", fontsize=10)
        ax[4].set_xlabel("step t", fontsize=9)
        lo = min(self.psnr.min(), self.psnr_true_kernel)
        hi = max(self.psnr.max(), self.psnr_true_kernel)
        if hi - lo < 1.0:  # never draw a few hundredths of a dB as if they were large
            mid = (hi + lo) / 2
            lo, hi = mid - 0.5, mid + 0.5
        ax[4].set_ylim(lo - 0.1, hi + 0.1)
        ax[4].legend(fontsize=8)
        start = "P's estimate" if self.start_sigma is None else f"σ = {self.start_sigma:.2f}"
        ax[3].set_xlabel(f"step t (h0: {start})", fontsize=9)
        for a in ax[3:]:
            a.tick_params(labelsize=8)

    def controls(self) -> dict:
        import ipywidgets as W
        return {"t": W.IntSlider(value=self.params["t"], min=0, max=self.steps, description="step t",
                                 continuous_update=False)}
