"""The pixels of a PIL image of any mode (:func:`pil_pixels`, :func:`pil_alpha`): the one conversion
of files and of PIL images passed to ``srkit.upscale``."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from srkit.imageio.icc import icc_to_srgb, warn_unconverted_icc

#: The PIL modes :func:`pil_pixels` reads exactly (every mode of ``PIL.Image.MODES``).
PIL_MODES = ("1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB",
             "HSV", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def pil_pixels(im, name: str = "image", icc: bytes | None = None) -> np.ndarray:
    """The pixels of a PIL image of any mode, unrounded: the one conversion of files and of PIL
    images passed to ``srkit.upscale``, so both give the same pixels.

    Args:
        im: a loaded PIL image; never changed (conversions make new images).
        name: what to call it in warnings and errors (the file path for files).
        icc: its ICC profile (default: ``im.info['icc_profile']``); 8-bit images are converted to
            sRGB, other depths keep their values with a warning (:func:`warn_unconverted_icc`).

    Returns:
        uint8 H×W(×C) for 8-bit modes (palette expanded to RGB/RGBA, premultiplied alpha undone,
        CMYK / YCbCr / LAB / HSV converted to RGB, the pad byte of RGBX dropped), uint16 H×W for
        I;16, I;16B, I;16L, I;16N and for mode I holding [0, 65535], float32 H×W for F (values
        checked later by :func:`to_float_rgb`), bool H×W for 1. Alpha, when the mode has it, is the
        last channel (:func:`to_float_rgb` drops it).

    Raises:
        ValueError: mode I outside [0, 65535], or a mode PIL cannot convert to RGB (named).
    """
    icc = im.info.get("icc_profile") if icc is None else icc
    mode = im.mode
    if mode in ("P", "PA"):
        im = im.convert("RGBA" if mode == "PA" or "transparency" in im.info else "RGB")
    elif mode in ("RGBa", "La"):  # premultiplied alpha: back to straight colour
        im = im.convert(mode[:-1] + "A")
    elif mode == "RGBX":  # the fourth byte is padding, not alpha
        im = im.convert("RGB")
    elif mode.startswith("I;16"):
        arr = np.asarray(im)  # uint16 in either byte order; to_float_rgb divides by 65535
        warn_unconverted_icc(name, icc, "L", "16-bit")
        return arr if arr.dtype.kind == "u" else int_to_uint16(arr, name)
    elif mode == "I":
        warn_unconverted_icc(name, icc, "L", "32-bit integer")
        return int_to_uint16(np.asarray(im), name)
    elif mode == "F":
        warn_unconverted_icc(name, icc, "L", "float")
        return np.asarray(im, dtype=np.float32)  # range checked by to_float_rgb with the name
    elif mode == "1":
        return np.asarray(im)  # bool: exactly 0.0 / 1.0
    if icc and im.mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        im = icc_to_srgb(im, icc, name)
    if im.mode not in ("L", "LA", "RGB", "RGBA"):  # CMYK, YCbCr, LAB, HSV and modes PIL adds later
        try:
            im = im.convert("RGB")
        except ValueError as e:  # PIL's message names neither the file nor the mode
            raise ValueError(f"{name}: cannot convert PIL mode {im.mode} to RGB: {e}") from e
    return np.asarray(im)


def pil_alpha(im) -> np.ndarray | None:
    """The alpha channel of a PIL image as uint8 H×W (premultiplied or palette transparency
    included; 16-bit alpha keeps its high byte), or None when its mode has none."""
    if im.mode not in ("RGBA", "RGBa", "LA", "La", "PA") and "transparency" not in im.info:
        return None
    if im.mode in ("LA", "La"):  # PIL converts La to LA only
        return np.asarray(im.convert("LA"))[..., 1]
    return np.asarray(im.convert("RGBA").getchannel("A"))


def int_to_uint16(arr: np.ndarray, path: Path) -> np.ndarray:
    """32-bit integer pixels holding 16-bit data → uint16; anything outside [0, 65535] is refused."""
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi > 65535:
        raise ValueError(f"{path}: {arr.dtype} integer pixels range over [{lo}, {hi}], outside the "
                         "16-bit range [0, 65535] that srkit reads integer images in (as value / "
                         "65535); convert the file to 8- or 16-bit or to float in [0, 1]")
    return arr.astype(np.uint16)
