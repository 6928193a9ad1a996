"""``srkit bench video``: clips from held-out stills and folders of real sequences, per-frame PSNR/SSIM
and warping error, under the srkit, BI or BD protocol (srkit.evaluation.video_bench)."""
from __future__ import annotations

import json
from pathlib import Path

from srkit.degrade import PROTOCOLS


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size {text!r}: expected HEIGHTxWIDTH, e.g. 144x192") from None
    if h % 12 or w % 12 or h < 48 or w < 48:
        raise ValueError(f"--size {text}: height and width must be multiples of 12 and at least 48")
    return h, w


def add_arguments(p) -> None:
    """The options of ``srkit bench video``."""
    p.add_argument("--data", help="data folder (Set14/HR, B100/HR, ...; docs/DESIGN.md §4): clips are made from "
                                   "--sets' stills")
    p.add_argument("--sets", type=lambda s: [v for v in s.split(",") if v], default=["Set14", "B100"],
                   help="still sets to make clips from (default Set14,B100; '' for none)")
    p.add_argument("--folders", nargs="*", type=Path, default=[],
                   help="folders of real HR sequences, one sub-folder of frames per sequence (Vid4, REDS layout)")
    p.add_argument("--weights", nargs="*", default=[], help="bundled names or checkpoint paths, all of --scale")
    p.add_argument("--scale", type=int, default=4, choices=(2, 3, 4))
    p.add_argument("--protocol", choices=PROTOCOLS, default="srkit",
                   help="how LR is made: srkit (Gaussian8 width i mod 8 per clip, bicubic down), bi (MATLAB "
                        "bicubic down, no blur), bd (DUF: 13x13 Gaussian sigma 0.4s, every s-th pixel; corner "
                        "phase) (default srkit)")
    p.add_argument("--phase", choices=("centre", "corner", "both"), default=None,
                   help="sampling phase to align every output for (default: the protocol's, corner for bd); "
                        "both: each method twice, 'name [centre]' and 'name [corner]'")
    p.add_argument("--align", choices=("output", "lr"), default="output",
                   help="corner phase: move the SR after the network (default, loses less) or the LR before")
    p.add_argument("--cells", type=lambda s: [v for v in s.split(",") if v], default=["clean"],
                   help="damage cells of bench degraded, comma-separated (default clean)")
    p.add_argument("--frames", type=int, default=None,
                   help="frames per clip: clips from stills are made this long (default 8), folders give their "
                        "first N (default all)")
    p.add_argument("--size", type=_size, default="144x192", help="HR size of clips from stills, HxW (default 144x192)")
    p.add_argument("--limit", type=int, default=None, help="first N clips per set or folder (quick runs)")
    p.add_argument("--workers", type=int, default=1, help="processes sharing the clips, one thread each (default 1)")
    p.add_argument("--steps", type=int, default=7, help="IKC steps of the per-clip kernel estimate (default 7)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0, help="seeds the clips' motion and text and the noise (default 0)")
    p.add_argument("--slices", type=Path, default=None, help="write x-t slice panels (PNG) of every clip here")
    p.add_argument("--json", type=Path)
    p.add_argument("--no-progress", action="store_true")


def run(args) -> int:
    from srkit.data.benchmarks import load_benchmark
    from srkit.data.sequences import CLIP_FRAMES, clips_from_stills, load_sequence_folders
    from srkit.evaluation.degraded import cells_named
    from srkit.evaluation.video_bench import bundle_methods, describe_protocol, format_video, run_video_bench
    from srkit.inference.guard import counting_warnings
    if args.frames is not None and args.frames < 2:
        raise ValueError(f"--frames {args.frames}: a clip needs at least 2 frames")
    size = _size(args.size) if isinstance(args.size, str) else args.size
    sets = args.sets if args.data else []
    if not sets and not args.folders:
        raise ValueError("bench video needs --data (clips from --sets' stills) or --folders (real sequences)")
    clip_sets = {}
    for name in sets:
        stills = load_benchmark(args.data, name, args.scale)
        clip_sets[f"{name} clips"] = clips_from_stills(stills[:args.limit], args.frames or CLIP_FRAMES, size, args.seed)
    for folder in args.folders:
        clip_sets[folder.name] = load_sequence_folders(folder, args.scale, args.frames)[:args.limit]
    cells = cells_named(args.cells)
    phases = None if args.phase is None else (("centre", "corner") if args.phase == "both" else (args.phase,))
    methods = bundle_methods(args.weights, args.scale, args.steps, args.device)
    with counting_warnings() as counts:
        out = run_video_bench(clip_sets, args.scale, methods, protocol=args.protocol, cells=cells, phases=phases,
                              align=args.align, seed=args.seed, workers=args.workers,
                              progress=not args.no_progress, slices_dir=args.slices)
    out["protocol"] = describe_protocol(args.protocol, args.scale, cells, out["settings"]["phases"], args.align,
                                        args.steps)
    out["guard_warnings"] = counts["guard_warnings"]
    print(format_video(out))
    print("protocol:")
    for key, value in out["protocol"].items():
        print(f"  {key}: {value}")
    print(f"guard warnings: {out['guard_warnings']}")
    if args.slices:
        print(f"x-t slices in {args.slices} (rows: {', '.join(out['settings']['slice_rows'])})")
    if args.json is not None:
        from srkit.imageio import atomic_path
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(out, indent=2))
        print(f"wrote {args.json}")
    return 0
