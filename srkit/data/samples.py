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


CAPTION = "NEWS 1968"  # the caption of caption_sample: capitals and digits, as in broadcast graphics


def caption_sample(multiple: int = 12, size: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """A broadcast-style caption on a photo, with its exact text mask: (HR uint8 H×W×3, bool H×W).

    ``CAPTION`` in the default Latin face (DejaVu Sans, ``fonts-dejavu-core``) at ``size`` px em
    (24: a ×2 LR shows it at 12 px, small-caption size), white on a translucent dark bar across the
    lower third of scikit-image's rocket launch (``sample_image('building')``). The mask is True
    exactly where the glyphs (and their outline) drew, so a crop can be chosen where the letters are.

    Raises:
        srkit.data.fonts.FontNotFoundError: no Latin font installed (the message names the package).
    """
    from srkit.data.fonts import find_fonts
    from srkit.data.synth import render_text_card
    img = sample_image("building", multiple=multiple)
    font = find_fonts("latin")[0]
    probe = render_text_card(CAPTION, "latin", size, rng=0, background=img, font=font, style="banner",
                             color=(1.0, 1.0, 1.0), outline=0, multiple_of=multiple)
    ch, cw = probe.mask.shape
    h, w = img.shape[:2]
    if ch > h or cw > w:
        raise ValueError(f"caption of {size} px em needs {ch}×{cw} px, larger than the {h}×{w} photo")
    y, x = (2 * h // 3 - ch // 2) // multiple * multiple, (w - cw) // 2 // multiple * multiple
    # drawn again on the very region it covers, so the bar shows the photo underneath it
    card = render_text_card(CAPTION, "latin", size, rng=0, background=img[y:y + ch, x:x + cw], font=font,
                            style="banner", color=(1.0, 1.0, 1.0), outline=0, multiple_of=multiple)
    out, mask = img.copy(), np.zeros((h, w), bool)
    out[y:y + ch, x:x + cw] = np.clip(np.round(card.image * 255), 0, 255).astype(np.uint8)
    mask[y:y + ch, x:x + cw] = card.mask
    return out, mask


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
