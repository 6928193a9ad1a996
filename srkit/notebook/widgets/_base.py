"""The base of every srkit widget: plain-Python state and drawing, ipywidgets only as a thin shell.

A panel keeps its parameters in ``self.params``; ``update(**changes)`` recomputes what changed,
redraws ``self.figure`` (a matplotlib ``Figure`` drawn by Agg, so no pyplot state and no GUI backend)
and returns ``self.state``. Tests call ``update`` directly; in a notebook ``panel.ui`` (or just
displaying the panel) builds sliders whose callbacks call the same ``update`` and show the figure as
a PNG in an ``ipywidgets.Image`` (renders in JupyterLab, VS Code and nbconvert alike).
"""
from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure


class Panel:
    """A figure plus the controls that drive it.

    Subclasses set ``css_class``, fill ``self.params`` in ``__init__``, and implement
    ``compute()`` (update ``self.state`` from ``self.params``), ``draw()`` (fill ``self.figure``)
    and ``controls()`` (name → ipywidget, each named after a parameter).
    """

    css_class = "srkit-panel"
    figsize = (12, 3)

    def __init__(self):
        self.params: dict = {}
        self.state: dict = {}
        self.figure = Figure(figsize=self.figsize, dpi=80, layout="constrained")
        self._image = None
        self._ui = None
        self._extra = None

    # -- logic (no browser needed) ----------------------------------------------------------------
    def update(self, **changes) -> dict:
        """Set parameters, recompute, redraw; returns ``self.state``."""
        unknown = sorted(set(changes) - set(self.params))
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown parameters {unknown}; known: {sorted(self.params)}")
        self.params.update(changes)
        self.compute()
        self.redraw()
        return self.state

    def redraw(self) -> None:
        self.figure.clear()
        self.draw()
        if self._image is not None:
            self._image.value = self.png()
        self.refresh_extra()

    def png(self) -> bytes:
        """The current figure as PNG bytes."""
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png")
        return buf.getvalue()

    def compute(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def draw(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def controls(self) -> dict:
        return {}

    def extra(self):
        """An optional widget shown under the figure (e.g. a metrics table); None for none."""
        return None

    def refresh_extra(self) -> None:
        pass

    # -- notebook shell ---------------------------------------------------------------------------
    @property
    def ui(self):
        """The ipywidgets box: controls, the figure image, the optional extra widget."""
        if self._ui is None:
            import ipywidgets as W
            ctrls = self.controls()
            for name, widget in ctrls.items():
                widget.observe(lambda change, name=name: self.update(**{name: change["new"]}), names="value")
            self._image = W.Image(value=self.png(), format="png", layout=W.Layout(max_width="100%"))
            self._image.add_class("srkit-figure")
            self._extra = self.extra()
            children = [W.HBox(list(ctrls.values()), layout=W.Layout(flex_flow="row wrap")), self._image]
            if self._extra is not None:
                children.append(self._extra)
            self._ui = W.VBox(children)
            self._ui.add_class("srkit-widget")
            self._ui.add_class(self.css_class)
            self.refresh_extra()
        return self._ui

    def _ipython_display_(self):
        from IPython.display import display
        display(self.ui)


def show_image(ax, img, title: str | None = None, fontsize: float = 10, **kwargs) -> None:
    """imshow without ticks (nearest-neighbour: pixels stay pixels); img H×W×3 or H×W (uint8 or
    float [0, 1])."""
    a = np.asarray(img)
    if a.dtype != np.uint8 and a.ndim == 3:
        a = np.clip(a, 0, 1)
    ax.imshow(a, interpolation="nearest", **kwargs)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize)


def category_key(target, labels=None, ncol: int = 5, fontsize: float = 8, **kwargs):
    """The colour key of overlays and label images: a legend of category-colour patches.

    Args:
        target: a matplotlib Figure or Axes (``fig.legend`` / ``ax.legend``).
        labels: int category maps (any shapes) or category indices whose categories are listed;
            None (default) lists all 10. Negative values (ignored pixels) are skipped.
        ncol: legend columns (default 5); other keyword arguments go to ``legend``.

    Returns the Legend, whose texts are the category names in ``srkit.categories`` order.
    """
    from matplotlib.patches import Patch

    from srkit.categories import CATEGORIES, CATEGORY_COLORS
    if labels is None:
        present = range(len(CATEGORIES))
    else:
        arrays = labels if isinstance(labels, (list, tuple)) else [labels]
        values = np.unique(np.concatenate([np.asarray(a, dtype=np.int64).ravel() for a in arrays] or [[]]))
        present = [int(v) for v in values if 0 <= v < len(CATEGORIES)]
    handles = [Patch(facecolor=CATEGORY_COLORS[i], edgecolor="black", linewidth=0.5, label=CATEGORIES[i])
               for i in present]
    return target.legend(handles=handles, ncol=max(1, min(ncol, len(handles))), fontsize=fontsize,
                         frameon=False, **kwargs)


def to_hwc(t) -> np.ndarray:
    """A 3×H×W / 1×3×H×W tensor or H×W×3 array → float32 H×W×3 numpy array."""
    import torch
    if isinstance(t, torch.Tensor):
        t = t.detach().float().cpu()
        if t.dim() == 4:
            t = t[0]
        return t.permute(1, 2, 0).numpy()
    a = np.asarray(t)
    return a.astype(np.float32) / 255 if a.dtype == np.uint8 else a.astype(np.float32)


def nearest_up(img: np.ndarray, factor: int) -> np.ndarray:
    """Pixel replication (shows LR pixels at HR size without inventing detail)."""
    return np.repeat(np.repeat(img, factor, 0), factor, 1)
