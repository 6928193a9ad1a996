"""Choose the thresholds of ``--weights auto`` on validation crops of the training data.

``srkit.inference.damage`` measures noise σ and blockiness on the LR image and picks a bundle:
blockiness ≥ B → ``x<s>_archive``; else noise ≥ N → ``x<s>_noise`` (``x<s>_archive`` where the scale
has no noise bundle); else ``x<s>``. This script runs the degraded grid (``srkit.evaluation.degraded``)
on the **validation** split of T91 + BSD200 (the split the SR trainers hold out; centre crops, as
``bench/archive_validation.py``), records each crop's damage and each candidate's PSNR, and picks
the (B, N) pair with the best grid-mean PSNR. The pair goes into ``THRESHOLDS`` by hand; Set14 and
B100 are then measured with ``srkit bench degraded --weights auto``, never used to choose.

    python bench/auto_weights.py --data $SRKIT_DATA --json bench/results/auto_weights.json
    python bench/auto_weights.py --data $SRKIT_DATA --clean-cost --json bench/results/auto_weights_clean.json

Wall time: about 12 min on one core beside another job (×2: 3 pipelines, ×4: 2; 28 crops × 8 cells).
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

CANDIDATES = {2: ("x2", "x2_noise", "x2_archive"), 4: ("x4", "x4_archive")}
BLOCK_GRID = tuple(np.round(np.arange(0.10, 0.61, 0.02), 2))
NOISE_GRID = tuple(np.round(np.arange(2.0, 8.01, 0.25), 2))


def measure(data: str, scale: int, crop: int, steps: int, split: str) -> list[dict]:
    """One record per (cell, crop): cell name, damage, PSNR of bicubic and of each candidate."""
    import srkit
    from archive_validation import validation_crops
    from srkit.evaluation.degraded import GRID, degraded_lr
    from srkit.evaluation.table1 import compare
    from srkit.inference.damage import measure_damage
    models = {w: srkit.load(w) for w in CANDIDATES[scale]}
    crops = validation_crops(data, scale, crop, split)
    records = []
    for cell in GRID:
        for i, hr in enumerate(crops):
            lr = degraded_lr(hr, scale, i, cell)
            damage = measure_damage(lr)
            _, metrics = compare(hr, lr, models, scale, steps, name=f"{split} crop {i}, {cell.name}")
            records.append({"cell": cell.name, "image": i, "noise": round(damage.noise, 3),
                            "blockiness": round(damage.blockiness, 4),
                            "psnr": {m: round(v["psnr"], 4) for m, v in metrics.items()}})
        print(f"x{scale} {cell.name}: done", file=sys.stderr, flush=True)
    return records


def rule_choice(record: dict, scale: int, block: float, noise: float) -> str:
    """The bundle srkit.inference.damage.choose_weights picks with thresholds (block, noise)."""
    from srkit.inference.damage import Damage, Thresholds, choose_weights
    name, _ = choose_weights(Damage(record["noise"], record["blockiness"]), scale,
                             available=lambda n: n in CANDIDATES[scale],
                             rule=Thresholds(block=block, noise=noise))
    return name


def grid_mean(records: list[dict], pick) -> float:
    """Mean over cells of the per-cell mean PSNR of the method ``pick(record)`` names."""
    cells = {}
    for r in records:
        cells.setdefault(r["cell"], []).append(r["psnr"][pick(r)])
    return float(np.mean([np.mean(v) for v in cells.values()]))


def per_cell(records: list[dict], pick) -> dict:
    cells = {}
    for r in records:
        cells.setdefault(r["cell"], []).append(r["psnr"][pick(r)])
    return {c: round(float(np.mean(v)), 3) for c, v in cells.items()}


def choose(records: list[dict], scale: int) -> dict:
    """Best (block, noise) by grid mean; every candidate's mean and the per-image oracle beside it."""
    scores = {(b, n): grid_mean(records, lambda r: rule_choice(r, scale, b, n))
              for b, n in itertools.product(BLOCK_GRID, NOISE_GRID)}
    best = max(scores, key=lambda k: (round(scores[k], 4), -abs(k[0] - 0.25), -abs(k[1] - 4.0)))
    b, n = best
    auto = lambda r: rule_choice(r, scale, b, n)  # noqa: E731
    methods = ("bicubic",) + CANDIDATES[scale]
    out = {"thresholds": {"block": float(b), "noise": float(n)},
           "grid_mean": {m: round(grid_mean(records, lambda r, m=m: m), 3) for m in methods},
           "per_cell": {m: per_cell(records, lambda r, m=m: m) for m in methods}}
    oracle = lambda r: max(CANDIDATES[scale], key=lambda m: r["psnr"][m])  # noqa: E731
    out["grid_mean"].update(auto=round(scores[best], 3), oracle=round(grid_mean(records, oracle), 3))
    out["per_cell"].update(auto=per_cell(records, auto), oracle=per_cell(records, oracle))
    picks = {}
    for r in records:
        picks.setdefault(r["cell"], {}).setdefault(auto(r), 0)
        picks[r["cell"]][auto(r)] += 1
    out["picks"] = picks
    # how flat the optimum is: the grid mean at neighbouring thresholds
    out["near_best"] = {f"{bb:.2f}/{nn:.2f}": round(scores[(bb, nn)], 3) for bb, nn in scores
                        if abs(bb - b) <= 0.041 and abs(nn - n) <= 0.51}
    return out


def clean_cost(data: str, scale: int, sets=("Set5", "Set14", "B100"), steps: int = 7) -> dict:
    """What ``auto`` costs on clean Gaussian8 (report only; nothing is chosen here): every image of
    each set under each Gaussian8 width, as ``srkit bench gaussian8`` degrades it; where ``auto``
    picks another bundle than ``x<s>``, both run and the PSNR difference is kept. The set's mean
    difference (over all image × width pairs, zero where ``x<s>`` is picked) is auto − x<s>."""
    import srkit
    from srkit.data.benchmarks import load_benchmark
    from srkit.degrade import degrade_uint8
    from srkit.evaluation.table1 import compare
    from srkit.inference.damage import AutoWeights
    from srkit.kernels import gaussian8_sigmas
    auto, out = AutoWeights(scale), {}
    for set_name in sets:
        picks, deltas, total = {}, [], 0
        for i, bench in enumerate(load_benchmark(data, set_name, scale)):
            hr = bench.hr if bench.hr.ndim == 3 else np.repeat(bench.hr[..., None], 3, 2)
            for sigma in gaussian8_sigmas(scale):
                lr = degrade_uint8(hr, scale, sigma=float(sigma))
                name, why = auto.choose(lr)
                picks[name] = picks.get(name, 0) + 1
                total += 1
                if name != f"x{scale}":
                    models = {m: auto.model(m) for m in (f"x{scale}", name)}
                    _, metrics = compare(hr, lr, models, scale, steps, name=f"{set_name} {i}")
                    deltas.append({"image": i, "sigma": round(float(sigma), 4), "pick": name, "why": why,
                                   "delta_psnr": round(metrics[name]["psnr"] - metrics[f"x{scale}"]["psnr"], 4)})
        out[set_name] = {"picks": picks, "pairs": total, "others": deltas,
                         "auto_minus_x": round(sum(d["delta_psnr"] for d in deltas) / max(total, 1), 4)}
        print(f"x{scale} {set_name}: picks {picks}, auto − x{scale} = {out[set_name]['auto_minus_x']:+.3f} dB",
              file=sys.stderr, flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="data root holding T91/ and BSD200/ ($SRKIT_DATA)")
    p.add_argument("--scales", type=int, nargs="+", default=[2, 4])
    p.add_argument("--crop", type=int, default=192)
    p.add_argument("--steps", type=int, default=7)
    p.add_argument("--split", default="val", choices=["val", "test"])
    p.add_argument("--clean-cost", action="store_true",
                   help="instead: what auto costs on clean Gaussian8 Set5, Set14 and B100 (report only)")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    from srkit.data.sources import write_json
    if args.clean_cost:
        out = {"date": time.strftime("%Y-%m-%d"), "command": "python bench/auto_weights.py "
               + " ".join(argv if argv is not None else sys.argv[1:])}
        out.update({f"x{s}": clean_cost(args.data, s, steps=args.steps) for s in args.scales})
        if args.json:
            write_json(args.json, out)
        return 0
    t0 = time.perf_counter()
    out = {"date": time.strftime("%Y-%m-%d"), "split": args.split, "crop": args.crop,
           "command": "python bench/auto_weights.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    for scale in args.scales:
        records = measure(args.data, scale, args.crop, args.steps, args.split)
        if args.json:  # the measured records first: choosing is cheap to redo, measuring is not
            write_json(args.json.with_suffix(f".x{scale}.records.json"), records)
        result = choose(records, scale)
        out[f"x{scale}"] = dict(result, records=records)
        print(f"x{scale}: thresholds {result['thresholds']}, grid mean {result['grid_mean']}")
        for cell, picks in result["picks"].items():
            print(f"  {cell:12s} auto {result['per_cell']['auto'][cell]:.2f}  picks {picks}")
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        write_json(args.json, out)  # atomic
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
