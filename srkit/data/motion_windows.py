"""Training windows for the multi-frame generator: synthetic camera motion over training stills.

Without Vimeo-90K or REDS offline, a window of T frames is made from one HR crop by moving a
patch×patch window over it, as burst-SR work makes synthetic bursts (DBSR, Bhat et al., CVPR 2021,
https://arxiv.org/abs/2101.10997): per window one motion drawn from

* a pan: constant velocity, 0.3–3.5 HR px per frame in any direction (the clips of ``srkit bench
  video`` move 1.3–3.2 px; the range is wider on both sides);
* plus, in 30 % of windows each, a zoom of up to ±2 % per frame and a rotation of up to ±0.7° per frame;
* or, in 10 % of windows, no motion at all (a locked-off shot: the neighbours add nothing but noise).

Frames are resampled with the cubic B-spline of ``srkit.data.sequences`` (the bench's clips are made
the same way, from other images). Every frame of a window is then degraded with the **same** kernel,
as one shot is blurred by one lens (``DegradationConfig``: the kernel and noise level are drawn once
per window; the noise itself per frame). Compression and HR softening are not supported here (the
settings are refused): codecs code frames with motion-dependent prediction that intra-only damage
would misrepresent.

Batches are a pure function of (seed, step, rank, salt), as ``srkit.data.pairs.PairSampler``'s, so a
resumed run draws the same windows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from srkit.data.pairs import DegradationConfig, PatchDataset, make_batch
from srkit.data.sequences import _sample, _window
from srkit.degrade import degrade
from srkit.kernels import KernelPCA

MAX_SPEED = 3.5        # HR px per frame
MAX_ZOOM = 0.02        # relative scale change per frame
MAX_ROTATE_DEG = 0.7   # degrees per frame


def margin(frames: int, patch: int) -> int:
    """HR pixels a crop needs around the patch so every frame's window of a ``frames`` window fits."""
    k = frames // 2
    half_diag = patch / math.sqrt(2)
    turn = half_diag * (math.radians(MAX_ROTATE_DEG * k) + (1 + MAX_ZOOM) ** k - 1)
    return int(math.ceil(MAX_SPEED * k + turn)) + 2


def draw_motion(rng: np.random.Generator) -> dict:
    """One window's motion: velocity (rows, cols) px per frame, zoom factor and angle (rad) per frame."""
    if rng.random() < 0.1:
        return {"velocity": np.zeros(2), "zoom": 1.0, "angle": 0.0}
    speed, direction = rng.uniform(0.3, MAX_SPEED), rng.uniform(0, 2 * np.pi)
    zoom = 1.0 + (rng.uniform(-MAX_ZOOM, MAX_ZOOM) if rng.random() < 0.3 else 0.0)
    angle = np.deg2rad(rng.uniform(-MAX_ROTATE_DEG, MAX_ROTATE_DEG)) if rng.random() < 0.3 else 0.0
    return {"velocity": speed * np.array([np.sin(direction), np.cos(direction)]), "zoom": zoom, "angle": angle}


def moving_window(crop: np.ndarray, frames: int, patch: int, motion: dict) -> np.ndarray:
    """``frames`` patch×patch frames (uint8 T×p×p×3) moving over a uint8 crop, the centre frame at its middle."""
    src = crop.astype(np.float64) / 255.0
    middle = np.array([(crop.shape[0] - 1) / 2, (crop.shape[1] - 1) / 2])
    out = []
    for k in range(frames):
        d = k - frames // 2
        rows, cols = _window(src.shape, middle + d * motion["velocity"], motion["zoom"] ** d,
                             motion["angle"] * d, (patch, patch))
        out.append(_sample(src, rows, cols))
    return np.clip(np.round(np.stack(out) * 255), 0, 255).astype(np.uint8)


@dataclass
class WindowSampler:
    """Batches of degraded windows as a pure function of the step.

    Attributes:
        data: HR training stills; degradation: eq. 7 settings (blur and noise only);
        frames: T (odd); patch: HR patch side (a multiple of the scale); batch: windows per batch;
        pca: kernel PCA for the codes; seed / rank / salt: as ``PairSampler``; augment: dihedral
        transforms of each crop.

    ``batch_at(step)`` → {"hr": N×3×p×p (the centre frame), "lr": N×T×3×p/s×p/s, "code": N×b,
    "kernel": N×k×k, "noise": N, "speed": N (HR px per frame)}.
    """
    data: PatchDataset
    degradation: DegradationConfig
    frames: int = 3
    patch: int = 64
    batch: int = 8
    pca: KernelPCA | None = None
    seed: int = 0
    rank: int = 0
    salt: int = 0
    augment: bool = True

    def __post_init__(self):
        d = self.degradation
        if self.patch % d.scale:
            raise ValueError(f"patch size {self.patch} is not a multiple of the scale {d.scale}")
        if self.frames < 3 or self.frames % 2 == 0:
            raise ValueError(f"frames must be odd and >= 3, got {self.frames}")
        if d.compression_share is not None or d.jpeg or d.mpeg2 or d.hr_soften:
            raise ValueError("motion windows support blur and noise only: set no jpeg, mpeg2, compression_share "
                             f"or hr_soften in the degradation (got {d})")
        side = self.patch + 2 * margin(self.frames, self.patch)
        if side > self.data.min_side:
            raise ValueError(f"a {self.frames}-frame window of patch {self.patch} needs crops of {side} px; the "
                             f"smallest training image side is {self.data.min_side}: lower the patch size")

    def batch_at(self, step: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, step, self.rank, self.salt])
        side = self.patch + 2 * margin(self.frames, self.patch)
        crops, _ = self.data.crops(self.batch, side, rng, self.augment)
        motions = [draw_motion(rng) for _ in range(self.batch)]
        windows = np.stack([moving_window(c, self.frames, self.patch, m) for c, m in zip(crops, motions)])
        g = torch.Generator().manual_seed(int(rng.integers(2 ** 62)))
        c = self.frames // 2
        centre = make_batch(windows[:, c], self.degradation, self.pca, g)  # draws kernel and noise level
        lrs = []
        for t in range(self.frames):
            if t == c:
                lrs.append(centre["lr"])
                continue
            hr = torch.from_numpy(np.ascontiguousarray(windows[:, t])).permute(0, 3, 1, 2).float() / 255
            lrs.append(degrade(hr, self.degradation.scale, kernels=centre["kernel"], noise_sigma=centre["noise"],
                               generator=g).lr)
        out = {"hr": centre["hr"], "lr": torch.stack(lrs, 1), "kernel": centre["kernel"], "noise": centre["noise"],
               "speed": torch.tensor([float(np.hypot(*m["velocity"])) for m in motions])}
        if "code" in centre:
            out["code"] = centre["code"]
        return out
