"""Small experiments the notebooks run: the kernel-mismatch sweep, textures per category, label images.

Each returns plain numbers and uint8 images so notebooks only plot and assert.
"""
from __future__ import annotations

import numpy as np
import torch

from srkit.categories import CATEGORY_INDEX
from srkit.imageio import as_tensor, to_uint8
from srkit.notebook.widgets.category_explorer import COLORS, override_probs


def sharpness(img: np.ndarray) -> float:
    """Mean absolute Laplacian of the luma (uint8 H×W×3): higher = more high-frequency energy."""
    from srkit.metrics import rgb_to_y
    y = rgb_to_y(img, rounded=False)
    lap = 4 * y[1:-1, 1:-1] - y[:-2, 1:-1] - y[2:, 1:-1] - y[1:-1, :-2] - y[1:-1, 2:]
    return float(np.abs(lap).mean())


def kernel_mismatch(pipe, hr: np.ndarray, true_sigma: float, guesses, noise: float = 0.0) -> dict:
    """Super-resolve an LR made with σ = ``true_sigma`` while telling G the code of σ = each guess.

    IKC's motivating experiment (its Fig. 2): a kernel code sharper than the truth (σ too small) leaves
    the SR blurry; a blurrier one (σ too large) over-sharpens it with ringing. Only the generator runs
    (no IKC), so the effect of the code alone is measured.

    Args:
        pipe: a Pipeline with a kernel-conditioned generator and its PCA.
        hr: uint8 H×W×3 (sides multiples of the scale).
        true_sigma: width of the Gaussian that made the LR.
        guesses: widths whose codes are given to G.
        noise: LR noise σn (0–255).

    Returns:
        {"lr": uint8, "hr_sharpness": float, "results": {guess: {"sr", "psnr", "ssim", "sharpness"}}}.
    """
    from srkit.kernels import gaussian_kernel
    from srkit.metrics import evaluate_pair
    from srkit.degrade import degrade_uint8
    s = pipe.scale
    lr = degrade_uint8(hr, s, true_sigma, noise)
    x = as_tensor(lr, pipe.device)
    seg = pipe.segment(x)
    out = {}
    for g in guesses:
        code = pipe.pca.encode(gaussian_kernel(float(g))[None].to(pipe.pca.matrix.device)).to(pipe.device)
        with torch.no_grad():
            sr = to_uint8(pipe.generator(x, code, seg).clamp(0, 1))
        out[float(g)] = {"sr": sr, **evaluate_pair(sr, hr, s), "sharpness": sharpness(sr)}
    return {"lr": lr, "hr_sharpness": sharpness(hr), "results": out}


def category_textures(pipe, lr: np.ndarray, classes=("background", "sky", "grass", "building", "text"),
                      steps: int = 7, code: torch.Tensor | None = None) -> dict[str, np.ndarray]:
    """SR of one LR image with ψ forced to one category everywhere (SFT-GAN's texture experiment).

    The kernel code (when G uses one) is ``code`` (1×b) or else estimated once by IKC, and shared, so
    only ψ differs.

    Returns:
        {"segnet": SR with the segnet's own ψ, <class>: SR with ψ = onehot(class)} (uint8).
    """
    if not pipe.generator.cfg.use_seg:
        raise ValueError("category_textures needs a segmentation-conditioned generator (SFT-GAN / SFTconcat)")
    x = as_tensor(np.ascontiguousarray(lr), pipe.device)
    with torch.no_grad():
        probs = pipe.segment(x)
        if not pipe.generator.cfg.use_kernel:
            code = None
        elif code is None:
            code = pipe.ikc(x, steps, seg=probs).code
        else:
            code = code.to(pipe.device)
        out = {"segnet": to_uint8(pipe.generator(x, code, probs).clamp(0, 1))}
        for c in classes:
            p = override_probs(probs, CATEGORY_INDEX[c], 1.0)
            out[c] = to_uint8(pipe.generator(x, code, p).clamp(0, 1))
    return out


def label_image(labels: np.ndarray) -> np.ndarray:
    """int H×W category map → float RGB image in the category colours (ignore = black)."""
    lab = np.asarray(labels).astype(np.int64)
    img = COLORS[np.clip(lab, 0, len(COLORS) - 1)].astype(np.float32)
    img[lab < 0] = 0
    return img
