"""``srkit demo``: the main job on built-in defaults.

Makes LR versions of three built-in images (scikit-image's astronaut: a face; its text page; a
natural scene) with a known blur + noise, upscales them with the bundled weights (bicubic when
none are bundled), writes the images and a side-by-side figure, and prints PSNR/SSIM.
"""
from __future__ import annotations

import argparse
from pathlib import Path

SAMPLES = ("astronaut", "text", "coffee")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", type=int, default=2, choices=(2, 4))
    parser.add_argument("--weights", default=None, help="bundled name or checkpoint (default: x<scale>)")
    parser.add_argument("--out", type=Path, default=Path("out/demo"))
    parser.add_argument("--device", default="cpu")


def sample_images() -> dict:
    """The built-in HR images (uint8 RGB), cropped to a laptop-friendly size."""
    import numpy as np
    import skimage.data
    from srkit.imageio import modcrop
    out = {}
    for name in SAMPLES:
        img = getattr(skimage.data, name)()
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        out[name] = modcrop(img[:256, :384], 12)
    return out


def run(args) -> int:
    import numpy as np
    import torch

    from srkit.degrade import degrade
    from srkit.imageio import as_tensor, to_uint8, write_image
    from srkit.data.benchmarks import gaussian8_middle
    from srkit.kernels import gaussian_kernel
    from srkit.metrics import evaluate_pair
    from srkit.resize import imresize_np

    model = _load_weights(args.weights or f"x{args.scale}", args.device)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, hr in sample_images().items():
        d = degrade(as_tensor(hr), args.scale, kernels=gaussian_kernel(gaussian8_middle(args.scale)), seed=0)
        lr = to_uint8(d.lr[0].permute(1, 2, 0).numpy())
        bic = imresize_np(lr, args.scale)
        results = {"bicubic": bic}
        if model is not None:
            import srkit
            results["srkit"] = srkit.upscale(lr, model, device=args.device)
        write_image(args.out / f"{name}_lr.png", lr)
        for method, sr in results.items():
            write_image(args.out / f"{name}_{method}.png", sr)
            m = evaluate_pair(sr, hr, args.scale)
            rows.append((name, method, m["psnr"], m["ssim"]))
    print(f"{'image':<10} {'method':<8} {'PSNR':>7} {'SSIM':>7}")
    for r in rows:
        print(f"{r[0]:<10} {r[1]:<8} {r[2]:7.2f} {r[3]:7.4f}")
    print(f"wrote images to {args.out}/")
    return 0


def _load_weights(name: str, device: str):
    try:
        import srkit
        return srkit.load(name, device=device)
    except (FileNotFoundError, ImportError, AttributeError) as e:
        print(f"note: no bundled weights '{name}' ({e}); showing the bicubic baseline only")
        return None
