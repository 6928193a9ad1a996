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


# A held-out Stanford Background val photo (never in training; `srkit bench segmentation` scores it):
# sky 24 %, water 40 %, buildings 26 %, plants 6 % of its pixels after srkit's label map.
OUTDOOR_SCENE = "2000008"


def outdoor_scene(data_dir=None, multiple: int = 12) -> tuple[np.ndarray, str]:
    """(HR uint8 H×W×3, where it comes from): a scene with several outdoor categories for the
    category explorer.

    With a data folder (``data_dir``, default ``$SRKIT_DATA``) holding Stanford
    Background: its val photo ``OUTDOOR_SCENE`` (sky, water, buildings, plants). Without one:
    scikit-image's rocket launch (sky and towers only), since no built-in image has water or plants.
    """
    from pathlib import Path

    from srkit.paths import default_data_dir
    from srkit.imageio import read_image_uint8
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    path = root / "segmentation" / "StanfordBackground" / "images" / f"{OUTDOOR_SCENE}.jpg" if root else None
    if path is not None and path.is_file():
        img, name = read_image_uint8(path), f"Stanford Background val {OUTDOOR_SCENE}"
    else:
        img, name = sample_image("building", multiple=multiple, max_side=640), "scikit-image rocket (no data folder)"
    h, w = img.shape[:2]
    return np.ascontiguousarray(img[:h - h % multiple, :w - w % multiple]), name
