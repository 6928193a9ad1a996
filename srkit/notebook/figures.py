"""Figures and tables for the notebooks: image grids, curves, markdown tables, README samples.

Figures are ``matplotlib.figure.Figure`` objects (no pyplot state): a notebook cell that ends with
one shows it (inline backend, PNG). Everything here is plain Python so the notebooks stay stories.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from srkit.notebook.widgets._base import category_key, nearest_up, show_image  # noqa: F401  (for notebooks)


def image_grid(rows: dict[str, dict[str, np.ndarray]], size: float = 2.4, crop: tuple | dict | None = None,
               key=None) -> Figure:
    """A grid: one row per entry of ``rows`` (row title → {column title → image}).

    Args:
        rows: {row name: {column name: image}}; images uint8/float H×W×3 or H×W (gray maps).
        size: inches per panel.
        crop: (y, x, h, w) shown of every image whose side is at least y + h (smaller ones, e.g. LR,
            are shown whole), or {row name: (y, x, h, w)} to crop each row where its detail is
            (a row not named is shown whole).
        key: int category maps (or a list of them) drawn as label images in the grid: adds the
            colour key of the categories they contain under the grid (default None: no key).
    """
    ncol = max(len(r) for r in rows.values())
    fig = Figure(figsize=(size * ncol, size * len(rows)), dpi=80, layout="constrained")
    axes = fig.subplots(len(rows), ncol, squeeze=False)
    for i, (rname, cols) in enumerate(rows.items()):
        box = crop.get(rname) if isinstance(crop, dict) else crop
        for j, (cname, img) in enumerate(cols.items()):
            a = np.asarray(img)
            if box is not None and a.shape[0] >= box[0] + box[2] and a.shape[1] >= box[1] + box[3]:
                a = a[box[0]:box[0] + box[2], box[1]:box[1] + box[3]]
            show_image(axes[i, j], a, f"{rname}: {cname}" if j == 0 else cname)
        for j in range(len(cols), ncol):
            axes[i, j].axis("off")
    if key is not None:
        category_key(fig, key, ncol=max(ncol, 5), loc="outside lower center")
    return fig


def densest_crop(mask: np.ndarray, side: int) -> tuple[int, int, int, int]:
    """The side×side window (y, x, h, w) holding the most True pixels of ``mask`` (H×W bool, e.g. a
    caption's text mask), of several such windows the one nearest the mask's centroid: a crop chosen
    where the letters are, for ``image_grid``'s ``crop``. Raises ValueError when the mask is empty or smaller than the window."""
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2 or m.shape[0] < side or m.shape[1] < side or side < 1:
        raise ValueError(f"densest_crop: a {side}×{side} window needs an H×W mask at least that large, got {m.shape}")
    if not m.any():
        raise ValueError("densest_crop: the mask is empty (no pixel to centre the crop on)")
    c = np.pad(m.astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))  # summed-area table
    counts = c[side:, side:] - c[:-side, side:] - c[side:, :-side] + c[:-side, :-side]
    ys, xs = np.nonzero(counts == counts.max())
    cy, cx = (np.mean(a) - (side - 1) / 2 for a in np.nonzero(m))  # the window centred on the mask's centroid
    best = int(np.argmin((ys - cy) ** 2 + (xs - cx) ** 2))
    return int(ys[best]), int(xs[best]), side, side


def curves(series: dict[str, tuple], title: str = "", xlabel: str = "step", ylabel: str = "",
           logy: bool = False, size=(5, 3)) -> Figure:
    """One axes with several curves: {label: (x, y)}."""
    fig = Figure(figsize=size, dpi=80, layout="constrained")
    ax = fig.subplots()
    for label, (x, y) in series.items():
        ax.plot(x, y, "o-" if len(x) < 20 else "-", ms=3, label=label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if logy:
        ax.set_yscale("log")
    if len(series) > 1:
        ax.legend(fontsize=8)
    return fig


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A markdown table; floats get 2 decimals (4 when < 1, e.g. SSIM)."""
    fmt = lambda v: (f"{v:.4f}" if abs(v) < 1 else f"{v:.2f}") if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def show_markdown(text: str) -> None:
    """Display markdown in the notebook now (also inside a loop or in the middle of a cell)."""
    from IPython.display import Markdown, display
    display(Markdown(text))


def save_sample(fig: Figure, name: str, max_kb: int = 100) -> None:
    """Save ``fig`` as a small PNG: into ``$SRKIT_SAMPLES_DIR`` when set (``assets/samples`` refreshes
    the README's figures), else ``<cache>/samples`` (not tracked by git, so running a notebook never
    changes a checkout). Quantises to a 256-colour palette and lowers the resolution until the file
    is under ``max_kb``; the file is replaced only once completely written. Returns nothing, so a
    notebook cell ending with it shows no file path."""
    from PIL import Image

    from srkit.imageio import atomic_path
    from srkit.notebook.env import cache_dir
    folder = Path(os.environ["SRKIT_SAMPLES_DIR"]) if os.environ.get("SRKIT_SAMPLES_DIR") else cache_dir() / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    for dpi in (80, 64, 50, 40):
        buf = io.BytesIO()
        fig.savefig(buf, dpi=dpi, format="png")
        data = buf.getvalue()
        if len(data) > max_kb * 1024:  # photos: a 256-colour palette PNG is ~3× smaller
            img = Image.open(io.BytesIO(data)).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
            buf = io.BytesIO()
            img.save(buf, format="PNG", optimize=True)
            data = buf.getvalue()
        if len(data) <= max_kb * 1024:
            break
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
