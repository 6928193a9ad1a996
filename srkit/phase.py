"""Sampling phase: where an LR pixel sits on the HR grid, and the sub-pixel shift that aligns an SR
output made from LR of the other phase.

Two conventions occur (docs/PROTOCOLS.md lists every downsampler of the kit):

* **centre**: LR pixel i covers HR pixels s·i … s·i + s − 1 and sits at their centre, HR coordinate
  s·i + (s − 1)/2. MATLAB's bicubic ``imresize`` (the BI protocol, Gaussian8, srkit's training LR)
  and so every bicubic-trained network assume it.
* **corner**: LR pixel i is the (blurred) HR pixel s·i. The BD protocol's DUF downsampler
  (``srkit.degrade.duf_downsample``) and plain subsampling (``srkit.degrade.subsample``) make it.

A centre-phase network given corner-phase LR draws everything (s − 1)/2 HR pixels too far right
and down (×2 0.5, ×3 1, ×4 1.5 pixels). Two exact corrections: shift the LR by −(s − 1)/(2s) LR
pixels before the network (``align_lr``), or the SR by −(s − 1)/2 HR pixels after it
(``align_output``). Both interpolate with a cubic B-spline (scipy.ndimage.shift, order 3: exact at
integer shifts, reflect padding). :data:`DEFAULT_WAY` is the one that lost less in the measurement
of docs/PROTOCOLS.md.
"""
from __future__ import annotations

import numpy as np

PHASES = ("centre", "corner")
WAYS = ("output", "lr")
DEFAULT_WAY = "output"


def check_phase(phase: str) -> str:
    """``phase`` if it is one of :data:`PHASES` ('center' accepted), else ValueError."""
    phase = "centre" if phase == "center" else phase
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")
    return phase


def output_shift(scale: int, phase: str) -> float:
    """HR pixels by which a centre-phase network's output must move (negative: up/left) to line up
    with the HR of LR made in ``phase``: 0 for 'centre', −(s − 1)/2 for 'corner'."""
    return 0.0 if check_phase(phase) == "centre" else -(scale - 1) / 2


def shift_image(image: np.ndarray, shift: float) -> np.ndarray:
    """``image`` (H×W or H×W×C) moved by ``shift`` pixels along both axes: out(y, x) = in(y − shift,
    x − shift), by cubic B-spline interpolation (scipy.ndimage.shift, order 3, reflect padding).

    uint8 in → uint8 out (rounded); float in → float32 out (not clipped). A shift of 0 returns a copy.
    """
    from scipy.ndimage import shift as nd_shift
    a = np.asarray(image)
    if shift == 0:
        return a.copy()
    f = a.astype(np.float64)
    moved = nd_shift(f, (shift, shift) + (0,) * (a.ndim - 2), order=3, mode="reflect")
    if a.dtype == np.uint8:
        return np.clip(np.round(moved), 0, 255).astype(np.uint8)
    return moved.astype(np.float32)


def align_output(sr: np.ndarray, scale: int, phase: str) -> np.ndarray:
    """A centre-phase network's SR of ``phase`` LR, moved onto the HR grid (a copy for 'centre')."""
    return shift_image(sr, output_shift(scale, phase))


def align_lr(lr: np.ndarray, scale: int, phase: str) -> np.ndarray:
    """``phase`` LR resampled to centre phase, for a centre-phase network (a copy for 'centre')."""
    return shift_image(lr, output_shift(scale, phase) / scale)
