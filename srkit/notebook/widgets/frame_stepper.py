"""Frame stepper: a clip's frame t from several methods side by side, and what changed since t − 1.

The top row shows frame t of each clip (ground truth, bicubic, single-frame, multi-frame …), the
bottom row |frame t − frame t − 1| on the Y channel, every panel on the same colour scale, so detail
that is redrawn from frame to frame (flicker) shows up as extra change against the ground truth's.
"""
from __future__ import annotations

import numpy as np

from srkit.evaluation.temporal import luma  # BT.601 Y on 0–255 levels, as the metrics use
from srkit.notebook.widgets._base import Panel, show_image


class FrameStepper(Panel):
    """A frame slider over clips of equal length.

    Args:
        clips: {label: uint8 T×H×W×3 frames}, all of one size and length (≥ 2 frames).
        crop: (top, left, height, width) HR pixels to show (default the whole frame).
        change_max: top of the colour scale of the change row, in Y levels (default 40).

    Parameters: t (0 … T − 1; at t = 0 the change row is blank).
    State: t, and ``change``: {label: mean |ΔY| between frames t − 1 and t over the crop}.
    """

    css_class = "srkit-frame-stepper"

    def __init__(self, clips: dict[str, np.ndarray], crop: tuple[int, int, int, int] | None = None,
                 change_max: float = 40.0):
        super().__init__()
        if not clips:
            raise ValueError("FrameStepper needs at least one clip")
        shapes = {label: np.asarray(c).shape for label, c in clips.items()}
        first = next(iter(shapes.values()))
        if len(first) != 4 or first[0] < 2 or first[3] != 3 or any(s != first for s in shapes.values()):
            raise ValueError(f"FrameStepper needs clips of one shape T×H×W×3 with T >= 2, got {shapes}")
        self.clips = {label: np.asarray(c) for label, c in clips.items()}
        self.frames = first[0]
        top, left, h, w = crop or (0, 0, first[1], first[2])
        self.window = (slice(top, top + h), slice(left, left + w))
        self.change_max = change_max
        self.figsize = (2.6 * len(clips), 5.0)
        self.figure.set_size_inches(*self.figsize)
        self.params = {"t": 1}
        self.update()

    def compute(self) -> None:
        t = int(self.params["t"])
        if not 0 <= t < self.frames:
            raise ValueError(f"t must be in [0, {self.frames - 1}], got {t}")
        rows, cols = self.window
        change = {}
        for label, clip in self.clips.items():
            change[label] = (float(np.abs(luma(clip[t, rows, cols]) - luma(clip[t - 1, rows, cols])).mean())
                             if t else 0.0)
        self.state = {"t": t, "change": change}

    def draw(self) -> None:
        t, rows, cols = self.state["t"], *self.window
        axes = self.figure.subplots(2, len(self.clips), squeeze=False)
        for i, (label, clip) in enumerate(self.clips.items()):
            show_image(axes[0, i], clip[t, rows, cols], f"{label}\nframe {t}", fontsize=9)
            diff = np.abs(luma(clip[t, rows, cols]) - luma(clip[t - 1, rows, cols])) if t else \
                np.zeros(clip.shape[1:3])[rows, cols]
            im = axes[1, i].imshow(diff, cmap="magma", vmin=0, vmax=self.change_max, interpolation="nearest")
            axes[1, i].set_xticks([])
            axes[1, i].set_yticks([])
            axes[1, i].set_title(f"|ΔY| frame {t - 1}→{t}: {self.state['change'][label]:.2f}" if t else
                                 "|ΔY| (none at frame 0)", fontsize=8)
        self.figure.colorbar(im, ax=axes[1, :].tolist(), shrink=0.8, label="|ΔY| (levels)")

    def controls(self) -> dict:
        import ipywidgets as W
        return {"t": W.IntSlider(value=self.params["t"], min=0, max=self.frames - 1, description="frame t",
                                 continuous_update=False)}
