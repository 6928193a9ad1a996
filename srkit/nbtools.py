"""Small helpers the notebooks share: image grids, curves, markdown tables, README samples, tables.

Figures are ``matplotlib.figure.Figure`` objects (no pyplot state): a notebook cell that ends with
one shows it (inline backend, PNG). Everything here is plain Python so the notebooks stay stories.
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from srkit.widgets._base import nearest_up, show_image, to_u8  # noqa: F401  (re-exported for notebooks)

REPO = Path(__file__).resolve().parent.parent


def image_grid(rows: dict[str, dict[str, np.ndarray]], size: float = 2.4, crop: tuple | None = None) -> Figure:
    """A grid: one row per entry of ``rows`` (row title → {column title → image}).

    Args:
        rows: {row name: {column name: image}}; images uint8/float H×W×3 or H×W (gray maps).
        size: inches per panel.
        crop: (y, x, h, w) shown of every image whose side is at least y + h (smaller ones, e.g. LR,
            are shown whole).
    """
    ncol = max(len(r) for r in rows.values())
    fig = Figure(figsize=(size * ncol, size * len(rows)), dpi=80, layout="constrained")
    axes = fig.subplots(len(rows), ncol, squeeze=False)
    for i, (rname, cols) in enumerate(rows.items()):
        for j, (cname, img) in enumerate(cols.items()):
            a = np.asarray(img)
            if crop is not None and a.shape[0] >= crop[0] + crop[2] and a.shape[1] >= crop[1] + crop[3]:
                a = a[crop[0]:crop[0] + crop[2], crop[1]:crop[1] + crop[3]]
            show_image(axes[i, j], a, f"{rname}: {cname}" if j == 0 else cname)
        for j in range(len(cols), ncol):
            axes[i, j].axis("off")
    return fig


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


def read_log(path: str | Path) -> dict[str, list]:
    """A training run's log.json / log.csv (srkit.train) → {column: values}."""
    path = Path(path)
    if path.is_dir():
        path = path / "log.json" if (path / "log.json").is_file() else path / "log.csv"
    if path.suffix == ".json":
        rows = json.loads(path.read_text())
        rows = rows.get("rows", rows) if isinstance(rows, dict) else rows
    else:
        import csv
        with open(path) as f:
            rows = list(csv.DictReader(f))
    cols: dict[str, list] = {}
    for r in rows:
        for k, v in r.items():
            try:
                cols.setdefault(k, []).append(float(v) if v not in ("", None) else np.nan)
            except (TypeError, ValueError):
                cols.setdefault(k, []).append(v)
    return cols


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A markdown table; floats get 2 decimals (4 when < 1, e.g. SSIM)."""
    fmt = lambda v: (f"{v:.4f}" if abs(v) < 1 else f"{v:.2f}") if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def show_markdown(text: str):
    """Display markdown in a notebook (returns the object so it also works as a cell's last line)."""
    from IPython.display import Markdown
    return Markdown(text)


def save_sample(fig: Figure, name: str, max_kb: int = 100, force: bool = False) -> Path | None:
    """Save ``fig`` as a small PNG for the README: ``assets/samples/<name>`` in a source checkout.

    Saves only in full mode or with ``SRKIT_SAVE_SAMPLES=1`` (smoke runs in CI leave the committed
    figures alone) unless ``force``; quantises to a 256-colour palette and lowers the resolution
    until the file is under ``max_kb``.
    """
    if not force and os.environ.get("SRKIT_SMOKE") == "1" and os.environ.get("SRKIT_SAVE_SAMPLES") != "1":
        return None
    from srkit.demo_models import cache_dir
    folder = REPO / "assets" / "samples" if (REPO / "pyproject.toml").is_file() else cache_dir() / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    from PIL import Image
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
    path.write_bytes(data)
    return path


def evaluate(sr: np.ndarray, hr: np.ndarray, scale: int) -> dict[str, float]:
    """PSNR/SSIM of uint8 images by the protocol (``srkit.metrics.evaluate_pair``)."""
    from srkit.metrics import evaluate_pair
    return evaluate_pair(sr, hr, scale)


def degrade_u8(hr: np.ndarray, scale: int, sigma: float | None = None, noise: float = 0.0, seed: int = 0,
               kernel=None) -> np.ndarray:
    """uint8 HR → uint8 LR with a fixed kernel (default: isotropic Gaussian, mid-Gaussian8 width)."""
    import torch

    from srkit.degrade import degrade
    from srkit.data.benchmarks import gaussian8_middle
    from srkit.kernels import gaussian_kernel
    k = kernel if kernel is not None else gaussian_kernel(gaussian8_middle(scale) if sigma is None else sigma)
    x = torch.from_numpy(np.ascontiguousarray(hr)).permute(2, 0, 1)[None].float() / 255
    return to_u8(degrade(x, scale, kernels=k, noise_sigma=noise, seed=seed).lr)


def compare(hr: np.ndarray, lr: np.ndarray, methods: dict, scale: int, steps: int = 7) -> tuple[dict, dict]:
    """Upscale ``lr`` with each method (name → model for ``srkit.upscale``, or a callable uint8 → uint8).

    Returns:
        (outputs {name: uint8 SR}, metrics {name: {"psnr", "ssim"}}) with 'bicubic' first.
    """
    import srkit
    from srkit.metrics import evaluate_pair
    from srkit.resize import imresize_np
    outs = {"bicubic": imresize_np(lr, scale)}
    for name, m in methods.items():
        outs[name] = m(lr) if callable(m) and not hasattr(m, "generator") and not hasattr(m, "forward") \
            else srkit.upscale(lr, m, steps=steps, tile=0)
    return outs, {n: evaluate_pair(o, hr, scale) for n, o in outs.items()}


def eval_images(max_images: int | None = None, scale: int = 2, sets=("Set14", "B100")) -> dict[str, list]:
    """Evaluation images: {set: [uint8 HR]} from ``$SRKIT_DATA`` (or ../shared/data) when present,
    else {'built-in': scikit-image samples}. ``max_images`` per set (smoke runs use 2)."""
    from srkit.data.benchmarks import default_data_dir, load_benchmark
    data = os.environ.get("SRKIT_DATA") or default_data_dir()
    out = {}
    if data and Path(data).is_dir():
        for s in sets:
            try:
                out[s] = [b.hr for b in load_benchmark(data, s, scale)][:max_images]
            except (FileNotFoundError, ValueError):
                pass
    if not out:
        from srkit.demo_models import sample_image
        out["built-in"] = [sample_image(n, multiple=12) for n in ("face", "text", "scene", "building", "cat")][:max_images]
    return out


def table1(models: dict, images: dict[str, list], scale: int = 2, noise: float = 15.0, seed: int = 0,
           steps: int = 7) -> dict:
    """The paper's Table 1 shape: PSNR/SSIM of the bicubic-upsampled LR and of each SR model.

    Degradation: isotropic Gaussian with a width drawn per image from the scale's training range
    (seeded), bicubic ↓s, Gaussian noise σn (paper: 15), uint8 LR; metrics by the protocol.

    Returns:
        {set: {method: {"psnr", "ssim", "n"}}} with method 'LR (bicubic)' first.
    """
    from srkit.kernels import SIGMA_RANGES
    rng = np.random.default_rng(seed)
    lo, hi = SIGMA_RANGES[scale]
    res: dict = {}
    for set_name, hrs in images.items():
        acc: dict = {}
        for i, hr in enumerate(hrs):
            if hr.ndim == 2:
                hr = np.repeat(hr[..., None], 3, 2)
            lr = degrade_u8(hr, scale, float(rng.uniform(lo, hi)), noise, seed + i)
            _, metrics = compare(hr, lr, models, scale, steps)
            for m, v in metrics.items():
                acc.setdefault("LR (bicubic)" if m == "bicubic" else m, []).append(v)
        res[set_name] = {m: {"psnr": float(np.mean([v["psnr"] for v in vs])),
                             "ssim": float(np.mean([v["ssim"] for v in vs])), "n": len(vs)} for m, vs in acc.items()}
    return res


def categories_result(path: str | Path | None = None) -> dict | None:
    """The JSON of ``srkit bench categories --json FILE`` when present: ``path``, else
    ``$SRKIT_CATEGORIES_JSON``, else ``<cache>/categories.json``; None when there is none."""
    from srkit.demo_models import cache_dir
    for p in (path, os.environ.get("SRKIT_CATEGORIES_JSON"), cache_dir() / "categories.json"):
        if p and Path(p).is_file():
            return json.loads(Path(p).read_text())
    return None


__all__ = ["image_grid", "curves", "read_log", "markdown_table", "show_markdown", "save_sample", "degrade_u8",
           "compare", "eval_images", "table1", "categories_result", "nearest_up", "to_u8", "evaluate"]
