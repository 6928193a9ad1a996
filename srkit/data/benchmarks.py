"""Benchmark sets (Set5, Set14, B100, Urban100) and the Gaussian8 blind-SR benchmark.

A ``--data`` folder (default ``$SRKIT_DATA``) holds ``Set5/HR``, ``Set14/HR``,
``B100/HR_modcrop3`` (or ``B100/HR``), and ``Urban100/HR`` when present.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from srkit.imageio import is_gray_file, list_images, modcrop, read_image_uint8
from srkit.kernels import gaussian_kernel
from srkit.paths import default_data_dir  # noqa: F401  (re-exported: callers import it from here)
from srkit.resize import imresize

BENCHMARK_FOLDERS = {
    "Set5": ("HR",),
    "Set14": ("HR",),
    "B100": ("HR_modcrop3", "HR"),
    "Urban100": ("HR",),
}


@dataclass
class BenchImage:
    """One ground-truth image: uint8 RGB H×W×3, modcropped to the scale.

    ``gray`` marks a 1-channel source file (evaluated on gray values, see srkit.metrics).
    """
    name: str
    hr: np.ndarray
    gray: bool


def benchmark_dir(data: str | Path, name: str) -> Path:
    """The HR folder of benchmark ``name`` under ``data``; a clear error when absent."""
    if name not in BENCHMARK_FOLDERS:
        raise ValueError(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARK_FOLDERS)}")
    for sub in BENCHMARK_FOLDERS[name]:
        d = Path(data) / name / sub
        if d.is_dir():
            return d
    tried = ", ".join(str(Path(data) / name / s) for s in BENCHMARK_FOLDERS[name])
    raise FileNotFoundError(f"benchmark {name} not found (looked in {tried})")


def load_benchmark(data: str | Path, name: str, scale: int) -> list[BenchImage]:
    """Read every HR image of a benchmark, modcropped to ``scale``."""
    folder = benchmark_dir(data, name)
    paths = list_images(folder)
    if not paths:
        raise FileNotFoundError(f"no images in {folder}")
    return [BenchImage(p.stem, modcrop(read_image_uint8(p), scale), is_gray_file(p)) for p in paths]


def bicubic_lr(hr: np.ndarray, scale: int) -> np.ndarray:
    """uint8 HR → uint8 LR by MATLAB bicubic ↓s (the no-blur benchmark)."""
    t = torch.from_numpy(hr).permute(2, 0, 1).float().div(255)
    lr = imresize(t, scale=1 / scale)
    return (lr.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()


def gaussian8_lr(hr: np.ndarray, scale: int, sigma: float) -> np.ndarray:
    """uint8 HR → uint8 LR: 21×21 isotropic Gaussian blur (reflect padding), bicubic ↓s, rounding.

    Deterministic: no noise, so the same HR always gives the same LR.
    """
    import scipy.ndimage as ndi
    # The blur of srkit.degrade.blur (a true convolution, reflect padding = scipy's 'mirror'), in
    # float64 through scipy: torch's float64 conv2d takes 1.5 s on a B100 image, scipy 0.2 s, and
    # the two agree exactly (tests/test_benchmarks.py checks it against degrade.blur).
    k = gaussian_kernel(sigma).double().numpy()
    hr64 = hr.astype(np.float64) / 255
    x = np.stack([ndi.convolve(hr64[..., c], k, mode="mirror") for c in range(hr.shape[2])])
    lr = imresize(torch.from_numpy(x).unsqueeze(0), scale=1 / scale)[0]
    return (lr.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
