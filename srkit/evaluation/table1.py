"""The paper's Table 1 shape (§3): PSNR/SSIM of the bicubic-upsampled LR against each SR model, on
LR images blurred with a seeded random width and noised (paper: σn = 15); ``compare`` runs any
set of models on one LR image."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from srkit.degrade import degrade_uint8


def compare(hr: np.ndarray, lr: np.ndarray, methods: dict, scale: int, steps: int = 7,
            name: str | None = None) -> tuple[dict, dict]:
    """Upscale ``lr`` with each method (name → a Pipeline, ModelRunner or network for ``srkit.upscale``,
    or any other callable uint8 → uint8).
    ``name`` names the image in guard warnings.

    Returns:
        (outputs {name: uint8 SR}, metrics {name: {"psnr", "ssim"}}) with 'bicubic' first.
    """
    import srkit
    from srkit.metrics import evaluate_pair
    from srkit.resize import imresize_np
    from srkit.inference.pipeline import Pipeline
    from srkit.inference.runner import ModelRunner
    outs = {"bicubic": imresize_np(lr, scale)}
    for method, m in methods.items():  # a model goes through srkit.upscale; a plain function is called
        outs[method] = srkit.upscale(lr, m, steps=steps, tile=0, name=f"{name or 'image'} ({method})") \
            if isinstance(m, (Pipeline, ModelRunner, torch.nn.Module)) else m(lr)
    return outs, {n: evaluate_pair(o, hr, scale) for n, o in outs.items()}


def eval_images(max_images: int | None = None, scale: int = 2, sets=("Set14", "B100"),
                crop: int | None = None) -> dict[str, list]:
    """Evaluation images: {set: [uint8 HR]} from ``$SRKIT_DATA`` when set,
    else {'built-in': scikit-image samples}. ``max_images`` per set; ``crop``: the centre crop×crop
    of each (a multiple of ``scale``; smoke runs use 2 images, 192 px)."""
    from srkit.data.benchmarks import load_benchmark
    from srkit.paths import default_data_dir
    data = default_data_dir()
    out = {}
    if data and Path(data).is_dir():
        for s in sets:
            try:
                out[s] = [b.hr for b in load_benchmark(data, s, scale)][:max_images]
            except (FileNotFoundError, ValueError):
                pass
    if not out:
        from srkit.data.samples import sample_image
        out["built-in"] = [sample_image(n, multiple=12) for n in ("face", "text", "scene", "building", "cat")][:max_images]
    if crop:
        c = crop - crop % scale

        def centre(hr):
            h, w = hr.shape[:2]
            top, left = max(0, (h - c) // 2), max(0, (w - c) // 2)
            return hr[top:top + c, left:left + c]
        out = {s: [centre(hr) for hr in hrs] for s, hrs in out.items()}
    return out


def table1(models: dict, images: dict[str, list], scale: int = 2, noise: float = 15.0, seed: int = 0,
           steps: int = 7, progress: bool = False) -> dict:
    """The paper's Table 1 shape: PSNR/SSIM of the bicubic-upsampled LR and of each SR model.

    Degradation: isotropic Gaussian with a width drawn per image from the scale's training range
    (seeded), bicubic ↓s, Gaussian noise σn (paper: 15), uint8 LR; metrics by the protocol.

    ``progress``: a bar over the images (each runs every model), default off.

    Returns:
        {set: {method: {"psnr", "ssim", "n"}}} with method 'LR (bicubic)' first.
    """
    from tqdm.auto import tqdm

    from srkit.kernels import SIGMA_RANGES
    rng = np.random.default_rng(seed)
    lo, hi = SIGMA_RANGES[scale]
    res: dict = {}
    bar = tqdm(total=sum(len(h) for h in images.values()), desc=f"Table 1, σn {noise:g}", unit="image",
               disable=not progress)
    for set_name, hrs in images.items():
        acc: dict = {}
        for i, hr in enumerate(hrs):
            if hr.ndim == 2:
                hr = np.repeat(hr[..., None], 3, 2)
            lr = degrade_uint8(hr, scale, float(rng.uniform(lo, hi)), noise, seed + i)
            _, metrics = compare(hr, lr, models, scale, steps, name=f"{set_name} image {i}")
            for m, v in metrics.items():
                acc.setdefault("LR (bicubic)" if m == "bicubic" else m, []).append(v)
            bar.update(1)
        res[set_name] = {m: {"psnr": float(np.mean([v["psnr"] for v in vs])),
                             "ssim": float(np.mean([v["ssim"] for v in vs])), "n": len(vs)} for m, vs in acc.items()}
    bar.close()
    return res
