"""Temporal consistency of a restored clip: the warping error against the ground truth's motion.

The motion comes from the ground-truth frames, never from the output being judged: TV-L1 optical
flow (Zach et al. 2007; scikit-image's ``optical_flow_tvl1``, classical, no learned weights) on the
BT.601 luma, in both directions between each pair of neighbouring frames. A pixel is kept when the
forward-backward check passes (Sundaram et al. ECCV 2010, the thresholds of Ruder et al. 2016):
``|b + f(r + b)|² ≤ 0.01 (|b|² + |f(r + b)|²) + 0.5`` with b the backward flow at r, and when the
flow lands inside the frame; occluded and uncovered pixels are left out.

Warping error (Lai et al. ECCV 2018): the previous output frame warped to the current one by the
ground truth's backward flow (bilinear), the squared difference to the current output on the luma
(0–255 levels, as the PSNR protocol), averaged over the kept pixels of each pair (``shave`` border
pixels dropped) and then over the pairs. It counts flicker, and also detail that does not move with
the picture; it is lower for blurrier output, so compare it as its **excess** over the ground truth's
own warping error, beside PSNR, between methods of similar sharpness.

x-t slices (one row of pixels stacked over time) show flicker to the eye: :func:`xt_slice`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FB_RELATIVE, FB_ABSOLUTE = 0.01, 0.5  # forward-backward check (Ruder et al. 2016)


def luma(frame: np.ndarray) -> np.ndarray:
    """uint8 RGB H×W×3 → float64 BT.601 luma on 0–255 levels (16–235), not rounded."""
    from srkit.metrics import rgb_to_y
    return rgb_to_y(frame, rounded=False)


def optical_flow(reference: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """2×H×W (row, col) displacement with ``moving(r + flow(r)) ≈ reference(r)``: TV-L1 on luma
    scaled to [0, 1] (scikit-image defaults)."""
    from skimage.registration import optical_flow_tvl1
    return optical_flow_tvl1(reference / 255.0, moving / 255.0).astype(np.float64)


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` (H×W float) sampled at r + flow(r), bilinear, edge values outside."""
    from scipy.ndimage import map_coordinates
    h, w = image.shape
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    return map_coordinates(image, [rows + flow[0], cols + flow[1]], order=1, mode="nearest")


def consistent(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """H×W bool: the pixels of frame t whose backward flow (t → t−1) lands inside frame t−1 and is
    undone by the forward flow (t−1 → t) found there (the forward-backward check)."""
    h, w = backward.shape[1:]
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    r, c = rows + backward[0], cols + backward[1]
    inside = (r >= 0) & (r <= h - 1) & (c >= 0) & (c <= w - 1)
    back_forward = np.stack([warp(forward[0], backward), warp(forward[1], backward)])
    mismatch = ((backward + back_forward) ** 2).sum(0)
    bound = FB_RELATIVE * ((backward ** 2).sum(0) + (back_forward ** 2).sum(0)) + FB_ABSOLUTE
    return inside & (mismatch <= bound)


@dataclass
class Motion:
    """The ground truth's motion between neighbouring frames of a clip.

    Attributes:
        backward: per pair t = 1 … T−1, the 2×H×W flow from frame t to frame t−1.
        valid: per pair, the H×W bool mask of pixels kept (:func:`consistent`).
    """
    backward: list[np.ndarray]
    valid: list[np.ndarray]

    @property
    def kept(self) -> float:
        """Share of pixels kept over all pairs (0–1)."""
        return float(np.mean([v.mean() for v in self.valid]))


def clip_motion(frames: np.ndarray) -> Motion:
    """The :class:`Motion` of a ground-truth clip (T×H×W×3 uint8, T ≥ 2)."""
    if len(frames) < 2:
        raise ValueError(f"a clip needs at least 2 frames to have motion, got {len(frames)}")
    ys = [luma(f) for f in frames]
    backward, valid = [], []
    for previous, current in zip(ys[:-1], ys[1:]):
        b, f = optical_flow(current, previous), optical_flow(previous, current)
        backward.append(b)
        valid.append(consistent(b, f))
    return Motion(backward, valid)


def warping_error(frames: np.ndarray, motion: Motion, shave: int = 0) -> float:
    """Mean over neighbouring pairs of the masked MSE (luma, 0–255 levels) between output frame t
    and output frame t−1 warped by the ground truth's backward flow; ``shave`` border pixels dropped.

    Args:
        frames: T×H×W×3 uint8, the clip to judge (output or ground truth itself).
        motion: the ground truth's :class:`Motion` (same T, H, W).
    """
    if len(frames) != len(motion.backward) + 1:
        raise ValueError(f"{len(frames)} frames for the motion of {len(motion.backward) + 1}")
    ys = [luma(f) for f in frames]
    if ys[0].shape != motion.valid[0].shape:
        raise ValueError(f"frames {ys[0].shape} do not match the motion's {motion.valid[0].shape}")
    errors = []
    for t in range(1, len(ys)):
        d = (ys[t] - warp(ys[t - 1], motion.backward[t - 1])) ** 2
        m = motion.valid[t - 1]
        if shave:
            d, m = d[shave:-shave, shave:-shave], m[shave:-shave, shave:-shave]
        if m.any():
            errors.append(float(d[m].mean()))
    return float(np.mean(errors)) if errors else float("nan")


def xt_slice(frames: np.ndarray, row: int | None = None, repeat: int = 4) -> np.ndarray:
    """The x-t slice of a clip: row ``row`` (default the middle) of each frame, one under the other,
    each repeated ``repeat`` times so that time is visible: (T·repeat)×W×3 uint8."""
    frames = np.asarray(frames)
    row = frames.shape[1] // 2 if row is None else row
    return np.repeat(frames[:, row], repeat, axis=0)


def xt_panel(slices: dict[str, np.ndarray], gap: int = 3) -> np.ndarray:
    """Slices of one clip (ground truth first, then each method) one under the other, separated
    by ``gap`` white rows; the order is the dict's."""
    parts = []
    for image in slices.values():
        parts += [image, np.full((gap,) + image.shape[1:], 255, np.uint8)]
    return np.concatenate(parts[:-1], axis=0)
