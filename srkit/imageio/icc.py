"""Embedded ICC profiles: 8-bit images are converted to sRGB; a profile that cannot be used, or
one on 16-bit or float data, is ignored with a ``UserWarning`` naming the file."""
from __future__ import annotations

import functools
import io
import warnings
from pathlib import Path

import numpy as np


@functools.lru_cache(maxsize=32)
def _srgb_transform(icc: bytes, mode: str):
    """(ImageCms transform from ``icc`` in ``mode`` to sRGB, or None if the profile is sRGB already,
    profile description). Raises ImageCms.PyCMSError / OSError when the profile is unusable.

    Cached: a data set's files usually share one profile and building a transform costs ~ms.
    """
    from PIL import Image, ImageCms
    src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    desc = (ImageCms.getProfileDescription(src) or "").strip() or "unnamed"
    if mode == "RGB" and "srgb" in desc.lower() and src.profile.xcolor_space.strip() == "RGB":
        return None, desc
    srgb = ImageCms.createProfile("sRGB")
    # Cached transforms are shared by threads and Pillow releases the GIL while applying them;
    # LittleCMS's 1-pixel cache is not safe for that, so it is switched off (cmsFLAGS_NOCACHE).
    nocache = getattr(getattr(ImageCms, "Flags", None), "NOCACHE", 0x0040)
    transform = ImageCms.buildTransform(src, srgb, mode, "RGB", flags=nocache)
    # Profiles equivalent to sRGB under another name must not change pixels by their round-off:
    # map a grid of colours (a gray ramp for L) and skip the conversion if it moves none by > 1.
    if mode == "RGB":
        g = np.linspace(0, 255, 16).round().astype(np.uint8)
        probe = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(64, 64, 3)
    elif mode == "L":
        probe = np.arange(256, dtype=np.uint8).reshape(16, 16)
    else:
        return transform, desc
    out = np.asarray(ImageCms.applyTransform(Image.fromarray(probe), transform)).astype(int)
    expected = probe.astype(int) if probe.ndim == 3 else np.repeat(probe[..., None].astype(int), 3, 2)
    if np.abs(out - expected).max() <= 1:
        return None, desc
    return transform, desc


def icc_to_srgb(im, icc: bytes, path: Path):
    """Convert an 8-bit L/LA/RGB/RGBA/CMYK image carrying ``icc`` to sRGB (alpha dropped).

    An sRGB profile leaves the image unchanged; a profile that cannot be used (corrupt, or not
    matching the image's colour space) is ignored with a UserWarning naming the file.
    """
    from PIL import ImageCms
    if im.mode in ("RGBA", "LA"):  # alpha is dropped anyway; ImageCms wants plain modes
        im = im.convert(im.mode[:-1])
    try:
        transform, _ = _srgb_transform(bytes(icc), im.mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as e:
        warnings.warn(f"{path}: its embedded ICC profile cannot be converted to sRGB ({e}); the "
                      "profile was ignored and the pixels read as they are", UserWarning, stacklevel=2)
        return im
    return im if transform is None else ImageCms.applyTransform(im, transform)


def warn_unconverted_icc(path: Path, icc: bytes | None, mode: str, depth: str) -> None:
    """Warn (naming the file) when a non-8-bit image carries a profile other than sRGB.

    PIL's ImageCms converts 8-bit images only; rounding 16-bit or float data to 8 bits to convert
    it would lose the precision these files exist for, so the profile is ignored instead.
    """
    if not icc:
        return
    from PIL import ImageCms
    try:
        transform, desc = _srgb_transform(bytes(icc), mode)
        if transform is None:
            return
        what = f"ICC profile {desc!r} is not sRGB"
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as e:
        what = f"ICC profile cannot be used ({e})"
    warnings.warn(f"{path}: its embedded {what}, and srkit converts profiles of 8-bit images only; "
                  f"the profile was ignored and the {depth} pixels read as if sRGB", UserWarning,
                  stacklevel=2)
