"""Video clips for ``srkit bench video``: camera motion over held-out stills, and folders of real frames.

A still (Set14, B100: never trained on) becomes a clip by moving a window over it, one motion per
clip, the kind cycling with the clip's index (:data:`MOTIONS`):

* ``pan``: the window slides at a constant sub-pixel velocity (1.3–3.2 px per frame, any direction);
* ``zoom``: the window shrinks (zoom in) or grows (zoom out) by 12–18 % over the clip, about its centre;
* ``rotate``: the window turns by 2–5° over the clip while drifting slowly;
* ``caption``: a fixed shot with a news-ticker bar (``srkit.data.synth.render_text_card``, 'banner')
  scrolling left by a whole number of pixels per frame (2–4) in the lower third;
* ``credits``: a fixed shot with a block of text lines rolling up (1–3 px per frame).

Frames are resampled from the still with a cubic B-spline (scipy.ndimage.map_coordinates, order 3,
reflect padding), so sub-pixel motion is exact for the spline and nothing is re-encoded. Text moves by
whole pixels (as broadcast tickers do) and is pasted through its coverage, unresampled. Everything is
seeded: the same still, index and seed give the same frames.

Real clips: :func:`load_sequence_folders` reads any folder laid out as Vid4 and REDS are distributed,
one sub-folder of HR frames per sequence.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MOTIONS = ("pan", "zoom", "rotate", "caption", "credits")
CLIP_FRAMES = 8
CLIP_SIZE = (144, 192)  # HR height × width: multiples of 12, so ×2, ×3 and ×4 all divide them


@dataclass
class Clip:
    """HR frames of one sequence.

    Attributes:
        name: the still's (or sub-folder's) name.
        frames: T×H×W×3 uint8.
        motion: one of :data:`MOTIONS`, or 'real' for a folder of frames.
        gray: the frames come from a 1-channel file (scored on gray values, as ``srkit.metrics``).
        info: what made it (velocity, zoom, angle, text speed), for the JSON.
    """
    name: str
    frames: np.ndarray
    motion: str
    gray: bool = False
    info: dict = field(default_factory=dict)


def _sample(image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``image`` (H×W×3 float64) at the coordinates rows/cols (h×w), cubic B-spline, reflect."""
    from scipy.ndimage import map_coordinates
    return np.stack([map_coordinates(image[..., c], [rows, cols], order=3, mode="reflect")
                     for c in range(image.shape[2])], -1)


def _window(shape, centre, zoom: float, angle: float, size) -> tuple[np.ndarray, np.ndarray]:
    """Source coordinates of a size window centred at ``centre`` (row, col), magnified by ``zoom``
    (> 1: closer), turned by ``angle`` radians."""
    h, w = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    y, x = (y - (h - 1) / 2) / zoom, (x - (w - 1) / 2) / zoom
    c, s = np.cos(angle), np.sin(angle)
    return centre[0] + c * y - s * x, centre[1] + s * y + c * x


def _fits(shape, centre, zoom, angle, size) -> bool:
    rows, cols = _window(shape, centre, zoom, angle, size)
    return rows.min() >= 0 and cols.min() >= 0 and rows.max() <= shape[0] - 1 and cols.max() <= shape[1] - 1


def _place(array: np.ndarray, height: int, width: int, offset: tuple[int, int]) -> np.ndarray:
    """``array`` (h×w×C) placed at integer ``offset`` (row, col) on a zero height×width×C frame, clipped."""
    out = np.zeros((height, width, array.shape[2]), np.float64)
    ch, cw = array.shape[:2]
    r0, c0 = offset
    rs, cs, re, ce = max(0, r0), max(0, c0), min(height, r0 + ch), min(width, c0 + cw)
    if rs < re and cs < ce:
        out[rs:re, cs:ce] = array[rs - r0:re - r0, cs - c0:ce - c0]
    return out


def still_clip(still: np.ndarray, motion: str, name: str = "still", frames: int = CLIP_FRAMES,
               size: tuple[int, int] = CLIP_SIZE, seed: int = 0, gray: bool = False) -> Clip:
    """One clip of ``frames`` HR frames (size = height × width) from a uint8 H×W×3 still.

    Args:
        motion: one of :data:`MOTIONS`.
        seed: picks the direction, speed, zoom, angle and the text (numpy Generator).

    Raises:
        ValueError: unknown motion, fewer than 2 frames, or a still too small for the window and
            its motion (it must exceed ``size`` by about 20 %; the message names the sizes).
    """
    if motion not in MOTIONS:
        raise ValueError(f"motion must be one of {MOTIONS}, got {motion!r}")
    if frames < 2:
        raise ValueError(f"a clip needs at least 2 frames, got {frames}")
    rng = np.random.default_rng(seed)
    src = np.asarray(still, np.float64) / 255.0
    shape, (h, w) = src.shape[:2], size
    middle = ((shape[0] - 1) / 2, (shape[1] - 1) / 2)
    info: dict = {}
    zooms = np.ones(frames)
    angles = np.zeros(frames)
    t = np.arange(frames, dtype=np.float64)
    if motion == "pan":
        speed, direction = rng.uniform(1.3, 3.2), rng.uniform(0, 2 * np.pi)
        velocity = speed * np.array([np.sin(direction), np.cos(direction)])
        info = {"velocity_px_per_frame": [round(float(v), 4) for v in velocity]}
    elif motion == "zoom":
        amount = rng.uniform(0.12, 0.18) * (1 if rng.random() < 0.5 else -1)
        zooms = 1.0 + amount * t / (frames - 1)
        zooms = zooms / zooms.min()  # never magnify below 1: the still's own sampling stays the finest
        velocity = np.zeros(2)
        info = {"zoom_over_clip": round(float(zooms[-1] / zooms[0]), 4)}
    elif motion == "rotate":
        total = np.deg2rad(rng.uniform(2, 5)) * (1 if rng.random() < 0.5 else -1)
        angles = total * t / (frames - 1)
        velocity = rng.uniform(-0.5, 0.5, 2)
        info = {"degrees_over_clip": round(float(np.rad2deg(total)), 3),
                "velocity_px_per_frame": [round(float(v), 4) for v in velocity]}
    else:
        velocity = np.zeros(2)
    # The path's middle sits at the still's centre; every frame's window must lie inside the still.
    centres = [np.asarray(middle) + velocity * (k - (frames - 1) / 2) for k in range(frames)]
    if not all(_fits(shape, c, z, a, size) for c, z, a in zip(centres, zooms, angles)):
        raise ValueError(f"{name}: a {shape[0]}×{shape[1]} still is too small for a {h}×{w} {motion} "
                         f"clip of {frames} frames")
    out = np.stack([_sample(src, *_window(shape, c, z, a, size)) for c, z, a in zip(centres, zooms, angles)])
    if motion in ("caption", "credits"):
        out = _add_text(out, motion, rng, info, seed)
    frames_u8 = np.clip(np.round(out * 255), 0, 255).astype(np.uint8)
    return Clip(name, frames_u8, motion, gray, info)


def _add_text(frames: np.ndarray, motion: str, rng: np.random.Generator, info: dict, seed: int) -> np.ndarray:
    """Scroll a ticker (caption) or roll credits over float frames T×H×W×3, by whole pixels."""
    from srkit.data.synth import render_text_card
    n, h, w = frames.shape[:3]
    if motion == "caption":
        speed = int(rng.integers(2, 5))
        card = render_text_card(None, "latin", int(rng.choice((16, 24))), rng=seed, background=frames[0],
                                max_width=10 * w, style="banner")
        info.update(text_px_per_frame=[0, -speed], text=card.text)
        top = int(h * 0.68)
        start = int(rng.integers(w // 4, w // 2))
        offsets = [(top, start - speed * k) for k in range(n)]
    else:
        speed = int(rng.integers(1, 4))
        card = render_text_card(" ".join(_credit_words(rng)), "latin", 16, rng=seed, background=frames[0],
                                max_width=w - 16, style="scene", color=(1.0, 1.0, 1.0), outline=1,
                                outline_color=(0.0, 0.0, 0.0))
        info.update(text_px_per_frame=[-speed, 0], text=card.text)
        left = max(0, (w - card.image.shape[1]) // 2)
        offsets = [(h // 3 - speed * k, left) for k in range(n)]
    info.update(text_origin=list(offsets[0]), text_card_size=list(card.image.shape[:2]))
    # caption: the banner is opaque as a whole and moves with its text; credits: only the glyphs
    # (and their outline) cover the moving scene
    alpha_source = np.ones(card.mask.shape + (1,)) if motion == "caption" else card.mask[..., None].astype(np.float64)
    out = frames.copy()
    for k, offset in enumerate(offsets):
        alpha = _place(alpha_source, h, w, offset)
        out[k] = out[k] * (1 - alpha) + _place(card.image, h, w, offset) * alpha
    return out


def _credit_words(rng: np.random.Generator) -> list[str]:
    """About five lines' worth of caption text (``render_text_card`` wraps it to the frame)."""
    from srkit.data.text_corpus import sample_text
    return [sample_text("latin", rng) for _ in range(3)]


def clips_from_stills(stills: list, frames: int = CLIP_FRAMES, size: tuple[int, int] = CLIP_SIZE,
                      seed: int = 0) -> list[Clip]:
    """One clip per still: ``stills`` is a list of objects with ``name``, ``hr`` (uint8) and ``gray``
    (``srkit.data.benchmarks.BenchImage``); clip i gets motion ``MOTIONS[i % 5]`` and seed ``seed + i``.
    A still too small for the window is skipped with a warning naming it."""
    import warnings
    clips = []
    for i, still in enumerate(stills):
        try:
            clips.append(still_clip(still.hr, MOTIONS[i % len(MOTIONS)], still.name, frames, size,
                                    seed + i, still.gray))
        except ValueError as error:
            warnings.warn(f"skipped: {error}", UserWarning, stacklevel=2)
    return clips


def load_sequence_folders(root: str | Path, scale: int, max_frames: int | None = None) -> list[Clip]:
    """Every sub-folder of ``root`` holding images, as a clip of HR frames modcropped to ``scale``.

    Raises:
        FileNotFoundError: ``root`` is missing or has no sub-folder of images.
        ValueError: a sequence whose frames differ in size (names the folder and the sizes).
    """
    from srkit.imageio import is_gray_file, list_images, modcrop, read_image_uint8
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"sequence folder not found: {root}")
    clips = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        paths = list_images(sub)[:max_frames]
        if len(paths) < 2:
            continue
        frames = [modcrop(read_image_uint8(p), scale) for p in paths]
        sizes = {f.shape for f in frames}
        if len(sizes) != 1:
            raise ValueError(f"{sub}: frames of different sizes {sorted(sizes)}")
        clips.append(Clip(sub.name, np.stack(frames), "real", is_gray_file(paths[0]),
                          {"folder": str(sub), "first_frame": paths[0].name}))
    if not clips:
        raise FileNotFoundError(f"no sub-folder of two or more frames in {root} (expected one "
                                "sub-folder of HR frames per sequence, as Vid4 and REDS are distributed)")
    return clips
