"""``srkit demo``: the main job on built-in defaults.

Makes LR versions of three built-in images (``srkit.data.samples``: the astronaut's face,
scikit-image's text page, a natural scene) with the middle Gaussian8 blur of the scale, upscales
them with the bundled weights, writes the LR, bicubic and SR images and prints PSNR/SSIM against
the HR. Without the weights it writes nothing and exits 2 with one line naming the missing model.
"""
from __future__ import annotations

import argparse
from pathlib import Path

SAMPLES = ("face", "text", "scene")  # srkit.data.samples names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", type=int, default=2, choices=(2, 4))
    parser.add_argument("--weights", default=None, help="bundled name or checkpoint (default: x<scale>)")
    parser.add_argument("--out", type=Path, default=Path("out/demo"))
    parser.add_argument("--device", default="cpu")


def run(args) -> int:
    from srkit.data.samples import sample_image
    from srkit.degrade import degrade_uint8
    from srkit.imageio import write_image
    from srkit.metrics import evaluate_pair
    from srkit.resize import imresize_np

    import srkit
    model = srkit.load(args.weights or f"x{args.scale}", device=args.device)  # missing: one line, exit 2
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in SAMPLES:
        hr = sample_image(name, multiple=12)
        lr = degrade_uint8(hr, args.scale, seed=0)  # the middle Gaussian8 width of the scale
        bic = imresize_np(lr, args.scale)
        results = {"bicubic": bic, "srkit": srkit.upscale(lr, model, device=args.device)}
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
