"""Speed of srkit's torch MATLAB-bicubic resize against the straightforward numpy reference.

Usage: python bench/resize_speed.py [--repeat 3] [--threads 1,0] [--results bench/RESULTS.md]
Times a ×4 downscale of a 16×3×256×256 batch and of one 2040×1356 image (DIV2K size), checks that
both implementations agree to 1e-5, and appends a section to the results file.

Each row names the torch thread count. The numpy reference runs on one core, so the 1-thread row
compares the two algorithms on equal hardware; the row with torch's default thread count shows what
a user gets, and on a machine whose cores are busy with other jobs it mostly measures
oversubscription (threads waiting for a core), not the resize.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import time

import numpy as np
import torch

from srkit.resize import imresize, imresize_reference


def best_time(fn, repeat: int) -> float:
    fn()  # warm-up (weight matrices are cached after the first call, as in real use)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", default="1,0",
                    help="comma-separated torch thread counts to time (0 = torch's default, here %d)"
                    % torch.get_num_threads())
    ap.add_argument("--results", default=None, help="append a markdown section to this file")
    args = ap.parse_args()
    default_threads = torch.get_num_threads()
    counts = [int(t) or default_threads for t in args.threads.split(",")]
    rng = np.random.default_rng(0)
    rows = []
    for label, shape in (("batch 16×3×256×256", (16, 3, 256, 256)), ("one 2040×1356 image", (1, 3, 1356, 2040))):
        x = rng.random(shape)
        xt = torch.from_numpy(x).float()
        t_np = best_time(lambda: [imresize_reference(im.transpose(1, 2, 0), 0.25) for im in x], args.repeat)
        ref = np.stack([imresize_reference(im.transpose(1, 2, 0), 0.25).transpose(2, 0, 1) for im in x])
        err = float(np.abs(imresize(xt, scale=0.25).numpy() - ref).max())
        for n in counts:
            torch.set_num_threads(n)
            t_torch = best_time(lambda: imresize(xt, scale=0.25), args.repeat)
            rows.append((label, n, t_torch, t_np, t_np / t_torch, err))
        torch.set_num_threads(default_threads)
    lines = [f"## MATLAB bicubic ×1/4 resize, torch vs numpy reference ({datetime.date.today()})", "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average "
             f"{os.getloadavg()[0]:.2f} at the start, torch {torch.__version__}. "
             f"Command: `python bench/resize_speed.py --threads {args.threads}`", "",
             "| input | torch threads | torch (s) | numpy reference, 1 core (s) | speed-up | max abs diff |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r[0]} | {r[1]} | {r[2]:.4f} | {r[3]:.4f} | {r[4]:.1f}× | {r[5]:.1e} |" for r in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.results:
        with open(args.results, "a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
