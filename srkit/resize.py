"""MATLAB-compatible bicubic resize (``imresize(x, s, 'bicubic')``) in torch.

This is the only resize srkit uses to make LR images and the bicubic baseline, because the
published tables (docs/DESIGN.md §3) were made with MATLAB's imresize: cubic kernel a = −0.5, an
antialiasing kernel stretched by 1/s when shrinking, and symmetric border padding. torch's own
``interpolate(mode='bicubic')`` uses a = −0.75 and no antialiasing on the same grid, which costs
~0.2–0.5 dB against the published numbers.

Resizing is separable and linear, so each axis is a dense (out × in) weight matrix applied with a
matmul: batched, differentiable, and fast on any device.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = −0.5 (MATLAB's 'bicubic')."""
    ax = np.abs(x)
    ax2, ax3 = ax ** 2, ax ** 3
    return ((1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2)))


def contributions(in_len: int, out_len: int, scale: float, antialias: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Input indices and weights for each output sample along one axis (MATLAB's algorithm).

    Returns:
        (indices out_len×P int64 into [0, in_len), weights out_len×P float64, rows sum to 1).
        Border samples are folded back symmetrically (MATLAB's 'symmetric' padding).
    """
    width = 4.0
    if scale < 1 and antialias:
        kernel = lambda x: scale * cubic(scale * x)  # noqa: E731  (stretched low-pass kernel)
        width = width / scale
    else:
        kernel = cubic
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)  # output sample centre in input coordinates (1-based)
    left = np.floor(u - width / 2)
    p = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(p)[None, :]            # 1-based, may fall outside
    w = kernel(u[:, None] - idx)
    w = w / w.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    idx = mirror[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]
    keep = np.any(w != 0, axis=0)  # drop all-zero columns, as MATLAB does
    return idx[:, keep], w[:, keep]


@functools.lru_cache(maxsize=64)
def _weight_matrix_np(in_len: int, out_len: int, scale: float, antialias: bool) -> np.ndarray:
    idx, w = contributions(in_len, out_len, scale, antialias)
    m = np.zeros((out_len, in_len), dtype=np.float64)
    rows = np.repeat(np.arange(out_len), idx.shape[1])
    np.add.at(m, (rows, idx.ravel()), w.ravel())  # folded border taps add up
    return m


def weight_matrix(in_len: int, out_len: int, scale: float, antialias: bool = True,
                  device=None, dtype=torch.float32) -> torch.Tensor:
    """Dense out_len × in_len resize matrix for one axis."""
    return torch.from_numpy(_weight_matrix_np(in_len, out_len, float(scale), bool(antialias))).to(
        device=device, dtype=dtype)


def _output_size(h: int, w: int, scale, size) -> tuple[tuple[int, int], tuple[float, float]]:
    if (scale is None) == (size is None):
        raise ValueError("give exactly one of scale or size")
    if size is not None:
        oh, ow = int(size[0]), int(size[1])
        if oh < 1 or ow < 1:
            raise ValueError(f"output size must be positive, got {size}")
        return (oh, ow), (oh / h, ow / w)
    sh, sw = (scale, scale) if np.isscalar(scale) else scale
    if not (sh > 0 and sw > 0 and math.isfinite(sh) and math.isfinite(sw)):
        raise ValueError(f"scale must be finite and > 0, got {scale}")
    # MATLAB: ceil(in * scale); the tiny epsilon keeps 1/3-style scales from rounding up.
    return (int(math.ceil(h * sh - 1e-9)), int(math.ceil(w * sw - 1e-9))), (float(sh), float(sw))


def imresize(x: torch.Tensor, scale: float | tuple[float, float] | None = None,
             size: tuple[int, int] | None = None, antialias: bool = True) -> torch.Tensor:
    """MATLAB ``imresize(x, scale, 'bicubic')`` for tensors.

    Args:
        x: ...×H×W float tensor (e.g. N×C×H×W or C×H×W), any device; values are not clipped.
        scale: factor (> 1 enlarges, e.g. 4 or 1/4), or (scale_h, scale_w). Output size is
            ceil(H·scale) × ceil(W·scale).
        size: (H_out, W_out) instead of scale.
        antialias: stretch the kernel when shrinking (MATLAB default True).

    Returns:
        ...×H_out×W_out tensor of x's dtype (float16/bfloat16 inputs are computed in float32).
    """
    if not torch.is_tensor(x) or x.dim() < 2:
        raise ValueError(f"imresize expects a tensor with at least 2 dims (…×H×W), got {type(x).__name__} "
                         f"{tuple(getattr(x, 'shape', ()))}")
    if not x.is_floating_point():
        raise ValueError(f"imresize expects a float tensor, got {x.dtype}; convert uint8 with x.float() / 255")
    h, w = x.shape[-2:]
    (oh, ow), (sh, sw) = _output_size(h, w, scale, size)
    ctype = torch.float64 if x.dtype == torch.float64 else torch.float32
    wh = weight_matrix(h, oh, sh, antialias, x.device, ctype)   # oh×h
    ww = weight_matrix(w, ow, sw, antialias, x.device, ctype)   # ow×w
    y = torch.matmul(torch.matmul(wh, x.to(ctype)), ww.T)       # …×oh×ow
    return y.to(x.dtype)


def imresize_np(img: np.ndarray, scale: float | None = None, size: tuple[int, int] | None = None,
                antialias: bool = True) -> np.ndarray:
    """numpy convenience wrapper of :func:`imresize` for H×W or H×W×C arrays.

    uint8 in → uint8 out (rounded and clipped, as MATLAB does); float in → float32 out (unclipped).
    """
    a = np.asarray(img)
    t = torch.from_numpy(a.astype(np.float64 if a.dtype == np.float64 else np.float32))
    t = t if a.ndim == 2 else t.permute(2, 0, 1)
    out = imresize(t, scale=scale, size=size, antialias=antialias)
    out = out if a.ndim == 2 else out.permute(1, 2, 0)
    out = out.numpy()
    if a.dtype == np.uint8:
        return np.clip(np.round(out), 0, 255).astype(np.uint8)
    return out.astype(np.float32)


def imresize_reference(img: np.ndarray, scale: float, antialias: bool = True) -> np.ndarray:
    """Straightforward per-image numpy implementation (gathers the taps of each output sample).

    Kept as the reference that :func:`imresize` is tested and benchmarked against.
    img: H×W×C float64 array. Returns float64.
    """
    out = np.asarray(img, dtype=np.float64)
    for axis in (0, 1):  # MATLAB resizes rows first when both scales are equal
        n = out.shape[axis]
        m = int(math.ceil(n * scale - 1e-9))
        idx, w = contributions(n, m, scale, antialias)
        taken = np.take(out, idx, axis=axis)  # axis replaced by (m, P)
        wshape = [1] * taken.ndim
        wshape[axis], wshape[axis + 1] = m, idx.shape[1]
        out = (taken * w.reshape(wshape)).sum(axis=axis + 1)
    return out
