"""fp32 against bf16, with and without channels-last, side by side in one process: one training step
and one inference pass of the generator, per preset size.

    python bench/precision_speed.py                 # small and default, ×2 (minutes where bf16 is native)
    python bench/precision_speed.py --presets tiny,small --repeats 2 --infer-size 128   # where it is emulated

A training step is what ``srkit.train`` runs (``srkit.precision``: autocast for the forward pass and
the loss, backward outside it, fp32 master weights, Adam): batch 8 of 48×48 LR patches, ×2, kernel
code and segmentation given (SFTconcat). Inference is one 256×256 LR image (``--infer-size``) through the generator
under ``torch.no_grad()``. Each configuration is timed as the median of ``--repeats`` runs after
one warm-up, the four configurations interleaved so that a change in machine load hits each alike.
Results: ``bench/results/precision_speed.json``.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from datetime import date
from pathlib import Path

import torch
import torch.nn.functional as F

from srkit import precision
from srkit.models.sft import GeneratorConfig, SFTGenerator

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "precision_speed.json"
CONFIGS = (("fp32", False), ("fp32", True), ("bf16", False), ("bf16", True))  # (precision, channels_last)


def _inputs(cfg: GeneratorConfig, n: int, size: int, layout: bool):
    g = torch.Generator().manual_seed(0)
    lr = torch.rand(n, 3, size, size, generator=g)
    code = torch.randn(n, cfg.code_len, generator=g)
    seg = torch.softmax(torch.randn(n, cfg.num_classes, size, size, generator=g), 1)
    hr = torch.rand(n, 3, size * cfg.scale, size * cfg.scale, generator=g)
    if layout:
        lr, seg, hr = (precision.channels_last(t) for t in (lr, seg, hr))
    return lr, code, seg, hr


def train_step_fn(preset: str, prec: str, layout: bool):
    """A closure running one optimizer step of a fresh generator in this configuration."""
    torch.manual_seed(0)
    cfg = GeneratorConfig.preset(preset, scale=2)
    net = SFTGenerator(cfg)
    if layout:
        precision.channels_last(net)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    lr, code, seg, hr = _inputs(cfg, 8, 48, layout)

    def step():
        with precision.autocast("cpu", prec):
            loss = F.l1_loss(net(lr, code, seg), hr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def infer_fn(preset: str, prec: str, layout: bool, size: int = 256):
    torch.manual_seed(0)
    cfg = GeneratorConfig.preset(preset, scale=2)
    net = SFTGenerator(cfg).eval()
    if layout:
        precision.channels_last(net)
    lr, code, seg, _ = _inputs(cfg, 1, size, layout)

    def run():
        with torch.no_grad(), precision.autocast("cpu", prec):
            net(lr, code, seg)
    return run


def median_times(fns: dict, repeats: int) -> dict:
    """Median seconds of each closure, interleaved: one warm-up each, then ``repeats`` rounds."""
    for fn in fns.values():
        fn()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="small,default", help="generator sizes (small = the bundled size)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--infer-size", type=int, default=256, help="LR side of the inference image")
    ap.add_argument("--json", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    rows = []
    for preset in args.presets.split(","):
        infer = lambda p, prec, layout: infer_fn(p, prec, layout, args.infer_size)  # noqa: E731
        for what, make in (("train step", train_step_fn), (f"inference {args.infer_size}²", infer)):
            fns = {c: make(preset, *c) for c in CONFIGS}
            med = median_times(fns, args.repeats)
            base = med[("fp32", False)]
            for (prec, layout), seconds in med.items():
                rows.append({"preset": preset, "what": what, "precision": prec, "channels_last": layout,
                             "ms": round(seconds * 1e3, 1), "speedup_vs_fp32": round(base / seconds, 2)})
                print(f"{preset:8s} {what:10s} {prec} {'channels_last' if layout else 'default layout':14s} "
                      f"{seconds * 1e3:8.1f} ms  ×{base / seconds:.2f}")
    result = {"date": date.today().isoformat(), "torch": torch.__version__, "threads": torch.get_num_threads(),
              "machine": platform.machine(), "cpu_has_bf16": precision.cpu_has_bf16(),
              "auto_picks": precision.resolve("auto", "cpu"), "repeats": args.repeats,
              "infer_size": args.infer_size, "rows": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print("results:", args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
