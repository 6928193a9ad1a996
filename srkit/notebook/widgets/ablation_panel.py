"""Ablation panel: several SR results of one image side by side, one zoom window for all of them.

Top row: each result whole, with the zoom window drawn on it; bottom row: the same crop of each
(pixel replication, so the crops compare pixels, not display interpolation). Under the figure a
table gives PSNR/SSIM on the whole image (the evaluation protocol of docs/DESIGN.md §2) and PSNR on the
crop, which follows the zoom.
"""
from __future__ import annotations

import numpy as np

from srkit.notebook.widgets._base import Panel, show_image
from srkit.imageio import to_uint8


def metrics_table(rows: list[dict], keys=("psnr", "ssim", "crop_psnr")) -> str:
    """rows of {"name", "psnr", "ssim", "crop_psnr"} → an HTML table (the notebook shows it)."""
    head = "".join(f"<th>{k}</th>" for k in ("method",) + tuple(keys))
    body = "".join("<tr><td>{}</td>{}</tr>".format(
        r["name"], "".join(f"<td>{r[k]:.4f}</td>" if k == "ssim" else f"<td>{r[k]:.2f}</td>" for k in keys))
        for r in rows)
    return f"<table class='srkit-metrics'><tr>{head}</tr>{body}</table>"


class AblationPanel(Panel):
    """Side-by-side results with a synchronised zoom and a metrics table.

    Args:
        hr: ground truth, uint8 H×W×3.
        results: name → SR image (uint8/float H×W×3 or tensor), all the size of ``hr``.
        scale: SR factor (the protocol shaves ``scale`` border pixels).
        crop: initial zoom window side (HR pixels).

    Parameters: x, y (top-left of the window, HR pixels), size (window side).
    """

    css_class = "srkit-ablation-panel"

    def __init__(self, hr, results: dict, scale: int, crop: int = 48):
        from srkit.metrics import evaluate_pair
        self.hr = to_uint8(hr)
        self.results = {name: to_uint8(img) for name, img in results.items()}
        for name, img in self.results.items():
            if img.shape != self.hr.shape:
                raise ValueError(f"result {name!r} has shape {img.shape}, HR has {self.hr.shape}")
        # about 1.8 in per column: a 7-column panel stays about 1000 px wide, so in a notebook (which
        # scales it to the page width) the 12-pt titles stay legible
        self.figsize = (1.8 * (len(results) + 1), 4.2)
        super().__init__()
        self.scale = scale
        self.full = {name: evaluate_pair(img, self.hr, scale) for name, img in self.results.items()}
        h, w = self.hr.shape[:2]
        crop = min(crop, h, w)
        self.params = {"x": (w - crop) // 2, "y": (h - crop) // 2, "size": crop}
        self._html = None
        self.update()

    @classmethod
    def from_models(cls, hr, models: dict, scale: int, sigma: float | None = None, noise: float = 0.0,
                    steps: int = 7, include_bicubic: bool = True, crop: int = 48, precision: str = "fp32"):
        """Degrade ``hr`` (isotropic Gaussian σ, default mid-Gaussian8; noise σn) and run every model.

        ``models`` maps a name to a Pipeline (or anything ``srkit.upscale`` takes); ``precision``
        ('fp32', 'bf16', 'auto') is passed to ``srkit.upscale``.
        """
        import srkit
        from srkit.degrade import degrade_uint8
        from srkit.resize import imresize_np
        hr = to_uint8(hr)
        lr = degrade_uint8(hr, scale, sigma=sigma, noise=noise, seed=0)
        results = {"bicubic": imresize_np(lr, scale)} if include_bicubic else {}
        for name, model in models.items():
            results[name] = srkit.upscale(lr, model, steps=steps, tile=0, precision=precision)
        return cls(hr, results, scale, crop)

    def _window(self):
        p, (h, w) = self.params, self.hr.shape[:2]
        size = int(max(8, min(p["size"], h, w)))
        x = int(np.clip(p["x"], 0, w - size))
        y = int(np.clip(p["y"], 0, h - size))
        return x, y, size

    def compute(self) -> None:
        from srkit.metrics import psnr
        x, y, size = self._window()
        sl = np.s_[y:y + size, x:x + size]
        crops = {"HR": self.hr[sl], **{n: img[sl] for n, img in self.results.items()}}
        rows = [{"name": n, "psnr": m["psnr"], "ssim": m["ssim"],
                 "crop_psnr": psnr(crops[n], crops["HR"])} for n, m in self.full.items()]
        self.state = {"window": (x, y, size), "crops": crops, "rows": rows}

    def draw(self) -> None:
        from matplotlib.patches import Rectangle
        x, y, size = self.state["window"]
        images = {"HR": self.hr, **self.results}
        ax = self.figure.subplots(2, len(images), squeeze=False)
        for i, (name, img) in enumerate(images.items()):
            title = name if name == "HR" else f"{name}\n{self.full[name]['psnr']:.2f} dB"
            show_image(ax[0, i], img, title, fontsize=12)
            ax[0, i].add_patch(Rectangle((x - 0.5, y - 0.5), size, size, fill=False, ec="yellow", lw=1.5))
            show_image(ax[1, i], self.state["crops"][name])

    def table_html(self) -> str:
        return metrics_table(self.state["rows"])

    def extra(self):
        import ipywidgets as W
        self._html = W.HTML(self.table_html())
        return self._html

    def refresh_extra(self) -> None:
        if self._html is not None:
            self._html.value = self.table_html()

    def controls(self) -> dict:
        import ipywidgets as W
        h, w = self.hr.shape[:2]
        p = self.params
        return {
            "x": W.IntSlider(value=p["x"], min=0, max=w - 8, description="zoom x", continuous_update=False),
            "y": W.IntSlider(value=p["y"], min=0, max=h - 8, description="zoom y", continuous_update=False),
            "size": W.IntSlider(value=p["size"], min=8, max=min(h, w), description="zoom size",
                                continuous_update=False),
        }
