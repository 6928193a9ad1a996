"""Built-in HR test images from scikit-image (no data folder needed): the demo's and notebooks' samples."""
from __future__ import annotations

import numpy as np

SAMPLES = {"face": ("astronaut", (16, 208, 136, 328)), "text": ("text", None), "scene": ("coffee", None),
           "building": ("rocket", None), "cat": ("chelsea", None)}


def sample_image(name: str = "face", multiple: int = 12, max_side: int = 256) -> np.ndarray:
    """A built-in HR test image (uint8 H×W×3), cropped to ≤ ``max_side`` and a multiple of ``multiple``.

    Names: 'face' (astronaut's face), 'text' (scikit-image's text sample), 'scene' (coffee),
    'building' (rocket launch), 'cat' (chelsea).
    """
    import skimage.data
    if name not in SAMPLES:
        raise ValueError(f"unknown sample {name!r}; choose one of {sorted(SAMPLES)}")
    src, box = SAMPLES[name]
    img = getattr(skimage.data, src)()
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = img[..., :3]
    if box is not None:
        img = img[box[0]:box[1], box[2]:box[3]]
    h, w = img.shape[:2]
    if max(h, w) > max_side:  # centre crop to max_side
        top, left = max(0, (h - max_side) // 2), max(0, (w - max_side) // 2)
        img = img[top:top + max_side, left:left + max_side]
    h, w = img.shape[:2]
    return np.ascontiguousarray(img[:h - h % multiple, :w - w % multiple])
