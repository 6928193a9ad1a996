"""``srkit bench bicubic | gaussian8 | categories``."""
from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

from srkit.imageio import atomic_path


def _csv(kind):
    return lambda s: [kind(v) for v in s.split(",") if v]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="bench", metavar="BENCH", required=True)
    for name, help_text in (("bicubic", "the no-blur bicubic table (DESIGN.md §3)"),
                            ("gaussian8", "the Gaussian8 blind-SR benchmark")):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--data", required=True, help="folder laid out like ../shared/data")
        p.add_argument("--sets", type=_csv(str), default=["Set5", "Set14", "B100"])
        p.add_argument("--scales", type=_csv(int), default=[2, 3, 4])
        p.add_argument("--json", type=Path, help="write the results here")
        p.add_argument("--no-progress", action="store_true")
        if name == "gaussian8":
            p.add_argument("--weights", nargs="*", default=[],
                           help="bundled names (x2, x4) or checkpoint paths; one per scale")
            p.add_argument("--steps", type=int, default=7, help="IKC step reported as 'ikc' (default 7)")
            p.add_argument("--device", default="cpu")
            p.add_argument("--limit", type=int, default=None, help="first N images per set (quick runs)")
    p = sub.add_parser("categories", help="per-category PSNR/SSIM and OCR accuracy (faces, text)")
    try:
        importlib.import_module("srkit.commands.categories").add_arguments(p)
    except ImportError as e:  # the command reports the missing piece when it runs
        p.set_defaults(_import_error=str(e))


def _write_json(path: Path | None, payload: dict) -> None:
    if path is None:
        return
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2))
    print(f"wrote {path}")


def _print_protocol(protocol: dict) -> None:
    print("protocol:")
    for k, v in protocol.items():
        print(f"  {k}: {v}")


def run(args) -> int:
    from srkit.evaluation import format_table, run_bicubic_bench, run_gaussian8_bench
    if args.bench == "categories":
        if getattr(args, "_import_error", None):
            raise ValueError(f"bench categories is unavailable: {args._import_error}")
        return importlib.import_module("srkit.commands.categories").run(args)
    if args.bench == "bicubic":
        out = run_bicubic_bench(args.data, args.sets, args.scales, progress=not args.no_progress)
    else:
        from srkit.gaussian8 import methods_from_weights
        methods = methods_from_weights(args.weights, args.scales, steps=args.steps, device=args.device)
        out = run_gaussian8_bench(args.data, args.sets, args.scales, methods=methods,
                                  progress=not args.no_progress, limit=args.limit)
    print(format_table(out["results"]))
    for key, value in out.get("extra", {}).items():
        print(f"{key}: {json.dumps(value)}")
    _print_protocol(out["protocol"])
    _write_json(args.json, out)
    return 0
