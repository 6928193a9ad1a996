"""Check ``srkit bench video --protocol bd`` against an independent BD implementation.

The BD LR of every clip is made again with numpy alone, from the protocol's definition (Gaussian taps
exp(−d²/2σ²), σ = 0.4·s, truncated at int(4σ + 0.5) pixels and normalised; mirror padding; the
weighted sum around every s-th HR pixel; rounded to uint8), and bicubic and each bundle are scored on
it exactly as the bench does (phase 'corner', output aligned). The figures are compared per clip with
a bench JSON made with the same clips (same --sets, --limit, --frames, --size, --seed):

    python -m srkit.cli bench video --data $SRKIT_DATA --weights x4 --scale 4 --protocol bd --phase both \\
        --limit 6 --json bench/results/video_bd_x4.json
    python bench/bd_independent.py --data $SRKIT_DATA --bench bench/results/video_bd_x4.json --weights x4 \\
        --limit 3 --json bench/results/video_bd_x4_independent.json

Prints the largest per-clip difference in dB for each method.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def independent_bd(hr: np.ndarray, scale: int) -> np.ndarray:
    """uint8 H×W×3 → uint8 BD LR, numpy only (no srkit, no torch, no scipy)."""
    sigma = 0.4 * scale
    radius = int(4 * sigma + 0.5)
    d = np.arange(-radius, radius + 1)
    g = np.exp(-d ** 2 / (2 * sigma ** 2))
    g /= g.sum()
    x = np.pad(hr.astype(np.float64) / 255, ((radius, radius), (radius, radius), (0, 0)), mode="reflect")
    windows = np.lib.stride_tricks.sliding_window_view(x, (2 * radius + 1, 2 * radius + 1), axis=(0, 1))
    lr = np.einsum("ijkab,a,b->ijk", windows[::scale, ::scale], g, g)
    return np.clip(np.round(lr * 255), 0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--bench", type=Path, required=True, help="a bench video JSON (--protocol bd)")
    parser.add_argument("--sets", default="Set14,B100")
    parser.add_argument("--weights", nargs="*", default=[])
    parser.add_argument("--limit", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from srkit.data.benchmarks import load_benchmark
    from srkit.data.sequences import clips_from_stills
    from srkit.evaluation.video_bench import bicubic, bundle_methods, upscale_clip
    from srkit.metrics import evaluate_pair
    bench = json.loads(args.bench.read_text())
    settings = bench["settings"]
    scale = settings["scale"]
    if settings["protocol"] != "bd":
        raise SystemExit(f"{args.bench} is a {settings['protocol']} run, not bd")
    methods = {"bicubic": bicubic, **bundle_methods(args.weights, scale)}
    phases = settings["phases"]
    rows = {}
    for set_name in args.sets.split(","):
        key = f"{set_name} clips"
        info = bench["clips"][key]
        first = next(iter(info.values()))
        clips = clips_from_stills(load_benchmark(args.data, set_name, scale), first["frames"],
                                  tuple(first["size"]), settings["seed"])[:args.limit]
        for clip in clips:
            lrs = [independent_bd(f, scale) for f in clip.frames]
            for name, method in methods.items():
                row = name if len(phases) == 1 else f"{name} [corner]"
                srs = upscale_clip(method, lrs, scale, "corner", settings["align"], f"{key} {clip.name}")
                ours = float(np.mean([evaluate_pair(s, h, scale, gray=clip.gray)["psnr"]
                                      for s, h in zip(srs, clip.frames)]))
                theirs = bench["per_clip"][key]["clean"][clip.name][row]["psnr"]
                rows.setdefault(row, []).append({"set": key, "clip": clip.name, "independent": ours,
                                                 "bench": theirs, "difference_db": ours - theirs})
                print(f"{key} {clip.name} {row}: independent {ours:.4f} dB, bench {theirs:.4f} dB, "
                      f"difference {ours - theirs:+.5f}", flush=True)
    summary = {row: {"clips": len(v), "max_abs_difference_db": max(abs(r["difference_db"]) for r in v),
                     "mean_independent": float(np.mean([r["independent"] for r in v])),
                     "mean_bench": float(np.mean([r["bench"] for r in v]))} for row, v in rows.items()}
    for row, s in summary.items():
        print(f"{row}: {s['clips']} clips, largest difference {s['max_abs_difference_db']:.5f} dB")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "clips": rows, "bench": str(args.bench)}, indent=2))


if __name__ == "__main__":
    main()
