"""Synthetic composites with exact labels: rendered text, pasted faces, segmentation samples.

Everything here is float32 HWC RGB in [0, 1] (docs/DESIGN.md §2) and seeded by a numpy Generator: the
same seed gives the same pixels. Text is drawn with PIL's FreeType renderer on a copy of the
background; the mask is exactly the set of pixels the glyphs (and their outline) touched, so pixels
outside the mask are bit-identical to the background.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from srkit.categories import CATEGORY_INDEX
from srkit.data.fonts import SCRIPTS, find_fonts, load_font
from srkit.data.scenes import (as_rng, default_backgrounds, pick_background, random_crop, resize_float,  # noqa: F401
                               to_float_rgb)
from srkit.data.text_corpus import sample_text

FACE_LABEL = CATEGORY_INDEX["face"]  # 8
TEXT_LABEL = CATEGORY_INDEX["text"]  # 9
TEXT_LABELS = ("glyphs", "box")  # what the text category covers in a composite (make_segmentation_sample)
MIN_CONTRAST = 0.5  # luma difference text vs background mean; broadcast captions are high-contrast
BANNER_OPACITY = 0.75  # share of the caption bar colour; the rest is the photo showing through
TEXT_SIZES = (12, 16, 24, 32, 48)  # em size in HR pixels: small ticker text up to titles
# Caption colours (RGB in [0, 1]); one is chosen that contrasts with the background patch.
PALETTE = ((1.0, 1.0, 1.0), (1.0, 0.9, 0.1), (0.0, 0.0, 0.0), (0.9, 0.1, 0.1),
           (0.1, 0.85, 0.9), (0.1, 0.2, 0.8), (0.1, 0.7, 0.2))


def wrap_text(text: str, font, max_width: float, script: str) -> str:
    """Greedy line wrap to ``max_width`` pixels: at spaces for Latin/digits, at any character for Chinese."""
    units = list(text) if script == "chinese" else text.split(" ")
    joiner = "" if script == "chinese" else " "
    lines, line = [], ""
    for unit in units:
        trial = unit if not line else line + joiner + unit
        if line and font.getlength(trial) > max_width:
            lines.append(line)
            line = unit
        else:
            line = trial
    return "\n".join(lines + [line])


def draw_text(image: np.ndarray, text: str, font, xy: tuple[float, float], color: Sequence[float],
              outline: int = 0, outline_color: Sequence[float] = (0.0, 0.0, 0.0), spacing: int = 4):
    """Draw (multi-line) text on a copy of ``image``.

    Args:
        image: float32 HWC RGB in [0, 1].
        text: the string; ``\\n`` separates lines.
        font: a PIL FreeType font (see ``srkit.data.fonts.load_font``).
        xy: top-left anchor (x, y) in pixels, PIL's convention; text may run off the image (clipped).
        color / outline_color: RGB in [0, 1].
        outline: stroke width in pixels (0 = none).
        spacing: extra pixels between lines.

    Returns:
        (image, mask): the new float32 image and a bool HW mask that is True exactly where the
        glyphs or their outline have non-zero coverage; outside it the image equals the input.
    """
    h, w = image.shape[:2]
    fill_layer = Image.new("L", (w, h), 0)
    ImageDraw.Draw(fill_layer).multiline_text(xy, text, font=font, fill=255, spacing=spacing)
    fill = np.asarray(fill_layer, dtype=np.float32)[..., None] / 255.0
    out = image.astype(np.float32, copy=True)
    covered = fill[..., 0] > 0
    if outline > 0:
        # The stroke layer covers glyph + outline; painting it first and the fill on top gives
        # the usual broadcast look (letters with a dark rim) with no halo outside the stroke.
        stroke_layer = Image.new("L", (w, h), 0)
        ImageDraw.Draw(stroke_layer).multiline_text(xy, text, font=font, fill=255, spacing=spacing,
                                                    stroke_width=int(outline), stroke_fill=255)
        stroke = np.asarray(stroke_layer, dtype=np.float32)[..., None] / 255.0
        out = out * (1 - stroke) + np.asarray(outline_color, np.float32) * stroke
        covered |= stroke[..., 0] > 0
    out = out * (1 - fill) + np.asarray(color, np.float32) * fill
    # Where coverage is 0 the blend above is an exact identity, so the mask is exact.
    out[~covered] = image[~covered]
    return np.clip(out, 0.0, 1.0).astype(np.float32), covered


def _luma(rgb) -> float:
    r, g, b = np.asarray(rgb, np.float64)[..., :3].reshape(-1, 3).mean(0)
    return float(0.299 * r + 0.587 * g + 0.114 * b)


def pick_colors(patch: np.ndarray, rng: np.random.Generator, size: int):
    """(text colour, outline width, outline colour) readable on ``patch`` (float32 HWC)."""
    bg = _luma(patch)
    readable = [c for c in PALETTE if abs(_luma(c) - bg) >= MIN_CONTRAST]
    if not readable:  # mid-grey background: white or black, whichever stands out more
        readable = [max((PALETTE[0], PALETTE[2]), key=lambda c: abs(_luma(c) - bg))]
    color = readable[int(rng.integers(len(readable)))]
    # Outlines on half of the cards, as captions often have them; width grows with the size.
    outline = max(1, size // 16) if rng.random() < 0.5 else 0
    outline_color = (0.0, 0.0, 0.0) if _luma(color) > 0.5 else (1.0, 1.0, 1.0)
    return color, outline, outline_color


@dataclass
class TextCard:
    """A rendered text card and its ground truth.

    Attributes:
        image: float32 HWC RGB in [0, 1].
        mask: bool HW, True exactly on pixels the glyphs (or outline) cover.
        text: the rendered string (``\\n`` at line breaks).
        script: 'latin' | 'digits' | 'chinese'.
        size: font em size in pixels.
        font: path of the font file.
    """

    image: np.ndarray
    mask: np.ndarray
    text: str
    script: str
    size: int
    font: str
    color: tuple = (1.0, 1.0, 1.0)
    outline: int = 0
    style: str = "scene"


def render_text_card(text: str | None = None, script: str = "latin", size: int = 32, *,
                     rng: np.random.Generator | int | None = None, background: np.ndarray | None = None,
                     font: str | Path | None = None, color: Sequence[float] | None = None,
                     outline: int | None = None, outline_color: Sequence[float] | None = None,
                     max_width: int = 640, margin: int | None = None, multiple_of: int = 1,
                     style: str = "scene") -> TextCard:
    """Render a caption on a crop of a natural image.

    Args:
        text: the string; None draws one from ``srkit.data.text_corpus`` for ``script``.
        script: 'latin' | 'digits' | 'chinese' (picks fonts and the OCR language later).
        size: font em size in pixels (>= 6; 12-48 are typical TV caption sizes).
        rng: numpy Generator or int seed (None = seed 0); picks text, font, colours and the crop.
        background: image to crop the card from (any dtype/channels); None picks a
            scikit-image photo.
        font: font file; None picks one of the script's installed fonts.
        color / outline / outline_color: RGB in [0, 1] / stroke px / RGB; None chooses colours
            that contrast with the background crop and an outline on half the cards.
        max_width: wrap lines longer than this many pixels (default 640).
        margin: blank border in pixels around the text (default max(8, size // 2)), so that border
            shaving in metrics never cuts glyphs.
        multiple_of: pad the card so height and width are multiples of this (e.g. the SR scale).
        style: 'scene' (text straight on the photo), 'banner' (on a translucent dark or light
            caption bar over the photo) or 'plain' (on a flat colour).

    Raises:
        srkit.data.fonts.FontNotFoundError: the script's fonts are not installed.
    """
    if script not in SCRIPTS:
        raise ValueError(f"script must be one of {SCRIPTS}, got {script!r}")
    if size < 6:
        raise ValueError(f"text size must be >= 6 px, got {size}")
    rng = as_rng(rng)
    text = sample_text(script, rng) if text is None else text
    fonts = find_fonts(script)
    font_path = Path(font) if font is not None else fonts[int(rng.integers(len(fonts)))]
    pil_font = load_font(font_path, size)
    if background is None:
        background = pick_background(rng)
    background = to_float_rgb(background)
    margin = max(8, size // 2) if margin is None else int(margin)

    text = wrap_text(text, pil_font, max_width, script)
    stroke = max(1, size // 16) if outline is None else int(outline)  # reserve room for a stroke
    spacing = max(2, size // 6)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    x0, y0, x1, y1 = probe.multiline_textbbox((0, 0), text, font=pil_font, spacing=spacing, stroke_width=stroke)
    m = max(1, multiple_of)
    width = -(-(x1 - x0 + 2 * margin) // m) * m
    height = -(-(y1 - y0 + 2 * margin) // m) * m
    patch = random_crop(background, height, width, rng)
    if style == "banner":
        # A caption bar: the scene shows through a dark or light box, as in TV graphics.
        shade = 0.08 if rng.random() < 0.7 else 0.92
        patch = (1 - BANNER_OPACITY) * patch + BANNER_OPACITY * shade
    elif style == "plain":
        patch = np.broadcast_to(np.asarray(PALETTE[int(rng.integers(len(PALETTE)))], np.float32),
                                patch.shape).copy()
    elif style != "scene":
        raise ValueError(f"style must be 'scene', 'banner' or 'plain', got {style!r}")
    auto_color, auto_outline, auto_outline_color = pick_colors(patch, rng, size)
    color = auto_color if color is None else tuple(color)
    outline = auto_outline if outline is None else int(outline)
    outline_color = auto_outline_color if outline_color is None else tuple(outline_color)
    # Centre the ink box in the card (the padding to multiple_of is split evenly).
    xy = ((width - (x1 - x0)) / 2 - x0, (height - (y1 - y0)) / 2 - y0)
    xy = (int(round(xy[0])), int(round(xy[1])))
    image, mask = draw_text(patch, text, pil_font, xy, color, outline, outline_color, spacing)
    return TextCard(image, mask, text, script, int(size), str(font_path), tuple(color), outline, style)


@dataclass
class FaceComposite:
    """A face pasted into a scene.

    Attributes:
        image: float32 HWC RGB in [0, 1].
        mask: bool HW, True where the face's blending weight is >= 0.5 (the 'face' category).
        alpha: float32 HW blending weight in [0, 1] (soft elliptical edge).
        box: (top, left, height, width) of the pasted square in the image.
    """

    image: np.ndarray
    mask: np.ndarray
    alpha: np.ndarray
    box: tuple[int, int, int, int]


def elliptical_alpha(height: int, width: int, softness: float = 0.15) -> np.ndarray:
    """Soft elliptical weight (float32 HW in [0, 1]) covering the face of an aligned crop.

    The ellipse is centred slightly below the middle with semi-axes 0.36 W × 0.45 H, which holds
    forehead to chin of FFHQ-style aligned crops (GFPGAN/CodeFormer inputs); ``softness`` is the
    width of the linear ramp as a fraction of the radius (0 = hard edge).
    """
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r = np.hypot((xx + 0.5 - 0.5 * width) / (0.36 * width), (yy + 0.5 - 0.53 * height) / (0.45 * height))
    if softness <= 0:
        return (r <= 1).astype(np.float32)
    return np.clip((1.0 - r) / softness, 0.0, 1.0).astype(np.float32)


def composite_face(background: np.ndarray, face: np.ndarray, *, size: int | None = None,
                   center: tuple[int, int] | None = None, rng: np.random.Generator | int | None = None,
                   softness: float = 0.15) -> FaceComposite:
    """Paste a face crop into ``background`` with a soft elliptical mask.

    Args:
        background: scene image (any dtype/channels); not modified.
        face: face crop (aligned, roughly square; e.g. ``data/faces/*/cropped_faces``).
        size: pasted height in pixels (width keeps the aspect); None draws one in
            [min(H, W) / 5, min(H, W) / 2].
        center: (y, x) of the paste; None draws one so the face lies inside the image.
        rng: numpy Generator or int seed (None = seed 0).
        softness: ramp width of the elliptical edge (0-1, default 0.15).
    """
    rng = as_rng(rng)
    scene = to_float_rgb(background)
    face = to_float_rgb(face)
    h, w = scene.shape[:2]
    short = min(h, w)
    size = int(rng.integers(max(8, short // 5), max(9, short // 2 + 1))) if size is None else int(size)
    fh, fw = size, max(1, int(round(size * face.shape[1] / face.shape[0])))
    if fh > h or fw > w:
        raise ValueError(f"face of {fh}x{fw} px does not fit a {h}x{w} background")
    if center is None:
        center = (int(rng.integers(fh // 2, h - (fh - fh // 2) + 1)),
                  int(rng.integers(fw // 2, w - (fw - fw // 2) + 1)))
    top = int(np.clip(center[0] - fh // 2, 0, h - fh))
    left = int(np.clip(center[1] - fw // 2, 0, w - fw))
    alpha = np.zeros((h, w), np.float32)
    alpha[top:top + fh, left:left + fw] = elliptical_alpha(fh, fw, softness)
    placed = scene.copy()
    placed[top:top + fh, left:left + fw] = resize_float(face, fw, fh)
    image = scene * (1 - alpha[..., None]) + placed * alpha[..., None]
    return FaceComposite(image.astype(np.float32), alpha >= 0.5, alpha, (top, left, fh, fw))


def make_segmentation_sample(background: np.ndarray, rng: np.random.Generator | int | None = None, *,
                             labels: np.ndarray | None = None, faces: Sequence[np.ndarray] = (),
                             crop: int | tuple[int, int] | None = None, n_text: tuple[int, int] = (0, 3),
                             n_faces: tuple[int, int] = (0, 2), sizes: Sequence[int] = TEXT_SIZES,
                             scripts: Sequence[str] = SCRIPTS, text_label: str = "glyphs"):
    """A training sample for the segmentation net: a scene with faces (8) and captions (9) pasted in.

    Args:
        background: scene image (any dtype/channels).
        rng: numpy Generator or int seed (None = seed 0).
        labels: HW int category map of ``background`` (0-9, negative = ignore); None = all 0.
        faces: face crops to draw from; empty = no faces.
        crop: output size (int or (H, W)); None keeps the background size.
        n_text / n_faces: inclusive ranges for the number of captions / faces.
        sizes, scripts: caption sizes (px) and scripts to draw from.
        text_label: what the text category (9) covers: 'glyphs' (default), exactly the pixels the
            glyphs and their outline touch; 'box', the caption's box (the smallest rectangle around
            its glyphs, clipped to the frame). At ×2 and ×4 the strokes of 12–16 px captions are
            one LR pixel wide or less, so a stroke label sampled at LR block centres is mostly
            aliasing; the box is the region whose texture the generator should render as text.

    Returns:
        (image, label): float32 HWC RGB in [0, 1], int64 HW categories (docs/DESIGN.md §2 order).
    """
    if text_label not in TEXT_LABELS:
        raise ValueError(f"text_label must be one of {TEXT_LABELS}, got {text_label!r}")
    rng = as_rng(rng)
    image = to_float_rgb(background)
    label = np.zeros(image.shape[:2], np.int64) if labels is None else np.asarray(labels, np.int64)
    if label.shape != image.shape[:2]:
        raise ValueError(f"labels shape {label.shape} does not match image shape {image.shape[:2]}")
    if crop is not None:
        ch, cw = (crop, crop) if isinstance(crop, int) else crop
        image, label = random_crop(image, ch, cw, rng, label)
    h, w = image.shape[:2]
    for _ in range(int(rng.integers(n_faces[0], n_faces[1] + 1)) if len(faces) else 0):
        face = faces[int(rng.integers(len(faces)))]
        fc = composite_face(image, face, rng=rng)
        image = fc.image
        label[fc.mask] = FACE_LABEL
    for _ in range(int(rng.integers(n_text[0], n_text[1] + 1))):
        script = scripts[int(rng.integers(len(scripts)))]
        size = int(sizes[int(rng.integers(len(sizes)))])
        fonts = find_fonts(script)
        font = load_font(fonts[int(rng.integers(len(fonts)))], size)
        text = wrap_text(sample_text(script, rng), font, max(size * 4, int(0.9 * w)), script)
        x0, y0, x1, y1 = ImageDraw.Draw(Image.new("L", (1, 1))).multiline_textbbox((0, 0), text, font=font)
        # At least about three quarters of the caption stays inside the frame, as on screen.
        tw, th = x1 - x0, y1 - y0
        xy = (int(rng.integers(-tw // 4, max(1 - tw // 4, w - 3 * tw // 4))) - x0,
              int(rng.integers(-th // 4, max(1 - th // 4, h - 3 * th // 4))) - y0)
        color, outline, outline_color = pick_colors(image, rng, size)
        image, mask = draw_text(image, text, font, xy, color, outline, outline_color)
        if text_label == "box" and mask.any():
            rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
            label[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = TEXT_LABEL
        else:
            label[mask] = TEXT_LABEL
    return image, label
