"""Category explorer: the segmentation condition ψ (paper eq. 3) and what it does to the texture.

Top row: the LR input, the argmax overlay of the shown classes, SR with the network's ψ, SR with one
class's probability overridden, and their difference. Bottom row: the K per-class probability maps.
Overriding means ψ' = (1 − a)·ψ + a·onehot(class) everywhere: a = 1 tells the generator "this whole
image is <class>", which changes the texture it synthesises (SFT-GAN's Fig. 1 experiment).
"""
from __future__ import annotations

import numpy as np
import torch

from srkit.categories import CATEGORIES, CATEGORY_COLORS, CATEGORY_INDEX
from srkit.notebook.widgets._base import Panel, category_key, show_image, to_hwc

COLORS = np.array(CATEGORY_COLORS)


def overlay(image: np.ndarray, probs: np.ndarray, shown=None, alpha: float = 0.5) -> np.ndarray:
    """Blend the argmax class colour over ``image`` (H×W×3 float) where that class is in ``shown``."""
    label = probs.argmax(0)
    shown = range(len(probs)) if shown is None else shown
    mask = np.isin(label, list(shown))[..., None]
    return np.where(mask, (1 - alpha) * image + alpha * COLORS[label], image).astype(np.float32)


def override_probs(probs: torch.Tensor, cls: int, strength: float) -> torch.Tensor:
    """ψ' = (1 − a)·ψ + a·onehot(cls) for N×K×h×w probabilities (still sums to 1 over K)."""
    onehot = torch.zeros_like(probs)
    onehot[:, cls] = 1
    return (1 - strength) * probs + strength * onehot


class CategoryExplorer(Panel):
    """Per-class probability maps, overlay, toggles and a probability override that re-runs SR.

    Args:
        pipeline: a Pipeline whose generator uses segmentation (SFT-GAN / SFTconcat) and has a segnet.
        lr: LR image (uint8/float H×W×3 or 3×h×w tensor in [0, 1]).
        probs: optional K×h×w probabilities to use instead of the segnet's (e.g. ground-truth one-hot).
        steps: IKC steps when the generator also uses the kernel code.
        precision: the SR passes in 'fp32' (default), 'bf16' or 'auto' (``srkit.precision``); the
            kernel estimate and the probabilities stay fp32, so fp32 and bf16 outputs differ only by
            the generator's precision.

    Parameters: shown (tuple of class names on the overlay and maps), override (class name or
    'none'), strength (a in [0, 1]).
    """

    css_class = "srkit-category-explorer"
    figsize = (13, 5.2)

    def __init__(self, pipeline, lr, probs=None, steps: int = 7, precision: str = "fp32"):
        from srkit.precision import resolve
        super().__init__()
        self.pipeline, self.steps = pipeline, steps
        self.precision = resolve(precision, pipeline.device)
        self.lr = to_hwc(lr)
        x = torch.from_numpy(self.lr).permute(2, 0, 1)[None].to(pipeline.device)
        self._lr_t = x
        if probs is None:
            if pipeline.segnet is None:
                raise ValueError("CategoryExplorer needs a pipeline with a segnet, or probs=")
            with torch.no_grad():
                probs = pipeline.segnet(x)
        probs = torch.as_tensor(probs, dtype=torch.float32)
        self.probs = (probs[None] if probs.dim() == 3 else probs).to(pipeline.device)
        self.uses_seg = bool(pipeline.generator.cfg.use_seg)
        self.code = None
        if pipeline.generator.cfg.use_kernel:  # one kernel estimate, shared by base and override
            self.code = pipeline.ikc(x, steps, seg=self.probs if self.uses_seg else None).code
        self.sr_base = self._sr(self.probs)
        self.params = dict(shown=tuple(CATEGORIES), override="none", strength=1.0)
        self.update()

    def _sr(self, probs: torch.Tensor) -> np.ndarray:
        # Pipeline.upscale with the code and ψ given: the generator pass, checked like every output
        from srkit.precision import autocast
        with torch.no_grad(), autocast(self.pipeline.device, self.precision):
            sr = self.pipeline.upscale(self._lr_t, code=self.code, seg=probs, name="category explorer")
        return to_hwc(sr)

    def compute(self) -> None:
        p = self.params
        shown = [CATEGORY_INDEX[c] for c in p["shown"]]
        probs = self.probs
        if p["override"] != "none":
            probs = override_probs(self.probs, CATEGORY_INDEX[p["override"]], float(p["strength"]))
            sr = self._sr(probs)
        else:
            sr = self.sr_base
        diff = np.abs(sr - self.sr_base).mean(2)
        psi = self.probs[0].cpu().numpy()
        self.state = {"probs": psi, "shown": shown, "overlay": overlay(self.lr, psi, shown),
                      "sr": sr, "sr_base": self.sr_base, "diff": diff, "mean_abs_change": float(diff.mean()),
                      "class_share": {c: float((psi.argmax(0) == i).mean()) for i, c in enumerate(CATEGORIES)},
                      "change_by_class": self._change_by_class(diff, psi.argmax(0))}

    def effect_line(self) -> str:
        """One sentence on what the current override measurably did to the SR (8-bit levels, 0–255):
        the mean |change| over the image, its largest region, and, under one level on average, that
        the generator barely uses the maps."""
        st, p = self.state, self.params
        if p["override"] == "none" or p["strength"] == 0:
            return "no override: the SR uses the segmenter's ψ as it is"
        if not self.uses_seg:
            return f"override {p['override']}: this generator does not read ψ (no change)"
        mean = 255 * st["mean_abs_change"]
        top = max(st["change_by_class"].items(), key=lambda kv: kv[1])
        line = (f"override ψ ← {p['strength']:.2f}·{p['override']}: mean |change| {mean:.2f} of 255 levels "
                f"(largest in the {top[0]} region: {255 * top[1]:.2f}; max pixel {255 * float(st['diff'].max()):.1f})")
        if mean < 1.0:
            return line + "; under one level on average: this generator barely uses the maps"
        return line + "; a visible change of texture"

    def _change_by_class(self, diff: np.ndarray, label: np.ndarray) -> dict[str, float]:
        """Mean |change| over the SR pixels of each predicted (argmax) class present: where the override acts."""
        s = diff.shape[0] // label.shape[0]
        up = label.repeat(s, 0).repeat(s, 1)[: diff.shape[0], : diff.shape[1]]
        return {c: float(diff[up == i].mean()) for i, c in enumerate(CATEGORIES) if (up == i).any()}

    def draw(self) -> None:
        st, p = self.state, self.params
        grid = self.figure.add_gridspec(2, len(CATEGORIES), height_ratios=[2.2, 1])
        span = len(CATEGORIES) // 5
        top = [self.figure.add_subplot(grid[0, i * span:(i + 1) * span]) for i in range(5)]
        show_image(top[0], self.lr, "LR input")
        show_image(top[1], st["overlay"], "argmax overlay (shown classes)")
        shown_present = [i for i in np.unique(st["probs"].argmax(0)) if i in st["shown"]]
        category_key(top[1], shown_present, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.02))
        show_image(top[2], st["sr_base"], "SR with ψ from the segnet")
        label = "no override" if p["override"] == "none" else f"ψ ← {p['strength']:.2f}·{p['override']}"
        show_image(top[3], st["sr"], f"SR, {label}")
        # The change is small next to the picture's range: scaled so its largest value is bright,
        # with a colour bar in the picture's own units (0–1 intensity) so the scale is readable.
        vmax = max(float(st["diff"].max()), 1e-3)
        note = "" if self.uses_seg else " (generator ignores ψ)"
        show_image(top[4], st["diff"], f"|change|, mean {st['mean_abs_change']:.4f}{note}",
                   cmap="inferno", vmin=0, vmax=vmax)
        self.figure.colorbar(top[4].images[0], ax=top[4], fraction=0.046, pad=0.02)
        maps = []
        for i, name in enumerate(CATEGORIES):
            ax = self.figure.add_subplot(grid[1, i])
            on = i in st["shown"]
            show_image(ax, st["probs"][i] if on else np.zeros_like(st["probs"][i]),
                       name if on else f"({name})", cmap="viridis", vmin=0, vmax=1)
            maps.append(ax)
        bar = self.figure.colorbar(maps[-1].images[0], ax=maps, fraction=0.015, pad=0.01)
        bar.set_label("ψ (probability)")

    def controls(self) -> dict:
        import ipywidgets as W
        p = self.params
        return {
            "shown": W.SelectMultiple(options=CATEGORIES, value=p["shown"], rows=5, description="show"),
            "override": W.Dropdown(options=("none",) + CATEGORIES, value=p["override"], description="override"),
            "strength": W.FloatSlider(value=p["strength"], min=0, max=1, step=0.05, description="strength",
                                      continuous_update=False),
        }
