"""Files deeper than 8 bits that PIL cannot write: 16-bit gray + alpha / RGB / RGBA PNG, 16-bit
PGM / PPM, and 16-bit or float TIFF (through tifffile). ``srkit.imageio.write_image`` picks these;
their readers: ``srkit.imageio.deepread``."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_tiff(path: Path, a: np.ndarray) -> None:
    """uint16 or float32 gray / gray + alpha / RGB / RGBA as an uncompressed TIFF (tifffile)."""
    import tifffile
    channels = 1 if a.ndim == 2 else a.shape[2]
    photometric = "minisblack" if channels in (1, 2) else "rgb"
    extra = {"extrasamples": ("unassalpha",)} if channels in (2, 4) else {}
    if channels == 2:  # tifffile takes a gray + alpha image as contiguous samples too
        extra["planarconfig"] = "contig"
    tifffile.imwrite(path, a, photometric=photometric, **extra)


def png16_bytes(a: np.ndarray) -> bytes:
    """A 16-bit gray / gray + alpha / RGB / RGBA PNG (PIL writes 16-bit gray only).

    Every row uses the PNG "Sub" filter (each byte minus the same byte of the pixel to its left):
    neighbouring samples of a picture are alike, so their differences deflate better than they do.
    """
    import struct
    import zlib
    a = a[..., None] if a.ndim == 2 else a
    height, width, channels = a.shape
    raw = np.ascontiguousarray(a, ">u2").view(np.uint8).reshape(height, width * channels * 2)
    bpp = 2 * channels
    sub = raw.copy()
    sub[:, bpp:] = raw[:, bpp:] - raw[:, :-bpp]  # uint8 arithmetic wraps modulo 256, as PNG wants
    stream = np.concatenate([np.ones((height, 1), np.uint8), sub], axis=1).tobytes()

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    header = struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(stream, 6))
            + chunk(b"IEND", b""))


def pnm16_bytes(a: np.ndarray) -> bytes:
    """A 16-bit binary PGM (gray) or PPM (RGB), maxval 65535; alpha is not stored (PPM has none)."""
    if a.ndim == 3 and a.shape[2] in (2, 4):
        a = a[..., :-1]
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    magic = b"P5" if a.ndim == 2 else b"P6"
    height, width = a.shape[:2]
    return magic + f"\n{width} {height}\n65535\n".encode() + np.ascontiguousarray(a, ">u2").tobytes()
