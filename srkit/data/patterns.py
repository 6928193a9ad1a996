"""Test patterns that archive material is full of and training data is not.

Fine periodic texture at full contrast (1-pixel stripes of a shirt or a test card, a checkerboard,
halftone dots of newsprint, a 1-bit dithered scan) sits at or near the Nyquist frequency, where no
blurred-and-downscaled training image has energy. ``srkit.inference.guard`` exists because such input drives
the networks out of range; ``tests/test_guard.py`` and ``bench/hostile_textures.py`` use these.
"""
from __future__ import annotations

import numpy as np

PATTERNS = ("stripes", "checker", "halftone", "dither")


def periodic_pattern(name: str, size: int = 64, seed: int = 0) -> np.ndarray:
    """A size×size uint8 RGB (gray, 0 or 255) pattern.

    Args:
        name: "stripes" (1-pixel vertical lines), "checker" (1-pixel checkerboard), "halftone"
            (dots of radius 1.2 on a 4-pixel grid) or "dither" (a horizontal 0→1 ramp, 1-bit
            dithered against seeded uniform noise).
        size: side in pixels (default 64).
        seed: noise seed of the dither (default 0).
    """
    yy, xx = np.mgrid[:size, :size]
    if name == "stripes":
        gray = xx % 2
    elif name == "checker":
        gray = (xx + yy) % 2
    elif name == "halftone":
        gray = np.hypot(xx % 4 - 1.5, yy % 4 - 1.5) < 1.2
    elif name == "dither":
        gray = np.linspace(0, 1, size)[None] > np.random.default_rng(seed).random((size, size))
    else:
        raise ValueError(f"unknown pattern {name!r}; choose one of {PATTERNS}")
    return np.repeat((np.asarray(gray) * 255).astype(np.uint8)[..., None], 3, axis=2)
