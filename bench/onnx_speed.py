"""Speed of the exported x2 generator in ONNX Runtime (CPU) against PyTorch fp32, in one process.

Usage: python bench/onnx_speed.py [--weights x2] [--size 256] [--repeat 5] [--threads 1]
                                  [--date YYYY-MM-DD] [--note TEXT] [--json bench/results/onnx_speed.json]

The generator alone (inputs lr, code, seg as exported by ``srkit export onnx``; code and seg are
computed once beforehand and not timed) on one size×size LR image. The two runtimes alternate, run
after run, so a change in the machine's load affects both alike; each gets one warm-up run, then the
median of ``--repeat`` runs is reported. Both use ``--threads`` intra-op threads. The outputs are
compared too (max abs difference).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import srkit
from srkit.export.onnx import export_generator, onnxruntime_session
from srkit.imageio import atomic_path


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default="x2")
    ap.add_argument("--size", type=int, default=256, help="LR height = width in pixels (default 256)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per runtime (default 5)")
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads for both runtimes (default 1)")
    ap.add_argument("--date", default=str(datetime.date.today()), help="date to record (default today)")
    ap.add_argument("--note", default=None, help="free text to record, e.g. 'measured beside another job'")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    args = ap.parse_args()
    if args.size < 1 or args.repeat < 1 or args.threads < 1:
        ap.error("--size, --repeat and --threads must be >= 1")

    torch.set_num_threads(args.threads)
    load_at_start = os.getloadavg()[0]
    pipeline = srkit.load(args.weights)
    lr = torch.rand(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        code = pipeline.predictor(lr)
        seg = pipeline.segnet(lr)
    with tempfile.TemporaryDirectory() as tmp:
        exported = export_generator(pipeline, Path(tmp) / "generator.onnx")
        session = onnxruntime_session(exported.path, threads=args.threads)
        feed = {"lr": lr.numpy(), "code": code.numpy(), "seg": seg.numpy()}

        def run_torch():
            with torch.no_grad():
                return pipeline.generator(lr, code, seg).clamp(0, 1).numpy()

        def run_onnx():
            return session.run(["sr"], feed)[0]

        diff = float(np.abs(run_torch() - run_onnx()).max())  # also the warm-up of each
        times = {"pytorch": [], "onnxruntime": []}
        for _ in range(args.repeat):
            for name, fn in (("pytorch", run_torch), ("onnxruntime", run_onnx)):
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
    median = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "what": f"{args.weights} generator, one {args.size}x{args.size} LR image (inputs lr, code, seg), fp32, CPU",
        "command": "python bench/onnx_speed.py " + " ".join(
            f"--{k} {v}" for k, v in (("weights", args.weights), ("size", args.size), ("repeat", args.repeat),
                                      ("threads", args.threads))),
        "seconds_median": {k: round(v, 4) for k, v in median.items()},
        "seconds_all": {k: [round(t, 4) for t in v] for k, v in times.items()},
        "onnxruntime_speedup": round(median["pytorch"] / median["onnxruntime"], 2),
        "max_abs_diff": diff,
        "threads": args.threads,
        "date": args.date,
        "machine": {"cpu": cpu_name(), "cpus": os.cpu_count(), "arch": platform.machine(),
                    "load_average_at_start": round(load_at_start, 2)},
        "versions": {"torch": torch.__version__, "onnxruntime": __import__("onnxruntime").__version__},
    }
    if args.note:
        result["note"] = args.note
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(text + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
