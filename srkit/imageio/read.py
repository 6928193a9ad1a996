"""Reading image files as float32 RGB in [0, 1] (:func:`read_image`), exactly or refused by name,
with the precision of their samples (:func:`read_image_bits`), their alpha (:func:`read_alpha`)
and whether they are gray (:func:`is_gray_file`); the image files of a folder
(:func:`list_images`). The conversion rules: ``srkit.imageio``."""
from __future__ import annotations

import contextlib
import re
import warnings
from pathlib import Path

import numpy as np

from srkit.imageio.convert import to_float_rgb, to_uint8
from srkit.imageio.deepread import (HIGH_PRECISION_MODES, looks_like_tiff, pil_reduces_tiff, png16_rawmode,
                                    ppm16_tile, read_png16, read_ppm16, read_tiff)
from srkit.imageio.limits import check_pixels, max_image_pixels, pil_limit, too_many_pixels
from srkit.imageio.pil import pil_alpha, pil_pixels

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as float32 RGB H×W×3 in [0, 1].

    See the ``srkit.imageio`` docstring for how each kind of file is converted: 8-bit data / 255,
    16-bit data / 65535 (all 16 bits kept), float data kept exactly (must be in [0, 1]), 1-bit data
    as 0.0 / 1.0; EXIF orientation applied; non-sRGB ICC profiles converted to sRGB (or ignored
    with a ``UserWarning`` naming the file when they cannot be); alpha dropped.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a readable image, holds values that cannot be converted
            exactly (floats outside [0, 1], NaN/inf, integers outside [0, 65535]) or has more
            pixels than :func:`max_image_pixels`; the message names the file and the value.
    """
    return read_image_bits(path)[0]


def read_image_bits(path: str | Path) -> tuple[np.ndarray, int]:
    """:func:`read_image`, and the precision of the file's samples: 8 (8-bit and 1-bit files), 16
    (16-bit files, PPM with maxval 65535) or 32 (float files, 32-bit integer files and PPM with
    another maxval above 255, read as value / maxval): what an output should keep
    (:func:`write_image`'s ``bits``)."""
    from PIL import Image, UnidentifiedImageError
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    limit = max_image_pixels()
    pil_error: Exception | None = None
    try:
        with pil_limit(limit), Image.open(path) as im:
            check_pixels(path, im.width, im.height, limit)
            _warn_pages(im, path)
            arr = _pil_to_array(im, path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        # PIL refused before srkit saw the size (DecompressionBombWarning arrives here only
        # under a warnings "error" filter); its message carries the pixel count.
        m = re.search(r"\((\d+) pixels\)", str(e))
        raise too_many_pixels(path, int(m.group(1)) if m else None, limit) from e
    except _NeedsTifffile:
        arr = None
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        if not looks_like_tiff(path):
            raise ValueError(f"cannot read image {path}: {e}") from e
        arr, pil_error = None, e
    if arr is None:  # a TIFF PIL cannot open (float RGB, float64, ...) or would reduce to 8 bits
        arr = read_tiff(path, limit, pil_error)
    bits = 8 if arr.dtype in (np.uint8, bool) else 16 if arr.dtype.kind == "u" else 32
    return to_float_rgb(arr, str(path)), bits


def _warn_pages(im, path: Path) -> None:
    """One warning naming the file when it holds several pictures (multi-page TIFF, animated WebP):
    only the first is read. MPO (a camera JPEG with a preview or depth map) is one picture."""
    pages = getattr(im, "n_frames", 1)
    if pages > 1 and im.format != "MPO":
        warnings.warn(f"{path}: holds {pages} pages; only the first is read (split the file to process "
                      "every page)", UserWarning, stacklevel=3)


class _NeedsTifffile(Exception):
    """PIL can open the TIFF but would lose precision (16-bit RGB → 8 bits)."""


def _pil_to_array(im, path: Path) -> np.ndarray:
    """The pixels of an open PIL image as a uint8 / uint16 / bool / float32 H×W(×C) array."""
    from PIL import ImageOps
    icc = im.info.get("icc_profile")
    if png16_rawmode(im):
        return read_png16(im, path, icc)
    if pil_reduces_tiff(im):
        raise _NeedsTifffile
    if ppm16_tile(im):
        return read_ppm16(im, path)
    im.load()
    try:
        ImageOps.exif_transpose(im, in_place=True)
    except Exception as e:  # a damaged EXIF block should not cost the (intact) pixels
        warnings.warn(f"{path}: cannot apply its EXIF orientation ({e}); the image was read as "
                      "stored", UserWarning, stacklevel=2)
    return pil_pixels(im, str(path), icc)


def read_image_uint8(path: str | Path) -> np.ndarray:
    """Read an image as uint8 RGB H×W×3 (8-bit files keep their exact values)."""
    return to_uint8(read_image(path))


def list_images(folder: str | Path) -> list[Path]:
    """Sorted image files in a folder (non-recursive)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def read_alpha(path: str | Path) -> np.ndarray | None:
    """The alpha channel (transparency) of an image file as uint8 H×W, EXIF orientation applied as
    by :func:`read_image`; None when the file has none or it is opaque everywhere.

    Covers what PIL opens with alpha (RGBA, LA, palette or gray/RGB with a transparent colour; the
    high byte of 16-bit alpha). A file PIL cannot open here (float or 16-bit colour TIFF) gives None.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError
    try:
        with pil_limit(max_image_pixels()), Image.open(path) as im:
            if im.mode not in ("RGBA", "RGBa", "LA", "La", "PA") and "transparency" not in im.info:
                return None
            im.load()
            with contextlib.suppress(Exception):  # read_image warns about a damaged EXIF block
                ImageOps.exif_transpose(im, in_place=True)
            alpha = pil_alpha(im)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    return None if alpha.min() == 255 else alpha


def is_gray_file(path: str | Path) -> bool:
    """True when the file stores a single channel (L, LA, 16-bit gray and gray+alpha, 1-bit, float
    or 32-bit integer gray); RGB files with equal channels are not gray files (the published
    protocol tells them apart)."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            if png16_rawmode(im) == "LA;16B":
                return True  # PIL opens 16-bit gray+alpha PNG as RGBA
            if not pil_reduces_tiff(im):
                return im.mode in ("1", "L", "LA", *HIGH_PRECISION_MODES)
    except UnidentifiedImageError:
        if not looks_like_tiff(Path(path)):
            raise
    import tifffile  # TIFFs PIL cannot open or would reduce (float, 16-bit colour)
    with tifffile.TiffFile(path) as tif:
        return int(tif.pages[0].photometric) in (0, 1)  # MINISWHITE, MINISBLACK
