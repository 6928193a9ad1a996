"""Scene helpers for synthetic data: seeded generators, image conversion, default backgrounds, crops.

Images are float32 HWC RGB in [0, 1] (docs/DESIGN.md §2).
"""
from __future__ import annotations

import functools

import numpy as np
from PIL import Image

from srkit.imageio import to_float_rgb  # noqa: F401  (re-exported: synth's callers pass any image)

DEFAULT_BACKGROUNDS = ("astronaut", "coffee", "chelsea", "rocket", "grass", "brick", "gravel", "camera")


def as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A numpy Generator from a Generator, an int seed, or None (seed 0, so results are repeatable)."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)


@functools.lru_cache(maxsize=1)
def _default_backgrounds() -> tuple[np.ndarray, ...]:
    import skimage.data

    return tuple(to_float_rgb(getattr(skimage.data, name)()) for name in DEFAULT_BACKGROUNDS)


def default_backgrounds() -> list[np.ndarray]:
    """scikit-image's bundled photos (astronaut, coffee, chelsea, rocket, grass, brick, gravel, camera)."""
    return [b.copy() for b in _default_backgrounds()]


def resize_float(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize float32 HWC to width×height with PIL's antialiased bicubic, clipped to [0, 1].

    Only for fitting backgrounds and faces; LR images are made by srkit.resize (MATLAB bicubic).
    """
    chans = [np.asarray(Image.fromarray(image[..., c]).resize((width, height), Image.BICUBIC))
             for c in range(image.shape[2])]
    return np.clip(np.stack(chans, -1), 0.0, 1.0).astype(np.float32)


def random_crop(image: np.ndarray, height: int, width: int, rng: np.random.Generator,
                labels: np.ndarray | None = None):
    """A random height×width crop; the image (and labels) are enlarged first when too small."""
    h, w = image.shape[:2]
    if h < height or w < width:
        f = max(height / h, width / w)
        nh, nw = max(height, int(np.ceil(h * f))), max(width, int(np.ceil(w * f)))
        image = resize_float(image, nw, nh)
        if labels is not None:
            labels = np.asarray(Image.fromarray(labels.astype(np.int32)).resize((nw, nh), Image.NEAREST))
        h, w = nh, nw
    y, x = int(rng.integers(0, h - height + 1)), int(rng.integers(0, w - width + 1))
    crop = image[y:y + height, x:x + width].copy()
    return crop if labels is None else (crop, labels[y:y + height, x:x + width].astype(np.int64))


def pick_background(rng: np.random.Generator) -> np.ndarray:
    """One of the default backgrounds, chosen with ``rng`` (read-only view; copy before editing)."""
    backgrounds = _default_backgrounds()
    return backgrounds[int(rng.integers(len(backgrounds)))]
