"""`srkit bench gaussian8` of an earlier revision against today's, side by side in one run, on the
same images: wall time and the largest difference in any reported figure.

    python bench/gaussian8_speed.py --data $SRKIT_DATA                       # B100 ×2, 12 images, x2
    python bench/gaussian8_speed.py --data $SRKIT_DATA --limit 100 --baseline 58b1e4a   # all of B100

The baseline runs from a `git worktree` of ``--baseline`` (default: the last revision before the
faster bench) with its own ``srkit``, in a subprocess of the same virtual environment; today's code
runs with ``--workers 1`` and with ``--workers N`` (N = the cores). The runs go one after another,
never at the same time. About 25 minutes with the defaults on 2 cores. Results:
``bench/results/gaussian8_speed.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "gaussian8_speed.json"
BASELINE = "58b1e4a"  # per-LR blur in torch float64, one G pass per IKC step with ψ convs each time, one process


def _bench(srkit_root: Path, out: Path, args, workers: int | None) -> float:
    cmd = [sys.executable, "-c", "import sys; from srkit.cli import main; sys.exit(main(sys.argv[1:]))", "bench", "gaussian8", "--data", str(args.data), "--sets", args.set,
           "--scales", str(args.scale), "--weights", args.weights, "--limit", str(args.limit),
           "--json", str(out), "--no-progress"]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    env = dict(os.environ, PYTHONPATH=str(srkit_root))
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=srkit_root, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _figures(path: Path) -> dict[str, float]:
    res = json.loads(path.read_text())["results"]
    return {f"{m}/{s}/{k}/{q}": v[q] for m, sets in res.items() for s, scales in sets.items()
            for k, v in scales.items() for q in ("psnr", "ssim")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--set", default="B100")
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--weights", default="x2")
    ap.add_argument("--limit", type=int, default=12, help="first N images of the set (default 12)")
    ap.add_argument("--baseline", default=BASELINE, help=f"git revision to compare with (default {BASELINE})")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        worktree = tmp / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), args.baseline],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            plan = [("baseline", worktree, None), ("current, 1 process", ROOT, 1),
                    (f"current, {args.workers} processes", ROOT, args.workers)]
            for name, root, workers in plan:
                out = tmp / f"{len(runs)}.json"
                seconds = _bench(root, out, args, workers)
                runs[name] = {"seconds": round(seconds, 1), "figures": _figures(out)}
                print(f"{name}: {seconds:.1f} s", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=False)
    base = runs["baseline"]
    for name, run in runs.items():
        common = base["figures"].keys() & run["figures"].keys()
        run["speedup"] = round(base["seconds"] / run["seconds"], 2)
        run["max_abs_psnr_difference_db"] = max(abs(base["figures"][k] - run["figures"][k]) for k in common if k.endswith("psnr"))
        run["max_abs_ssim_difference"] = max(abs(base["figures"][k] - run["figures"][k]) for k in common if k.endswith("ssim"))
        print(f"{name}: {run['speedup']}x, largest PSNR difference {run['max_abs_psnr_difference_db']:.2e} dB")
    payload = {"date": date.today().isoformat(), "machine": f"{platform.processor() or platform.machine()}, "
               f"{os.cpu_count()} cores", "baseline": args.baseline, "set": args.set, "scale": args.scale,
               "weights": args.weights, "images": args.limit, "lr_images": args.limit * 8,
               "runs": {k: {kk: vv for kk, vv in v.items() if kk != "figures"} for k, v in runs.items()},
               "ikc": {k: v["figures"].get(f"ikc/{args.set}/{args.scale}/psnr") for k, v in runs.items()}}
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
