"""Writing images atomically at the precision asked for, as far as the format holds it
(:func:`write_image`, :func:`format_bits`: 16-bit PNG and PPM/PGM, float TIFF, else 8 bits), and
which formats hold alpha (:func:`holds_alpha`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from srkit.imageio.atomic import atomic_path
from srkit.imageio.convert import check_float_values, to_uint8

#: The most precision (bits per sample) :func:`write_image` stores in each format (PIL's names):
#: 16-bit PNG and PPM/PGM, float32 TIFF; JPEG, WebP and BMP hold 8.
FORMAT_BITS = {"PNG": 16, "PPM": 16, "TIFF": 32}


def format_bits(path: str | Path) -> int:
    """The most bits per sample :func:`write_image` can store in a file of this suffix (8, 16 or 32)."""
    return FORMAT_BITS.get(_pil_format(Path(path)), 8)


def write_image(path: str | Path, img: np.ndarray, bits: int | None = None) -> int:
    """Write an H×W, H×W×1, H×W×2 (gray + alpha), H×W×3 or H×W×4 (RGBA) image atomically; the
    format follows the suffix.

    Args:
        img: uint8, uint16 (/ 65535) or float in [0, 1] (values within 1e-3 outside are clipped).
        bits: the precision to keep: 8, 16 or 32 (float); default 16 for uint16 arrays, else 8. A
            format holding less (:func:`format_bits`: JPEG, WebP and BMP hold 8 bits, PNG and
            PPM 16) gets what it holds; the caller compares the returned value to say so.

    Returns:
        The bits per sample written (8, 16 or 32).
    """
    from PIL import Image

    from srkit.imageio import deepwrite
    a = np.asarray(img)
    path = Path(path)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if bits is None:
        bits = 16 if a.dtype == np.uint16 else 8
    if bits not in (8, 16, 32):
        raise ValueError(f"{path}: bits must be 8, 16 or 32, got {bits!r}")
    fmt = _pil_format(path)
    bits = min(bits, FORMAT_BITS.get(fmt, 8))
    if bits == 8 or (a.dtype == np.uint8 and bits > 8):
        a = a if a.dtype == np.uint8 else to_uint8(_unit_samples(a, path))
        with atomic_path(path) as tmp:
            Image.fromarray(a).save(tmp, format=fmt)
        return 8
    f = _unit_samples(a, path)
    with atomic_path(path) as tmp:
        if bits == 32:  # TIFF only
            deepwrite.write_tiff(tmp, f.astype(np.float32))
        else:
            q = np.round(f * 65535.0).astype(np.uint16)
            if fmt == "TIFF":
                deepwrite.write_tiff(tmp, q)
            elif fmt == "PNG":
                tmp.write_bytes(deepwrite.png16_bytes(q))
            else:
                tmp.write_bytes(deepwrite.pnm16_bytes(q))
    return bits


def _unit_samples(a: np.ndarray, path: Path) -> np.ndarray:
    """Any sample array as float64 in [0, 1], every channel kept (``to_float_rgb`` would make RGB)."""
    if a.dtype == np.uint8:
        return a / 255.0
    if a.dtype.kind == "u" and a.dtype.itemsize == 2:
        return a.astype(np.float64) / 65535.0
    if a.dtype == bool:
        return a.astype(np.float64)
    if a.dtype.kind != "f":
        raise ValueError(f"{path}: cannot write {a.dtype} samples; use uint8, uint16 or float in [0, 1]")
    finite = np.isfinite(a)
    lo, hi = (float(a.min()), float(a.max())) if finite.all() else (0.0, 0.0)
    check_float_values(str(path), a.size, int(a.size - np.count_nonzero(finite)), lo, hi)
    return np.clip(a.astype(np.float64), 0.0, 1.0)


def _pil_format(path: Path) -> str:
    from PIL import Image
    Image.init()
    fmt = Image.EXTENSION.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unknown image suffix {path.suffix!r}")
    return fmt


#: Formats (PIL names) whose files hold an alpha channel as srkit writes it.
ALPHA_FORMATS = ("PNG", "TIFF", "WEBP")


def holds_alpha(path: str | Path) -> bool:
    """Whether a file of this suffix holds the alpha channel srkit writes (PNG, TIFF, WebP)."""
    return _pil_format(Path(path)) in ALPHA_FORMATS
