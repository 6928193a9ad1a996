"""Reading and writing images under srkit's conventions (float32 RGB in [0, 1]).

Gray, gray+alpha, RGBA, palette and 16-bit files are converted on load; anything that cannot be
converted safely raises an error that names the file and the problem. Writes are atomic.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; it replaces ``path`` only if the block succeeds.

    A crash, a full disk or an exception leaves the previous file (if any) untouched and no
    temporary file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o666 & ~umask)  # mkstemp makes 0600; outputs should get the usual permissions
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def to_float_rgb(arr: np.ndarray, name: str = "image") -> np.ndarray:
    """Convert an H×W, H×W×1/2/3/4 array of uint8, uint16, bool or float to float32 RGB in [0, 1].

    Alpha is dropped (composited on black would invent content; dropping keeps the colours).
    Floats must already be in [0, 1] (values within 1e-3 outside are clipped) and finite.
    """
    a = np.asarray(arr)
    if a.ndim == 3 and a.shape[0] in (1, 3, 4) and a.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"{name}: shape {a.shape} looks channel-first; srkit expects H×W×C arrays")
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 2, 3, 4)):
        raise ValueError(f"{name}: expected H×W or H×W×C with C in 1..4, got shape {a.shape}")
    if a.dtype == np.uint8:
        f = a.astype(np.float32) / 255.0
    elif a.dtype == np.uint16:
        f = a.astype(np.float32) / 65535.0
    elif a.dtype == bool:
        f = a.astype(np.float32)
    elif np.issubdtype(a.dtype, np.floating):
        f = a.astype(np.float32)
        if not np.isfinite(f).all():
            raise ValueError(f"{name}: contains NaN or inf values")
        lo, hi = float(f.min()), float(f.max())
        if lo < -1e-3 or hi > 1 + 1e-3:
            raise ValueError(f"{name}: float values must be in [0, 1], got range [{lo:.4g}, {hi:.4g}]"
                             " (divide 0-255 data by 255)")
        f = np.clip(f, 0.0, 1.0)
    else:
        raise ValueError(f"{name}: unsupported dtype {a.dtype}; use uint8, uint16 or float in [0, 1]")
    if f.ndim == 2:
        f = f[..., None]
    if f.shape[2] in (2, 4):  # drop alpha
        f = f[..., :-1]
    if f.shape[2] == 1:
        f = np.repeat(f, 3, axis=2)
    return np.ascontiguousarray(f)


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as float32 RGB H×W×3 in [0, 1].

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a readable image (the message names the file).
    """
    from PIL import Image, UnidentifiedImageError
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            elif im.mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(im).astype(np.uint16 if im.mode.startswith("I;16") else np.int64)
                if arr.dtype != np.uint16:  # 32-bit int mode: PNG 16-bit gray lands here in some Pillows
                    arr = np.clip(arr, 0, 65535).astype(np.uint16)
                return to_float_rgb(arr, str(path))
            elif im.mode in ("CMYK", "YCbCr", "LAB", "HSV", "1", "F"):
                im = im.convert("RGB")
            arr = np.asarray(im)
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(f"cannot read image {path}: {e}") from e
    return to_float_rgb(arr, str(path))


def to_uint8(img: np.ndarray) -> np.ndarray:
    """float [0, 1] → uint8 with rounding (the evaluation protocol's quantisation)."""
    return np.clip(np.round(np.asarray(img, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def read_image_uint8(path: str | Path) -> np.ndarray:
    """Read an image as uint8 RGB H×W×3 (8-bit files keep their exact values)."""
    return to_uint8(read_image(path))


def write_image(path: str | Path, img: np.ndarray) -> None:
    """Write uint8 or float [0, 1] H×W×3 (or H×W) atomically; the format follows the suffix."""
    from PIL import Image
    a = np.asarray(img)
    if a.dtype != np.uint8:
        a = to_uint8(to_float_rgb(a, str(path)))
    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(a).save(tmp, format=_pil_format(path))


def _pil_format(path: Path) -> str:
    from PIL import Image
    Image.init()
    fmt = Image.EXTENSION.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unknown image suffix {path.suffix!r}")
    return fmt


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop H×W(×C) to multiples of ``scale`` from the top-left (the benchmarks' convention)."""
    h, w = img.shape[:2]
    if h < scale or w < scale:
        raise ValueError(f"image of size {h}×{w} is smaller than the scale {scale}")
    return img[: h - h % scale, : w - w % scale]


def as_tensor(img: np.ndarray, device=None) -> torch.Tensor:
    """H×W×3 uint8 or float [0, 1] → 1×3×H×W float32 tensor."""
    f = to_float_rgb(img)
    return torch.from_numpy(f).permute(2, 0, 1).unsqueeze(0).to(device)


def as_numpy(t: torch.Tensor) -> np.ndarray:
    """1×3×H×W or 3×H×W tensor → H×W×3 float32 array (clipped to [0, 1])."""
    if t.dim() == 4:
        if t.shape[0] != 1:
            raise ValueError(f"as_numpy expects one image, got batch of {t.shape[0]}")
        t = t[0]
    return t.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()


def list_images(folder: str | Path) -> list[Path]:
    """Sorted image files in a folder (non-recursive)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def is_gray_file(path: str | Path) -> bool:
    """True when the file stores a single channel (L, LA, 16-bit gray, 1-bit); RGB files with
    equal channels are not gray files (the published protocol tells them apart)."""
    from PIL import Image
    with Image.open(path) as im:
        return im.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
