"""``srkit bench bicubic | gaussian8 | table1 | degraded | video | segmentation | ablation | categories``."""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from srkit.imageio import atomic_path


def _csv(kind):
    return lambda s: [kind(v) for v in s.split(",") if v]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="bench", metavar="BENCH", required=True)
    for name, help_text in (("bicubic", "the no-blur bicubic table (docs/DESIGN.md §3)"),
                            ("gaussian8", "the Gaussian8 blind-SR benchmark")):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--data", required=True, help="data folder (Set5/HR, Set14/HR, B100/HR, ...; docs/DESIGN.md §4)")
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
            p.add_argument("--workers", type=int, default=1,
                           help="processes sharing the images, one thread each (default 1; on an N-core "
                                "CPU, --workers N is fastest); the figures move by float rounding only (~1e-5 dB)")
            p.add_argument("--fast", action="store_true",
                           help="bf16 autocast where the hardware computes bf16 natively (srkit.precision "
                                "'auto'; fp32 elsewhere): not the published-protocol figures; the JSON "
                                "records the precision that ran")
    p = sub.add_parser("table1", help="the paper's Table 1 shape: LR (bicubic) vs SR at x2, noise 15",
                       description="Isotropic Gaussian of a seeded random width in the scale's training range, "
                                   "bicubic down, Gaussian noise sigma_n (paper: 15), uint8 LR; LR (bicubic "
                                   "upsampled) vs each model.")
    p.add_argument("--data", required=True, help="data folder (Set5/HR, Set14/HR, B100/HR, ...; docs/DESIGN.md §4)")
    p.add_argument("--sets", type=_csv(str), default=["Set14", "B100"])
    p.add_argument("--weights", nargs="*", default=[], help="bundled names or checkpoint paths, or 'auto'")
    p.add_argument("--scale", type=int, default=2, choices=(2, 3, 4))
    p.add_argument("--noise", type=float, default=15.0, help="noise level on the 0-255 scale (paper: 15)")
    p.add_argument("--steps", type=int, default=7)
    p.add_argument("--limit", type=int, default=None, help="first N images per set")
    p.add_argument("--json", type=Path)
    p = sub.add_parser("degraded", help="Set14/B100 under noise, JPEG and MPEG-2 (archive damage), per cell",
                       description="Image i blurred by Gaussian8 width i mod 8, bicubic down, then each cell's "
                                   "noise / JPEG / MPEG-2 intra coding, uint8 LR; bicubic vs each model, per "
                                   "cell and averaged over the grid (srkit.evaluation.degraded).")
    p.add_argument("--data", help="data folder (Set5/HR, Set14/HR, B100/HR, ...; docs/DESIGN.md §4); not needed with --merge")
    p.add_argument("--sets", type=_csv(str), default=["Set14", "B100"])
    p.add_argument("--weights", nargs="*", default=[], help="bundled names or checkpoint paths, all of --scale; 'auto': per image, the "
                   "bundle its measured noise and blocking call for (srkit.inference.damage)")
    p.add_argument("--scale", type=int, default=2, choices=(2, 3, 4))
    p.add_argument("--cells", type=_csv(str), default=None,
                   help="comma-separated cell names (default: the whole grid)")
    p.add_argument("--steps", type=int, default=7)
    p.add_argument("--limit", type=int, default=None, help="first N images per set")
    p.add_argument("--protocol", choices=("srkit", "bi", "bd"), default="srkit",
                   help="LR before the cell's damage: srkit (Gaussian8 width i mod 8, bicubic down; default), bi "
                        "(MATLAB bicubic down, no blur) or bd (DUF downsampler; corner phase)")
    p.add_argument("--phase", choices=("centre", "corner"), default=None,
                   help="align every output for LR of this phase (default: the protocol's, corner for bd)")
    p.add_argument("--merge", nargs="*", type=Path, default=None,
                   help="join the JSON files of earlier runs (other cells or models) instead of running")
    p.add_argument("--json", type=Path)
    p.add_argument("--no-progress", action="store_true")
    p = sub.add_parser("video", help="clips from Set14/B100 stills and real sequences: PSNR/SSIM per frame and "
                       "warping error, under the srkit, BI or BD protocol",
                       description="Camera motion (pan, zoom, rotation, scrolling captions, rolling credits) over "
                                   "held-out stills and any folder of real HR sequences, degraded per clip under "
                                   "--protocol; bicubic vs each bundle frame by frame (one kernel estimate per "
                                   "clip), aligned for the LR's sampling phase; per-frame PSNR/SSIM (Y, shave) and "
                                   "the warping error's excess over the ground truth's (srkit.evaluation.video_bench).")
    importlib.import_module("srkit.commands.bench_video").add_arguments(p)
    p = sub.add_parser("segmentation", help="a segmenter's per-category IoU on held-out sets, on LR input",
                       description="Stanford Background val, SIFT Flow test and held-out face/text composites, "
                                   "degraded as the pipeline sees them (middle Gaussian8 blur, bicubic down); "
                                   "per-category IoU, mIoU and pixel accuracy (srkit.evaluation.segmentation).")
    p.add_argument("--data", required=True, help="data folder (Set5/HR, Set14/HR, B100/HR, ...; docs/DESIGN.md §4)")
    p.add_argument("--weights", nargs="+", default=["x2"], help="bundles or checkpoints holding a segnet")
    p.add_argument("--scale", type=int, default=None, choices=(2, 3, 4),
                   help="the LR factor (default: each checkpoint's own scale, else 2)")
    p.add_argument("--noise", type=float, default=0.0)
    p.add_argument("--limit", type=int, default=None, help="first N images per set")
    p.add_argument("--priors", action="store_true",
                   help="also score each segmenter fused with the face (MTCNN) and text (PP-OCR) priors "
                        "that are installed (srkit.models.priors)")
    p.add_argument("--json", type=Path)
    p = sub.add_parser("ablation", help="the four generator variants per category on held-out scenes",
                       description="SRResNet, SFTMD, SFT-GAN and SFTconcat on Stanford val, SIFT Flow test and "
                                   "held-out composites (Gaussian8 widths, bicubic down): pooled per-category "
                                   "PSNR, SSIM and texture ratio, the seg variants with predicted, true and "
                                   "uniform maps (srkit.evaluation.ablation).")
    p.add_argument("--data", required=True, help="data folder (Set5/HR, Set14/HR, B100/HR, ...; docs/DESIGN.md §4)")
    p.add_argument("--weights-dir", default=None,
                   help="folder of <variant>.safetensors bundles (default: the bundled assets/weights/ablation)")
    p.add_argument("--variants", type=_csv(str), default=None, help="comma-separated (default: the four pixel-loss variants; "
                   "sftmd_gan and sftconcat_gan: their GAN stage)")
    p.add_argument("--kernel", choices=("true", "ikc"), default="true",
                   help="what the kernel variants get: the true kernel's code (default) or IKC's estimate")
    p.add_argument("--limit", type=int, default=None, help="first N images per set")
    p.add_argument("--json", type=Path)
    p.add_argument("--no-progress", action="store_true")
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
    from srkit.evaluation.bench import format_table, run_bicubic_bench, run_gaussian8_bench
    if args.bench == "categories":
        if getattr(args, "_import_error", None):
            raise ValueError(f"bench categories is unavailable: {args._import_error}")
        return importlib.import_module("srkit.commands.categories").run(args)
    if args.bench == "table1":
        return _run_table1(args)
    if args.bench == "degraded":
        return _run_degraded(args)
    if args.bench == "video":
        return importlib.import_module("srkit.commands.bench_video").run(args)
    if args.bench == "segmentation":
        return _run_segmentation(args)
    if args.bench == "ablation":
        return _run_ablation(args)
    if args.bench == "bicubic":
        out = run_bicubic_bench(args.data, args.sets, args.scales, progress=not args.no_progress)
    else:
        from srkit.evaluation.gaussian8 import methods_from_weights
        methods = methods_from_weights(args.weights, args.scales, steps=args.steps, device=args.device,
                                       precision="auto" if args.fast else "fp32")
        out = run_gaussian8_bench(args.data, args.sets, args.scales, methods=methods,
                                  progress=not args.no_progress, limit=args.limit,
                                  workers=getattr(args, "workers", 1))
    print(format_table(out["results"]))
    for key, value in out.get("extra", {}).items():
        print(f"{key}: {json.dumps(value)}")
    _print_protocol(out["protocol"])
    _write_json(args.json, out)
    return 0


def _models_and_images(args) -> tuple[dict, dict]:
    """``--weights`` loaded (each must be of ``--scale``) and the HR images of ``--sets`` (``--limit``)."""
    import srkit
    from srkit.data.benchmarks import load_benchmark
    models = {}
    for w in args.weights:
        if w == "auto":  # the bundle srkit.inference.damage picks for each LR image
            from srkit.inference.damage import AutoWeights
            auto = AutoWeights(args.scale)
            models[w] = lambda lr, auto=auto: srkit.upscale(lr, auto.model(auto.choose(lr)[0]),
                                                            steps=args.steps, tile=0)
            continue
        m = srkit.load(w)
        if getattr(m, "scale", args.scale) != args.scale:
            raise ValueError(f"{w} is a x{m.scale} model, --scale is {args.scale}")
        models[w] = m
    images = {s: [b.hr for b in load_benchmark(args.data, s, args.scale)][:args.limit] for s in args.sets}
    return models, images


def _run_table1(args) -> int:
    from srkit.metrics import PROTOCOL
    from srkit.evaluation.table1 import table1
    models, images = _models_and_images(args)
    from srkit.inference.guard import counting_warnings
    with counting_warnings() as counts:
        res = table1(models, images, scale=args.scale, noise=args.noise, steps=args.steps)
    names = list(next(iter(res.values())))
    print("| method | " + " | ".join(f"{s} PSNR/SSIM" for s in res) + " |")
    print("|---|" + "---|" * len(res))
    for name in names:
        print(f"| {name} | " + " | ".join(f"{res[s][name]['psnr']:.2f} / {res[s][name]['ssim']:.4f}" for s in res) + " |")
    protocol = dict(PROTOCOL, degradation=f"x{args.scale}: isotropic Gaussian, width uniform in the training range "
                    f"(seed 0), bicubic down, Gaussian noise sigma_n={args.noise:g}, uint8 LR; IKC t={args.steps}")
    _print_protocol(protocol)
    print(f"guard warnings: {counts['guard_warnings']}")
    _write_json(args.json, {"results": res, "protocol": protocol,
                            "guard_warnings": counts["guard_warnings"]})
    return 0


def _run_degraded(args) -> int:
    from srkit.evaluation.degraded import cells_named, format_degraded, merge, run_degraded
    from srkit.inference.guard import counting_warnings
    from srkit.metrics import PROTOCOL
    if args.merge is not None:
        parts = [json.loads(p.read_text()) for p in args.merge]
        out = merge(parts)
        out["protocol"] = parts[0]["protocol"]
        out["guard_warnings"] = sum(p.get("guard_warnings", 0) for p in parts)
    else:
        if not args.data:
            raise ValueError("bench degraded needs --data (or --merge)")
        cells = cells_named(args.cells)
        models, images = _models_and_images(args)
        with counting_warnings() as counts:
            phase = args.phase or ("corner" if args.protocol == "bd" else "centre")
            out = run_degraded(models, images, args.scale, cells, steps=args.steps, progress=not args.no_progress,
                               protocol=args.protocol, phase=phase)
        made = {"srkit": "image i blurred by Gaussian8 width i mod 8 (isotropic 21x21), MATLAB bicubic down",
                "bi": "MATLAB bicubic down, no blur (BI)",
                "bd": f"DUF downsampler, 13x13 Gaussian sigma={0.4 * args.scale:.1f}, every {args.scale}th pixel (BD; "
                      "corner phase)"}[args.protocol]
        out["protocol"] = dict(PROTOCOL, degradation=(
            f"x{args.scale}: {made}, "
            "then the cell's Gaussian noise (seed i), JPEG (Pillow, 4:2:0) or MPEG-2 intra (FFmpeg mpeg2video, "
            f"fixed quantiser), uint8 LR; IKC t={args.steps}"),
            phase=phase + (" (outputs moved by -(s-1)/2 HR pixels, cubic B-spline)" if phase == "corner" else ""))
        out["guard_warnings"] = counts["guard_warnings"]
        if "auto" in models:
            from srkit.evaluation.degraded import auto_picks
            out["auto_picks"] = auto_picks(images, args.scale, cells, protocol=args.protocol)
    print(format_degraded(out))
    _print_protocol(out["protocol"])
    print(f"guard warnings: {out['guard_warnings']}")
    _write_json(args.json, out)
    return 0


def _run_ablation(args) -> int:
    from srkit.evaluation.ablation import VARIANTS, format_ablation, format_differences, load_variants, run_ablation
    from srkit.evaluation.segmentation import heldout_sets
    sets = heldout_sets(args.data, limit=args.limit)
    if not sets:
        raise FileNotFoundError(f"no held-out segmentation sets under {args.data}/segmentation")
    pipes = load_variants(args.weights_dir, args.variants or VARIANTS)
    scales = {p.scale for p in pipes.values()}
    if len(scales) != 1:
        raise ValueError(f"the ablation bundles mix scales {sorted(scales)}")
    bar = None
    if not args.no_progress:
        from tqdm import tqdm
        bar = tqdm(total=sum(map(len, sets.values())), desc="ablation", unit="img", file=sys.stderr)
    results = run_ablation(pipes, sets, scales.pop(), kernel=args.kernel,
                           progress=(lambda *_: bar.update()) if bar else None)
    if bar:
        bar.close()
    for metric in ("psnr", "ssim", "texture"):
        print(format_ablation(results, metric), end="\n\n")
    print(format_differences(results), end="\n\n")
    protocol = {"input": "HR modcropped; image i: Gaussian8 width i mod 8, MATLAB bicubic down, uint8 LR",
                "kernel": f"kernel variants get {'the true kernel code' if args.kernel == 'true' else 'the IKC estimate'}",
                "maps": "seg variants: predicted (own segmenter), /true (one-hot LR labels), /uniform (1/K)",
                "text": "each caption's box (composites on SIFT Flow test scenes)",  # the composites' text category
                "metrics": "pooled over each set's pixels of a category (HR label), Y, shave = scale; "
                           "texture = SR/HR energy of Y minus its sigma=1 Gaussian blur"}
    _print_protocol(protocol)
    _write_json(args.json, {"results": results, "protocol": protocol,
                            "variants": {v: str(getattr(p, "meta", {}).get("name", v)) for v, p in pipes.items()}})
    return 0


def _run_segmentation(args) -> int:
    import srkit.checkpoint as checkpoint
    from srkit.evaluation.segmentation import ALL_SETS, evaluate_segmenter, format_segmentation, heldout_sets
    sets = heldout_sets(args.data, ALL_SETS, limit=args.limit)
    if not sets:
        raise FileNotFoundError(f"no held-out segmentation sets under {args.data}/segmentation")
    priors = None
    if args.priors:
        from srkit.models.priors import SegPriors
        priors = SegPriors(cache=2048)  # detections depend on the image only: once per image
        for kind, why in priors.missing.items():
            print(f"srkit bench segmentation: no {kind} prior: {why}", file=sys.stderr)
        if not priors.used:
            raise RuntimeError("--priors: neither the face nor the text prior is installed")
    results = {}
    for w in args.weights:
        ckpt = checkpoint.load_checkpoint(checkpoint.resolve(w))
        if "segnet" not in ckpt.modules:
            raise ValueError(f"{w} holds no segmenter (networks: {sorted(ckpt.modules)})")
        scale = args.scale or ckpt.trained_scale or 2
        results[f"{w} (x{scale} LR)"] = evaluate_segmenter(ckpt.modules["segnet"], sets, scale, noise=args.noise)
        if priors is not None:
            results[f"{w} (x{scale} LR) + {' + '.join(priors.used)}"] = evaluate_segmenter(
                ckpt.modules["segnet"], sets, scale, noise=args.noise, priors=priors)
    print(format_segmentation(results))
    protocol = {"input": "LR at each segmenter's scale: middle Gaussian8 blur, MATLAB bicubic down"
                         + (f", Gaussian noise sigma_n={args.noise:g}" if args.noise else "")
                         + ", uint8; label of an LR pixel = HR label at the centre of its block",
                "text": "composites: each caption's box; composites (glyphs): the glyph pixels only",
                "miou": "mean IoU over the categories present in the set's truth",
                "false face/text": "share of labelled pixels called face or text whose truth is neither"}
    if priors is not None:
        protocol["priors"] = (f"rows '+ {' + '.join(priors.used)}': psi_k = max(psi_k, detection score) inside "
                              "confident detections the segmenter agrees with (mean psi_k >= 0.15), other "
                              "categories rescaled (srkit.models.priors.fuse_priors)")
    _print_protocol(protocol)
    _write_json(args.json, {"results": results, "protocol": protocol})
    return 0
