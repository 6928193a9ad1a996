"""PSNR and SSIM under the evaluation protocol of the published SR tables (docs/DESIGN.md §2).

Protocol: both images are uint8 RGB (SR rounded to uint8); PSNR and SSIM are computed on the
BT.601 luma ``Y = 16 + (65.481 R + 128.553 G + 24.966 B)`` (R, G, B in [0, 1]), rounded to
uint8 as MATLAB's ``rgb2ycbcr`` does for uint8 images (the published tables come from MATLAB
scripts; rounding reproduces their SSIM to 1e-4 where float Y is ~7e-4 high). Images whose file
has a single channel (Set14's bridge) are compared on their gray values: the MATLAB scripts skip
``rgb2ycbcr`` for them; pass H×W arrays for that. ``shave`` pixels (the scale) are removed from every border; SSIM is Wang et al. 2004
with an 11×11 Gaussian window (σ = 1.5), K1 = 0.01, K2 = 0.03, L = 255, computed by scikit-image
(``gaussian_weights=True, use_sample_covariance=False``), whose values match the MATLAB reference
(see tests/test_metrics.py).
"""
from __future__ import annotations

import math

import numpy as np

PROTOCOL = {
    "channel": "Y (BT.601: 16 + 65.481 R + 128.553 G + 24.966 B, RGB in [0,1]), rounded as MATLAB "
               "rgb2ycbcr on uint8; 1-channel source files compared on their gray values",
    "quantisation": "HR modcropped to a multiple of s; LR and SR stored as uint8",
    "shave": "s pixels from each border",
    "psnr": "10 log10(255^2 / MSE) per image, averaged over images",
    "ssim": "Wang et al. 2004, 11x11 Gaussian window sigma=1.5, K1=0.01, K2=0.03, L=255 (scikit-image)",
    "resize": "MATLAB-compatible bicubic (a=-0.5, antialiased, symmetric padding)",
}


def _as_uint8(img: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(img)
    if a.dtype != np.uint8:
        raise ValueError(f"{name}: the protocol compares uint8 images, got dtype {a.dtype} "
                         "(use srkit.imageio.to_uint8 on float [0, 1] images)")
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)):
        raise ValueError(f"{name}: expected H×W×3 (RGB) or H×W (gray), got shape {a.shape}")
    return a


def rgb_to_y(img: np.ndarray, rounded: bool = True) -> np.ndarray:
    """uint8 (or float [0,1]) RGB H×W×3 → float64 BT.601 luma in [16, 235], rounded by default."""
    a = np.asarray(img)
    f = a.astype(np.float64) / 255.0 if a.dtype == np.uint8 else a.astype(np.float64)
    y = 16.0 + f @ np.array([65.481, 128.553, 24.966])
    return np.round(y) if rounded else y


def rgb_to_gray(img: np.ndarray) -> np.ndarray:
    """uint8 RGB H×W×3 → uint8 full-range luma H×W (exact for images with equal channels).

    Used to compare an RGB SR output with a 1-channel ground truth.
    """
    y = 16.0 + np.asarray(img, dtype=np.float64) / 255.0 @ np.array([65.481, 128.553, 24.966])
    return np.clip(np.round((y - 16.0) * 255.0 / 219.0), 0, 255).astype(np.uint8)


def _prepare(sr: np.ndarray, hr: np.ndarray, shave: int, y_only: bool) -> tuple[np.ndarray, np.ndarray]:
    sr, hr = _as_uint8(sr, "sr"), _as_uint8(hr, "hr")
    if sr.shape != hr.shape:
        raise ValueError(f"sr and hr must have the same shape, got {sr.shape} and {hr.shape}")
    if shave < 0 or 2 * shave >= min(sr.shape[:2]):
        raise ValueError(f"shave {shave} leaves nothing of a {sr.shape[0]}×{sr.shape[1]} image")
    if sr.ndim == 2:
        a, b = sr.astype(np.float64), hr.astype(np.float64)
    elif y_only:
        a, b = rgb_to_y(sr), rgb_to_y(hr)
    else:
        a, b = sr.astype(np.float64), hr.astype(np.float64)
    if shave:
        a, b = a[shave:-shave, shave:-shave], b[shave:-shave, shave:-shave]
    return a, b


def _psnr_from_mse(mse: float) -> float:
    return math.inf if mse == 0 else 10.0 * math.log10(255.0 ** 2 / mse)


def psnr(sr: np.ndarray, hr: np.ndarray, shave: int = 0, y_only: bool = True) -> float:
    """PSNR in dB of uint8 images (protocol in the module docstring); inf when identical."""
    a, b = _prepare(sr, hr, shave, y_only)
    return _psnr_from_mse(float(np.mean((a - b) ** 2)))


def _ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from skimage.metrics import structural_similarity
    channel_axis = None if a.ndim == 2 else 2
    _, smap = structural_similarity(a, b, data_range=255.0, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, K1=0.01, K2=0.03, full=True,
                                    channel_axis=channel_axis)
    return smap


def _valid_crop(m: np.ndarray) -> np.ndarray:
    # scikit-image averages the SSIM map without the (win_size − 1)/2 = 5 pixel border, where the
    # window would leave the image; we do the same for masked means so both agree on full masks.
    return m[5:-5, 5:-5]


def ssim(sr: np.ndarray, hr: np.ndarray, shave: int = 0, y_only: bool = True) -> float:
    """SSIM of uint8 images (protocol in the module docstring), in [−1, 1]."""
    a, b = _prepare(sr, hr, shave, y_only)
    return float(_valid_crop(_ssim_map(a, b)).mean())


def _prepare_mask(mask: np.ndarray, shape: tuple[int, int], shave: int) -> np.ndarray:
    m = np.asarray(mask).astype(bool)
    if m.shape != shape:
        raise ValueError(f"mask shape {m.shape} does not match image shape {shape}")
    return m[shave:-shave, shave:-shave] if shave else m


def masked_psnr(sr: np.ndarray, hr: np.ndarray, mask: np.ndarray, shave: int = 0, y_only: bool = True) -> float:
    """PSNR over the pixels where ``mask`` (H×W bool) is true; NaN if the mask is empty."""
    a, b = _prepare(sr, hr, shave, y_only)
    m = _prepare_mask(mask, np.asarray(sr).shape[:2], shave)
    if not m.any():
        return math.nan
    d = (a - b) ** 2
    d = d[m] if d.ndim == 2 else d[m].reshape(-1)
    return _psnr_from_mse(float(d.mean()))


def ssim_map(sr: np.ndarray, hr: np.ndarray, shave: int = 0, y_only: bool = True) -> np.ndarray:
    """The per-pixel SSIM map (channels averaged) without shave + 5 border pixels: (H−2·shave−10)×(W−…);
    its mean is ``ssim``. For masked means, crop the mask with ``crop_like_ssim_map``."""
    a, b = _prepare(sr, hr, shave, y_only)
    smap = _valid_crop(_ssim_map(a, b))
    return smap.mean(axis=2) if smap.ndim == 3 else smap


def crop_like_ssim_map(mask: np.ndarray, shave: int = 0) -> np.ndarray:
    """An H×W mask cropped like ``ssim_map``'s output."""
    m = np.asarray(mask)
    return _valid_crop(m[shave:-shave, shave:-shave] if shave else m)


def masked_ssim(sr: np.ndarray, hr: np.ndarray, mask: np.ndarray, shave: int = 0, y_only: bool = True) -> float:
    """Mean of the SSIM map over ``mask`` (H×W bool); NaN if the mask is empty after the border crop."""
    smap = ssim_map(sr, hr, shave, y_only)
    m = crop_like_ssim_map(_prepare_mask(mask, np.asarray(sr).shape[:2], 0), shave)
    if not m.any():
        return math.nan
    return float(smap[m].mean())


def high_frequency(img: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Y minus its Gaussian blur (σ in pixels; default 1.0): the detail a blurry SR lacks, H×W float.

    The texture statistic of ``srkit.evaluation.ablation``: the ratio of SR to HR energy of this
    band over a region is 1.0 when the SR has HR's amount of fine detail, < 1 when it is
    over-smooth, > 1 when it adds ringing or noise. It needs no learned features (no downloads).
    """
    from scipy.ndimage import gaussian_filter
    y = rgb_to_y(_as_uint8(img, "img"), rounded=False) if np.asarray(img).ndim == 3 else \
        _as_uint8(img, "img").astype(np.float64)
    return y - gaussian_filter(y, sigma, mode="reflect")


def evaluate_pair(sr: np.ndarray, hr: np.ndarray, scale: int, gray: bool = False) -> dict[str, float]:
    """{'psnr', 'ssim'} of one uint8 RGB SR/HR pair with the protocol (Y channel, shave = scale).

    ``gray=True`` marks a ground truth read from a 1-channel file: both are compared as gray.
    """
    if gray:
        sr, hr = rgb_to_gray(sr), rgb_to_gray(hr)
    return {"psnr": psnr(sr, hr, shave=scale), "ssim": ssim(sr, hr, shave=scale)}


# --- segmentation -----------------------------------------------------------------------------

def confusion(pred, target, k: int | None = None):
    """k×k confusion matrix (rows: truth, columns: prediction; default k = the 10 categories) of two
    integer label tensors, ignore pixels (-1) excluded."""
    import torch

    from srkit.categories import NUM_CATEGORIES
    from srkit.data.label_maps import IGNORE
    k = NUM_CATEGORIES if k is None else k
    pred, target = torch.as_tensor(pred), torch.as_tensor(target)
    m = target != IGNORE
    idx = target[m] * k + pred[m]
    return torch.bincount(idx.flatten().cpu(), minlength=k * k).reshape(k, k).numpy()


def iou_from_confusion(cm: np.ndarray) -> dict[str, float]:
    """Per-class IoU (NaN for classes absent from both truth and prediction), mIoU over the rest,
    and pixel accuracy."""
    from srkit.categories import CATEGORIES
    tp = np.diag(cm).astype(np.float64)
    denom = cm.sum(0) + cm.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(denom > 0, tp / denom, np.nan)
    out = {f"iou_{c}": float(v) for c, v in zip(CATEGORIES, iou)}
    out["miou"] = float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan")
    out["pixel_acc"] = float(tp.sum() / max(cm.sum(), 1))
    return out
