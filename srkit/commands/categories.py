"""``srkit bench categories``: OCR accuracy per script and size, masked PSNR/SSIM per category.

Without ``--weights`` only bicubic is evaluated (plus Tesseract on the ground truth).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``srkit bench categories``."""
    parser.add_argument("--data",
                        help="data folder (docs/DESIGN.md §4; uses faces/ and segmentation/; "
                             "not needed with --merge)")
    parser.add_argument("--weights", nargs="*", default=[],
                        help="bundled names (x2, x4) or checkpoint paths to evaluate beside bicubic")
    parser.add_argument("--scale", type=int, default=2, choices=(2, 3, 4), help="SR factor (default 2)")
    parser.add_argument("--sigma", type=float, default=None,
                        help="Gaussian blur width of the degradation (default: middle of the Gaussian8 "
                             "range: x2 1.2, x3 1.875, x4 2.5; 0 = bicubic down only)")
    parser.add_argument("--noise", type=float, default=0.0,
                        help="Gaussian noise sigma_n (0-255) added to the LR before rounding (default 0; "
                             "the paper's Table 1 uses 15)")
    parser.add_argument("--jpeg", type=int, default=0, help="JPEG quality 1-100 applied last (default 0: none)")
    parser.add_argument("--mpeg2", type=int, default=0,
                        help="MPEG-2 intra quantiser 1-31 applied last (default 0: none; 8 and 16 are the "
                             "degraded bench's two rates)")
    parser.add_argument("--per-size", type=int, default=4, help="text cards per script and size (default 4)")
    parser.add_argument("--faces", type=int, default=None, help="use the first N faces (default all)")
    parser.add_argument("--camvid", type=int, default=None, help="use the first N CamVid frames (default all)")
    parser.add_argument("--no-ocr", action="store_true", help="skip Tesseract (masked metrics only)")
    parser.add_argument("--steps", type=int, default=7, help="IKC steps for pipeline checkpoints (default 7)")
    parser.add_argument("--device", default="cpu", help="device for --weights models (default cpu)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the text cards and face composites")
    parser.add_argument("--json", type=Path, help="write the tables and protocol here")
    parser.add_argument("--markdown", type=Path, help="write the markdown tables and protocol here")
    parser.add_argument("--merge", nargs="+", type=Path, default=None,
                        help="join the --json files of earlier runs (same protocol, other models; a later "
                             "file's model wins) instead of running")
    parser.add_argument("--no-progress", action="store_true")


def _method_name(weights: str) -> str:
    path = Path(weights)
    return path.stem if path.suffix else weights


def protocol_markdown(protocol: dict) -> str:
    """The protocol as a markdown bullet list."""
    return "\n".join(f"- **{k}**: {v}" for k, v in protocol.items())


def run(args) -> int:
    """Build the test set and run every method (or join earlier runs' JSON), print both tables; 0 on success."""
    from srkit.evaluation.categories import (bicubic_upscaler, evaluate_categories, format_tables,
                                             merge_categories, model_upscaler)
    from srkit.imageio import atomic_path

    if args.merge is not None:
        result = merge_categories([json.loads(p.read_text(encoding="utf-8")) for p in args.merge])
    else:
        if args.data is None:
            raise ValueError("bench categories needs --data (or --merge)")
        data = Path(args.data)
        if not data.is_dir():
            raise FileNotFoundError(f"--data folder not found: {data}")
        methods = {"bicubic": bicubic_upscaler(args.scale)}
        for w in args.weights:
            methods[_method_name(w)] = model_upscaler(w, args.scale, device=args.device, steps=args.steps)
        from srkit.inference.guard import counting_warnings
        with counting_warnings() as counts:
            result = evaluate_categories(methods, data, args.scale, args.sigma, noise=args.noise,
                                         jpeg=args.jpeg, mpeg2=args.mpeg2, per_size=args.per_size,
                                         face_limit=args.faces, camvid_limit=args.camvid, ocr=not args.no_ocr,
                                         seed=args.seed, progress=not args.no_progress)
        result["guard_warnings"] = counts["guard_warnings"]  # images a guard acted on (srkit.inference.guard)
    tables = format_tables(result)
    print(tables)
    print("\nprotocol:\n" + protocol_markdown(result["protocol"]))
    if args.json is not None:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(result, indent=2, ensure_ascii=False))
        print(f"wrote {args.json}")
    if args.markdown is not None:
        with atomic_path(args.markdown) as tmp:
            tmp.write_text(tables + "\n\nProtocol:\n\n" + protocol_markdown(result["protocol"]) + "\n")
        print(f"wrote {args.markdown}")
    return 0
