"""Kernel explorer: the degradation of paper eq. 7, LR = (k ⊗ HR)↓s + n (+ JPEG), one slider at a time.

Shows the kernel, its IKC code (PCA, b = 10) as bars, the kernel rebuilt from that code, the HR image
and the LR result. The PCA is fit on isotropic Gaussians (the paper's setting), so anisotropic and
motion kernels are rebuilt badly: that is the paper's stated limit, visible in the third panel.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from srkit.notebook.widgets._base import Panel, nearest_up, show_image, to_hwc

KINDS = ("isotropic", "anisotropic", "motion")


class KernelExplorer(Panel):
    """Sliders → kernel, PCA code, reconstruction, LR.

    Args:
        image: HR image (uint8 or float H×W×3); default: the astronaut's face.
        scale: 2, 3 or 4.
        pca: KernelPCA defining the code (default: fit on the scale's isotropic range, seed 0).
        seed: noise seed (the same noise pattern for every slider position).

    Parameters (``update`` keywords / slider names): kind ('isotropic', 'anisotropic', 'motion'),
    sigma, sigma_x, sigma_y, theta (degrees), length (pixels), angle (degrees), noise (σn on 0–255),
    jpeg (quality 1–100, 0 = off).
    """

    css_class = "srkit-kernel-explorer"
    figsize = (13, 2.9)

    def __init__(self, image=None, scale: int = 4, pca=None, seed: int = 0):
        super().__init__()
        from srkit.kernels import KernelPCA
        if image is None:
            from srkit.data.samples import sample_image
            image = sample_image("face", multiple=scale)
        hr = to_hwc(image)
        h, w = hr.shape[:2]
        self.hr = np.ascontiguousarray(hr[:h - h % scale, :w - w % scale])
        self.scale, self.seed = scale, seed
        self.pca = pca if pca is not None else KernelPCA.fit(scale, n=5000, seed=0)
        self.params = dict(kind="isotropic", sigma=min(2.0, scale / 2 + 0.4), sigma_x=2.0, sigma_y=0.6,
                           theta=30.0, length=9.0, angle=0.0, noise=0.0, jpeg=0)
        self.update()

    def kernel(self) -> torch.Tensor:
        """The current 21×21 kernel."""
        from srkit.kernels import gaussian_kernel, motion_kernel
        p = self.params
        if p["kind"] == "isotropic":
            return gaussian_kernel(float(p["sigma"]))
        if p["kind"] == "anisotropic":
            return gaussian_kernel(sigma_x=float(p["sigma_x"]), sigma_y=float(p["sigma_y"]),
                                   theta=math.radians(float(p["theta"])))
        if p["kind"] == "motion":
            return motion_kernel(float(p["length"]), math.radians(float(p["angle"])))
        raise ValueError(f"kind must be one of {KINDS}, got {p['kind']!r}")

    def compute(self) -> None:
        from srkit.degrade import degrade
        k = self.kernel()
        code = self.pca.encode(k[None])[0]
        rec = self.pca.decode(code[None])[0]
        hr = torch.from_numpy(self.hr).permute(2, 0, 1)[None]
        d = degrade(hr, self.scale, kernels=k, noise_sigma=float(self.params["noise"]),
                    jpeg_quality=int(self.params["jpeg"]), seed=self.seed)
        self.state = {"kernel": k.numpy(), "code": code.numpy(), "reconstruction": rec.numpy(),
                      "rec_error": float((rec - k).abs().max()), "lr": to_hwc(d.lr)}

    def draw(self) -> None:
        st, p = self.state, self.params
        axes = self.figure.subplots(1, 5, gridspec_kw={"width_ratios": [1, 1.3, 1, 1.4, 1.4]})
        vmax = float(st["kernel"].max())
        show_image(axes[0], st["kernel"], f"kernel ({p['kind']})", cmap="magma", vmin=0, vmax=vmax)
        b = len(st["code"])
        axes[1].bar(np.arange(1, b + 1), st["code"], color="tab:blue")
        axes[1].axhline(0, color="k", lw=0.5)
        axes[1].set_title(f"PCA code h (b = {b})", fontsize=9)
        axes[1].set_xticks(range(1, b + 1))
        axes[1].tick_params(labelsize=7)
        show_image(axes[2], st["reconstruction"], f"rebuilt from h (max err {st['rec_error']:.3f})",
                   cmap="magma", vmin=0, vmax=vmax)
        show_image(axes[3], self.hr, "HR")
        noise = f", σn {p['noise']:.0f}" if p["noise"] else ""
        jpg = f", JPEG q{int(p['jpeg'])}" if p["jpeg"] else ""
        show_image(axes[4], nearest_up(st["lr"], self.scale), f"LR ×1/{self.scale}{noise}{jpg}")

    def controls(self) -> dict:
        import ipywidgets as W
        p = self.params
        fs = lambda name, lo, hi, step, desc: W.FloatSlider(  # noqa: E731
            value=p[name], min=lo, max=hi, step=step, description=desc, continuous_update=False,
            style={"description_width": "80px"}, layout=W.Layout(width="320px"))
        return {
            "kind": W.ToggleButtons(options=KINDS, value=p["kind"], description="kernel"),
            "sigma": fs("sigma", 0.2, 4.0, 0.1, "σ"),
            "sigma_x": fs("sigma_x", 0.2, 4.0, 0.1, "σx"), "sigma_y": fs("sigma_y", 0.2, 4.0, 0.1, "σy"),
            "theta": fs("theta", 0, 180, 5, "θ (°)"),
            "length": fs("length", 1, 21, 1, "motion px"), "angle": fs("angle", 0, 180, 5, "angle (°)"),
            "noise": fs("noise", 0, 30, 1, "noise σn"),
            "jpeg": W.IntSlider(value=p["jpeg"], min=0, max=100, step=5, description="JPEG q",
                                continuous_update=False, style={"description_width": "80px"},
                                layout=W.Layout(width="320px")),
        }
