"""Arrays and tensors under srkit's conventions: any H×W(×C) array to float32 RGB in [0, 1]
(:func:`to_float_rgb`, the checks and messages of every array), any image to uint8
(:func:`to_uint8`, the one converter), N×3×H×W tensors (:func:`as_tensor`,
:func:`check_tensor_image`) and the benchmarks' crop (:func:`modcrop`)."""
from __future__ import annotations

import numpy as np
import torch

# Tolerance for float data slightly outside [0, 1] (rounding in the tools that wrote it).
_FLOAT_TOL = 1e-3


def to_float_rgb(arr: np.ndarray, name: str = "image") -> np.ndarray:
    """Convert an H×W, H×W×1/2/3/4 array of uint8, uint16, bool or float to float32 RGB in [0, 1].

    Args:
        arr: uint8 (divided by 255), uint16 (divided by 65535, either byte order), bool
            (False → 0.0, True → 1.0) or float (must be finite and in [0, 1]; values within 1e-3
            outside are clipped). Height and width must be at least 1.
        name: what to call the array in error messages (read_image passes the file path).
            Default: "image".

    Returns:
        float32 H×W×3 array in [0, 1], C-contiguous. Gray is repeated to 3 channels; alpha is
        dropped (compositing on black would invent content; dropping keeps the colours).

    Raises:
        ValueError: wrong shape, empty, unsupported dtype (including int32/int64, whose scale is
            ambiguous), NaN/inf, or floats outside [0, 1]; the message names ``name`` and the
            shape, dtype or range.
    """
    a = np.asarray(arr)
    if a.ndim not in (2, 3):
        raise ValueError(f"{name}: expected H×W or H×W×C with C in 1..4, got shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name}: empty image of shape {a.shape}; height and width must be at least 1")
    if a.ndim == 3 and a.shape[0] in (1, 3, 4) and a.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"{name}: shape {a.shape} looks channel-first; srkit expects H×W×C arrays")
    if a.ndim == 3 and a.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"{name}: expected H×W or H×W×C with C in 1..4, got shape {a.shape}")
    if a.dtype.byteorder not in ("=", "|"):  # big-endian 16-bit data from TIFF / PIL mode I;16B
        a = a.astype(a.dtype.newbyteorder("="))
    if a.dtype == np.uint8:
        f = a.astype(np.float32) / 255.0
    elif a.dtype == np.uint16:
        f = a.astype(np.float32) / 65535.0
    elif a.dtype == bool:
        f = a.astype(np.float32)
    elif np.issubdtype(a.dtype, np.floating):
        f = a.astype(np.float32)
        finite = np.isfinite(f)
        nonfinite = int(f.size - np.count_nonzero(finite))
        lo, hi = (float(f.min()), float(f.max())) if not nonfinite else (0.0, 0.0)
        check_float_values(name, f.size, nonfinite, lo, hi)
        f = np.clip(f, 0.0, 1.0)
    elif np.issubdtype(a.dtype, np.integer):
        # int32/int64 arrays are usually 0-255 data that went through arithmetic; guessing the
        # scale (255? 65535? max?) would silently change brightness, so the caller must say.
        lo, hi = int(a.min()), int(a.max())
        raise ValueError(f"{name}: unsupported dtype {a.dtype} (values in [{lo}, {hi}]); the scale of "
                         "integer data other than uint8/uint16 is ambiguous: use .astype(np.uint8) "
                         "for 0-255 data, .astype(np.uint16) for 0-65535 data, or float in [0, 1]")
    else:
        raise ValueError(f"{name}: unsupported dtype {a.dtype}; use uint8, uint16, bool or float in [0, 1]")
    if f.ndim == 2:
        f = f[..., None]
    if f.shape[2] in (2, 4):  # drop alpha
        f = f[..., :-1]
    if f.shape[2] == 1:
        f = np.repeat(f, 3, axis=2)
    return np.ascontiguousarray(f)


def check_float_values(name: str, total: int, nonfinite: int, lo: float, hi: float) -> None:
    """The float-image rule, for arrays and tensors alike: finite, and in [0, 1] within 1e-3."""
    if nonfinite:
        raise ValueError(f"{name}: contains {nonfinite} NaN or inf values (of {total}); "
                         "float images must be finite and in [0, 1]")
    if lo < -_FLOAT_TOL or hi > 1 + _FLOAT_TOL:
        raise ValueError(f"{name}: float values must be in [0, 1], got range [{lo:.4g}, {hi:.4g}]"
                         " (divide 0-255 data by 255)")


def to_uint8(img) -> np.ndarray:
    """Any image → uint8 with rounding (the evaluation protocol's quantisation); the one converter.

    Args:
        img: float array in [0, 1] (H×W×C or H×W, values outside are clipped), a uint8 array
            (returned as is), or a tensor C×H×W / 1×C×H×W in [0, 1] (returned H×W×C).
    """
    if isinstance(img, torch.Tensor):
        t = img.detach()
        if t.dim() == 4:
            if t.shape[0] != 1:
                raise ValueError(f"to_uint8 takes one image, got a batch of shape {tuple(t.shape)}")
            t = t[0]
        if t.dim() != 3:
            raise ValueError(f"to_uint8 takes a C×H×W or 1×C×H×W tensor, got shape {tuple(t.shape)}")
        img = t.permute(1, 2, 0).cpu().double().numpy()
    a = np.asarray(img)
    if a.dtype == np.uint8:
        return a
    return np.clip(np.round(a.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)


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


def check_tensor_image(t: torch.Tensor, name: str = "tensor") -> None:
    """Raise ValueError unless ``t`` is a valid image tensor for srkit's Python API.

    Valid: 3×H×W or N×3×H×W (N, H, W >= 1), dtype uint8 (0-255, any value) or floating point
    (float16, bfloat16, float32, float64) with finite values in [0, 1] (1e-3 tolerance).

    Args:
        t: the tensor to check (any device; a float check reads its min/max, which synchronises
            a GPU tensor).
        name: what to call it in error messages. Default: "tensor".

    Raises:
        TypeError: ``t`` is not a torch.Tensor.
        ValueError: wrong number of dimensions or channels (shape named, with a hint when the
            layout looks like H×W×C), empty (zero batch, height or width), unsupported dtype
            (named), NaN/inf values (counted) or float values outside [0, 1] (range named).
    """
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    shape = tuple(t.shape)
    if t.dim() not in (3, 4):
        raise ValueError(f"{name}: expected a 3×H×W or N×3×H×W tensor, got {t.dim()}-D shape {shape}")
    if shape[-3] != 3:
        hint = ""
        if shape[-1] == 3:
            perm = "t.permute(2, 0, 1)" if t.dim() == 3 else "t.permute(0, 3, 1, 2)"
            hint = f"; the last dimension is 3, so this looks like H×W×C layout: use {perm}"
        elif shape[-3] == 1:
            expand = "t.expand(3, -1, -1)" if t.dim() == 3 else "t.expand(-1, 3, -1, -1)"
            hint = f"; for gray images repeat the channel: {expand}"
        raise ValueError(f"{name}: expected 3 channels in dimension {t.dim() - 3} (C×H×W), "
                         f"got {shape[-3]} in shape {shape}{hint}")
    if t.numel() == 0:
        raise ValueError(f"{name}: empty tensor of shape {shape}; batch, height and width must be at least 1")
    if t.dtype != torch.uint8 and not t.dtype.is_floating_point:
        raise ValueError(f"{name}: unsupported dtype {t.dtype}; use torch.uint8 (0-255) or a float "
                         "dtype with values in [0, 1]")
    if t.dtype == torch.uint8:
        return  # every uint8 value is a valid 0-255 level
    nonfinite = int(t.numel() - int(torch.isfinite(t).sum()))
    lo, hi = (float(t.min()), float(t.max())) if not nonfinite else (0.0, 0.0)
    check_float_values(name, t.numel(), nonfinite, lo, hi)
