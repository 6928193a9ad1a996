"""The degraded benchmark: benchmark sets under the damage archive material carries.

Each cell of a fixed grid is one kind of damage on top of the blur: Gaussian noise, a JPEG round
trip, or MPEG-2 intra coding (``srkit.degrade``). Every image of a set goes through every cell with
the same blur: image i of a set is blurred by Gaussian8 width ``i mod 8`` of the scale (an isotropic
21×21 Gaussian), MATLAB bicubic ↓s, then the cell's noise (seeded with ``seed + i``) and
compression, LR stored as uint8. So a cell differs from another only by its damage, and all
Gaussian8 widths occur in each set. Metrics follow the published protocol (``srkit.metrics``).

``srkit bench degraded --data $SRKIT_DATA --weights x2 x2_noise x2_archive`` runs it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from srkit.degrade import degrade_uint8
from srkit.kernels import gaussian8_sigmas


@dataclass(frozen=True)
class Cell:
    """One damage setting: noise σn (0–255), JPEG quality (0 = none), MPEG-2 intra quantiser (0 = none)."""
    name: str
    noise: float = 0.0
    jpeg: int = 0
    mpeg2: int = 0

    @property
    def hard(self) -> bool:
        """A cell where a model must beat the bicubic-upsampled LR (σn ≥ 5, JPEG q ≤ 50, any MPEG-2)."""
        return self.noise >= 5 or 0 < self.jpeg <= 50 or self.mpeg2 > 0


# MPEG-2 q 8 ≈ 1.2 bit/pixel (an I-picture of a 6–8 Mbit/s SD broadcast), q 16 ≈ 0.65 (a starved
# low-rate transfer); measured on Set14 crops, see srkit.degrade.mpeg2.
GRID = (
    Cell("clean"),
    Cell("noise 5", noise=5),
    Cell("noise 15", noise=15),
    Cell("JPEG 90", jpeg=90),
    Cell("JPEG 50", jpeg=50),
    Cell("JPEG 30", jpeg=30),
    Cell("MPEG-2 q8", mpeg2=8),
    Cell("MPEG-2 q16", mpeg2=16),
)


def cells_named(names: list[str] | None) -> tuple[Cell, ...]:
    """The grid's cells of these names (all of them for None); an unknown name is an error."""
    if not names:
        return GRID
    by_name = {c.name.lower().replace(" ", ""): c for c in GRID}
    out = []
    for n in names:
        key = n.lower().replace(" ", "")
        if key not in by_name:
            raise ValueError(f"unknown cell {n!r}; the grid has {[c.name for c in GRID]}")
        out.append(by_name[key])
    return tuple(out)


def damage(lr: np.ndarray, cell: Cell, seed: int) -> np.ndarray:
    """uint8 LR with ``cell``'s Gaussian noise (σn on 0–255, seeded), then JPEG, then MPEG-2 intra:
    the damage of ``srkit.degrade.degrade`` on an LR already made; 'clean' returns ``lr``."""
    import torch

    from srkit.degrade import jpeg, mpeg2
    if not (cell.noise or cell.jpeg or cell.mpeg2):
        return lr
    x = torch.from_numpy(lr).permute(2, 0, 1)[None].float() / 255
    if cell.noise:
        g = torch.Generator().manual_seed(seed)
        x = ((x + torch.randn(x.shape, generator=g) * cell.noise / 255).clamp(0, 1) * 255).round() / 255
    if cell.jpeg:
        x = jpeg(x, torch.tensor([float(cell.jpeg)]))
    if cell.mpeg2:
        x = mpeg2(x, torch.tensor([float(cell.mpeg2)]))
    return (x[0].permute(1, 2, 0) * 255).round().clamp(0, 255).byte().numpy()


def degraded_lr(hr: np.ndarray, scale: int, index: int, cell: Cell, seed: int = 0,
                protocol: str = "srkit") -> np.ndarray:
    """uint8 LR of image ``index`` of a set under ``cell`` (noise seeded). ``protocol`` 'srkit'
    (default): the Gaussian8 blur of ``index``, bicubic ↓s; 'bi' / 'bd': ``srkit.degrade.protocol_lr``,
    then the cell's damage (:func:`damage`)."""
    if protocol != "srkit":
        from srkit.degrade import protocol_lr
        return damage(protocol_lr(hr, scale, protocol), cell, seed + index)
    sigma = gaussian8_sigmas(scale)[index % 8]
    return degrade_uint8(hr, scale, sigma=sigma, noise=cell.noise, seed=seed + index,
                         jpeg_quality=cell.jpeg, mpeg2_qscale=cell.mpeg2)


def run_degraded(models: dict, images: dict[str, list], scale: int, cells=GRID, seed: int = 0,
                 steps: int = 7, progress: bool = True, protocol: str = "srkit", phase: str = "centre") -> dict:
    """PSNR/SSIM of the bicubic-upsampled LR and of each model in every cell.

    Args:
        models: {name: model for ``srkit.upscale``} (all of ``scale``).
        images: {set name: [uint8 HR, modcropped to ``scale``]}.
        cells: the grid cells to run (default all of :data:`GRID`).
        protocol: how the LR is made before the cell's damage (:func:`degraded_lr`; default 'srkit').
        phase: 'centre' (default) or 'corner': every output (bicubic too) is moved onto the HR grid
            for LR of that phase (``srkit.phase.align_output``) before it is scored.

    Returns:
        {"results": {set: {cell: {method: {"psnr", "ssim", "n"}}}}, "mean": {set: {method: {"psnr",
        "ssim"}}} over the cells run, "cells": [cell settings]}; method 'bicubic' first.
    """
    from tqdm.auto import tqdm

    from srkit.evaluation.table1 import compare
    from srkit.metrics import evaluate_pair
    from srkit.phase import align_output
    res: dict = {}
    total = sum(len(v) for v in images.values()) * len(cells)
    bar = tqdm(total=total, desc="degraded", disable=not progress)
    for set_name, hrs in images.items():
        res[set_name] = {}
        for cell in cells:
            acc: dict = {}
            for i, hr in enumerate(hrs):
                if hr.ndim == 2:
                    hr = np.repeat(hr[..., None], 3, 2)
                lr = degraded_lr(hr, scale, i, cell, seed, protocol)
                outs, metrics = compare(hr, lr, models, scale, steps, name=f"{set_name} image {i}, {cell.name}")
                if phase != "centre":
                    metrics = {n: evaluate_pair(align_output(o, scale, phase), hr, scale) for n, o in outs.items()}
                for m, v in metrics.items():
                    acc.setdefault(m, []).append(v)
                bar.update()
            res[set_name][cell.name] = {m: {"psnr": float(np.mean([v["psnr"] for v in vs])),
                                            "ssim": float(np.mean([v["ssim"] for v in vs])), "n": len(vs)}
                                        for m, vs in acc.items()}
    bar.close()
    return {"results": res, "mean": grid_mean(res), "cells": [asdict(c) for c in cells]}


def auto_picks(images: dict[str, list], scale: int, cells=GRID, seed: int = 0, protocol: str = "srkit") -> dict:
    """Which bundle ``--weights auto`` (``srkit.inference.damage``) picks in each cell:
    {set: {cell: {bundle: images}}}, from the same LR images :func:`run_degraded` makes."""
    from srkit.inference.damage import AutoWeights
    auto = AutoWeights(scale)
    out: dict = {}
    for set_name, hrs in images.items():
        for cell in cells:
            counts = out.setdefault(set_name, {}).setdefault(cell.name, {})
            for i, hr in enumerate(hrs):
                if hr.ndim == 2:
                    hr = np.repeat(hr[..., None], 3, 2)
                name, _ = auto.choose(degraded_lr(hr, scale, i, cell, seed, protocol))
                counts[name] = counts.get(name, 0) + 1
    return out


def grid_mean(results: dict) -> dict:
    """{set: {method: {"psnr", "ssim", "cells"}}}: the plain mean over the cells of each set, for the
    methods measured in every one of them."""
    out = {}
    for set_name, by_cell in results.items():
        methods = [m for m in next(iter(by_cell.values())) if all(m in c for c in by_cell.values())]
        out[set_name] = {m: {"psnr": float(np.mean([c[m]["psnr"] for c in by_cell.values()])),
                             "ssim": float(np.mean([c[m]["ssim"] for c in by_cell.values()])),
                             "cells": len(by_cell)} for m in methods}
    return out


def merge(parts: list[dict]) -> dict:
    """Join results of runs over different cells or methods of the same sets (same protocol)."""
    res: dict = {}
    cells: dict = {}
    for p in parts:
        for set_name, by_cell in p["results"].items():
            for cell, by_method in by_cell.items():
                res.setdefault(set_name, {}).setdefault(cell, {}).update(by_method)
        cells.update({c["name"]: c for c in p["cells"]})
    order = [c.name for c in GRID if c.name in cells]
    res = {s: {c: by_cell[c] for c in order if c in by_cell} for s, by_cell in res.items()}
    return {"results": res, "mean": grid_mean(res), "cells": [cells[c] for c in order]}


def format_degraded(out: dict) -> str:
    """Markdown: one table per set, a row per cell plus the grid mean, a column per method."""
    lines = []
    for set_name, by_cell in out["results"].items():
        methods = list(dict.fromkeys(m for c in by_cell.values() for m in c))
        n = next(iter(next(iter(by_cell.values())).values()))["n"]
        lines += [f"{set_name} ({n} images), PSNR / SSIM (Y):", "",
                  "| cell | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
        rows = list(by_cell.items()) + [("**mean of the grid**", out["mean"][set_name])]
        for cell, by_method in rows:
            best = max(v["psnr"] for v in by_method.values())
            cols = ["–" if m not in by_method else
                    (f"**{by_method[m]['psnr']:.2f} / {by_method[m]['ssim']:.4f}**" if by_method[m]["psnr"] == best
                     else f"{by_method[m]['psnr']:.2f} / {by_method[m]['ssim']:.4f}") for m in methods]
            lines.append(f"| {cell} | " + " | ".join(cols) + " |")
        lines.append("")
    return "\n".join(lines)
