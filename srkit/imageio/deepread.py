"""The files PIL decodes short or not at all, read with every bit: 16-bit gray + alpha, RGB and
RGBA PNG (PIL keeps 8 bits), colour PPM with maxval above 255, and TIFF that PIL would reduce
to 8 bits or cannot open (16-bit colour, float; through ``tifffile``); EXIF / TIFF orientation
applied to the arrays. The writers of such files: ``srkit.imageio.deepwrite``."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from srkit.imageio.icc import warn_unconverted_icc
from srkit.imageio.limits import check_pixels
from srkit.imageio.pil import int_to_uint16

_TIFF_MAGIC = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")  # classic and BigTIFF, both byte orders
HIGH_PRECISION_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
# PIL keeps only the high byte of 16-bit colour PNG samples (rawmode → the rawmode that yields
# the low bytes of the same decoded, unfiltered stream).
_PNG16_LOW_RAWMODE = {"RGB;16B": "RGB;16L", "RGBA;16B": "RGBA;16L"}


def looks_like_tiff(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) in _TIFF_MAGIC


def png16_rawmode(im) -> str | None:
    """PIL's rawmode for a 16-bit gray+alpha / RGB / RGBA PNG (decoded to 8 bits by PIL), else None."""
    if im.format != "PNG" or len(im.tile) != 1 or im.tile[0][0] != "zip":
        return None
    rawmode = im.tile[0][3]
    return rawmode if rawmode in ("RGB;16B", "RGBA;16B", "LA;16B") else None


def ppm16_tile(im):
    """PIL's tile of a colour PPM with more than 8 bits per sample (PIL decodes those to 8 bits;
    16-bit gray PGM it reads exactly), else None."""
    if im.format != "PPM" or im.mode != "RGB" or len(im.tile) != 1:
        return None
    args = im.tile[0].args
    return im.tile[0] if isinstance(args, tuple) and len(args) == 2 and args[1] > 255 else None


def read_ppm16(im, path: Path) -> np.ndarray:
    """All the precision of a colour PPM with maxval 256..65535: uint16 for maxval 65535, else
    float32 value / maxval (binary P6: big-endian samples; plain P3: decimal text)."""
    tile = ppm16_tile(im)
    maxval, (width, height) = tile.args[1], im.size
    count = width * height * 3
    with open(path, "rb") as fh:
        fh.seek(tile.offset)
        data = fh.read()
    if tile.codec_name == "ppm_plain":
        text = re.sub(rb"#[^\n]*", b" ", data)
        samples = np.array(text.split()[:count], dtype=np.int64)
    else:
        samples = np.frombuffer(data[:2 * count], dtype=">u2")
    if samples.size < count:
        raise ValueError(f"cannot read image {path}: {samples.size} of the {count} samples of a "
                         f"{width}×{height} PPM (truncated?)")
    if samples.max() > maxval:
        raise ValueError(f"{path}: PPM samples up to {int(samples.max())}, above its maxval {maxval}")
    arr = samples.reshape(height, width, 3)
    return arr.astype(np.uint16) if maxval == 65535 else (arr / maxval).astype(np.float32)


def pil_reduces_tiff(im) -> bool:
    """True for a TIFF whose samples PIL would reduce to 8 bits (16-bit RGB(A), gray+alpha) or
    whose sample format (signed, float) it opens in an 8-bit mode."""
    if im.format != "TIFF" or im.mode in HIGH_PRECISION_MODES:
        return False
    bits, fmt = im.tag_v2.get(258, 1), im.tag_v2.get(339, 1)  # BitsPerSample, SampleFormat
    bits, fmt = (v if isinstance(v, tuple) else (v,) for v in (bits, fmt))
    return max(bits) > 8 or any(f != 1 for f in fmt)


def _exif_orientation(im, path: Path) -> int:
    try:
        return int(im.getexif().get(0x0112, 1))
    except Exception as e:  # see read._pil_to_array: keep the pixels, say what was lost
        warnings.warn(f"{path}: cannot apply its EXIF orientation ({e}); the image was read as "
                      "stored", UserWarning, stacklevel=2)
        return 1


def read_png16(im, path: Path, icc: bytes | None) -> np.ndarray:
    """All 16 bits of a 16-bit gray+alpha, RGB or RGBA PNG (PIL's decode keeps 8).

    PIL's zip decoder undoes the PNG filters for the full 16-bit pixels and only then keeps the
    high byte of each sample, so a second decode of the same stream, unpacked with the matching
    little-endian rawmode, yields the low bytes exactly.
    """
    from PIL import Image
    rawmode = im.tile[0][3]

    def decode(image, args):
        image.tile = [t._replace(args=args) if hasattr(t, "_replace") else (*t[:3], args)
                      for t in image.tile]
        image.load()
        return np.asarray(image).astype(np.uint16)

    if rawmode == "LA;16B":
        # mode RGBA unpacked raw takes the 4 bytes per pixel as they are: gray hi, gray lo, alpha
        # hi, alpha lo (alpha is dropped, as for every image)
        b = decode(im, "RGBA")
        arr = b[..., 0] << 8 | b[..., 1]
        channels = "L"
    else:
        hi = decode(im, rawmode)
        with Image.open(path) as again:
            lo = decode(again, _PNG16_LOW_RAWMODE[rawmode])
        arr = hi << 8 | lo
        channels = "RGB"
    warn_unconverted_icc(path, icc, channels, "16-bit")
    return orient(arr, _exif_orientation(im, path))


def orient(a: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF / TIFF orientation (1..8) to an H×W(×C) array, as ImageOps.exif_transpose."""
    if orientation == 2:
        return a[:, ::-1]
    if orientation == 3:
        return a[::-1, ::-1]
    if orientation == 4:
        return a[::-1]
    if orientation == 5:
        return a.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(a, -1)
    if orientation == 7:
        return a[::-1, ::-1].swapaxes(0, 1)
    if orientation == 8:
        return np.rot90(a, 1)
    return a


def read_tiff(path: Path, limit: int | None, pil_error: Exception | None) -> np.ndarray:
    """Read a TIFF with tifffile: float (gray or RGB, 16/32/64-bit) and 16-bit RGB(A) samples."""
    why = f" (PIL: {pil_error})" if pil_error else ""
    try:
        import tifffile
    except ImportError as e:
        raise ValueError(f"cannot read image {path}: PIL cannot decode it exactly and tifffile "
                         f"is not installed{why}") from e
    # tifffile raises many exception types for damaged files; all become one ValueError naming it
    try:
        tif = tifffile.TiffFile(path)
    except Exception as e:
        raise ValueError(f"cannot read image {path}: {e}{why}") from e
    with tif:
        try:
            page = tif.pages[0]
            width, height = int(page.imagewidth), int(page.imagelength)
            photometric, axes, shape = int(page.photometric), page.axes, page.shape
            tag = page.tags.get("Orientation")
            orientation = int(tag.value) if tag is not None else 1
            tag = page.tags.get("InterColorProfile")  # tag values are read lazily: read them now
            icc = bytes(tag.value) if tag is not None else None
        except Exception as e:
            raise ValueError(f"cannot read image {path}: {e}{why}") from e
        check_pixels(path, width, height, limit)
        try:
            arr = page.asarray()
        except Exception as e:
            raise ValueError(f"cannot read image {path}: {e}{why}") from e
    if photometric not in (1, 2):  # MINISBLACK, RGB; others need colour conversion tifffile lacks
        name = getattr(tifffile.PHOTOMETRIC(photometric), "name", photometric)
        raise ValueError(f"{path}: TIFF with photometric interpretation {name} and {arr.dtype} "
                         f"samples of shape {shape} is not supported; save it as gray or RGB")
    if axes == "SYX":  # planar configuration "separate"
        arr = np.moveaxis(arr, 0, -1)
    elif axes not in ("YX", "YXS"):
        raise ValueError(f"{path}: unsupported TIFF layout {axes} of shape {shape}; expected one "
                         "gray or RGB image (axes YX, YXS or SYX)")
    if arr.dtype.kind in "iu" and arr.dtype.itemsize > 1 and arr.dtype.newbyteorder("=") != np.uint16:
        arr = int_to_uint16(arr, path)  # 32-bit and signed integers: 16-bit data or refused
    warn_unconverted_icc(path, icc, "L" if arr.ndim == 2 else "RGB", str(arr.dtype))
    return orient(arr, orientation)
