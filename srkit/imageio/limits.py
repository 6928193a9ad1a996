"""The largest image srkit reads (:func:`max_image_pixels`, ``SRKIT_MAX_PIXELS``): files over it
are refused by name as possible decompression bombs."""
from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

#: Environment variable overriding the largest pixel count :func:`read_image` accepts.
MAX_PIXELS_ENV = "SRKIT_MAX_PIXELS"
_PIL_LIMIT_LOCK = threading.Lock()


def max_image_pixels() -> int | None:
    """The largest pixel count (height × width) :func:`read_image` accepts; None = no limit.

    ``SRKIT_MAX_PIXELS`` when set (a positive integer; ``0`` or ``none`` = no limit), otherwise
    PIL's ``Image.MAX_IMAGE_PIXELS`` (89,478,485 by default; None = no limit).

    Raises:
        ValueError: ``SRKIT_MAX_PIXELS`` is set to something that is not an integer >= 0.
    """
    from PIL import Image
    env = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not env:
        return Image.MAX_IMAGE_PIXELS
    if env.lower() == "none":
        return None
    try:
        limit = int(env.replace("_", ""))
    except ValueError:
        limit = -1
    if limit < 0:
        raise ValueError(f"environment variable {MAX_PIXELS_ENV}={env!r} must be a pixel count "
                         "(an integer >= 0, 0 or 'none' for no limit)")
    return limit or None


def too_many_pixels(path: Path, pixels: int | None, limit: int | None, size: str = "") -> ValueError:
    count = f"{pixels:,} pixels{size}" if pixels is not None else "too many pixels"
    hint = pixels if pixels is not None else 4 * (limit or 0)
    return ValueError(
        f"{path} has {count}, more than the limit of {limit or 0:,} pixels, so it was refused as a "
        f"possible decompression bomb; if you trust this file, raise the limit with the environment "
        f"variable {MAX_PIXELS_ENV} (e.g. {MAX_PIXELS_ENV}={hint}, or 0 for no limit).")


def check_pixels(path: Path, width: int, height: int, limit: int | None) -> None:
    if limit is not None and width * height > limit:
        raise too_many_pixels(path, width * height, limit, f" ({height}×{width})")


@contextlib.contextmanager
def pil_limit(limit: int | None):
    """Let PIL open files up to ``limit`` pixels (srkit checks the limit itself).

    PIL refuses files over ``2 × Image.MAX_IMAGE_PIXELS`` inside ``Image.open``, before srkit can
    apply a larger limit the user asked for with SRKIT_MAX_PIXELS, so PIL's global limit is raised
    while such a file is read. The lock keeps concurrent srkit reads from restoring it early; PIL
    users outside srkit in other threads see the raised limit meanwhile, which only admits what
    the user declared trusted.
    """
    from PIL import Image
    pil = Image.MAX_IMAGE_PIXELS
    if pil is None or (limit is not None and limit <= pil):
        yield
        return
    with _PIL_LIMIT_LOCK:
        pil = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = limit
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = pil
